import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type OpenApiDocument } from '@dingtalk-gateway/spec';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, type ConfigProblem, loadConfigFile, parseConfig } from './load.js';

let contract: OpenApiDocument;
beforeAll(() => {
  contract = loadGatewayContract();
});

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

/** The smallest valid config: one app, one tenant. Tests append to it or replace in it. */
const VALID = `apps:
  bot:
    type: internal
    appKey: dingkey
    appSecretEnv: BOT_SECRET
tenants:
  team:
    name: Team
    app: bot
    apiKeys:
      - sha256: ${HASH_A}
    scopes: [Wiki.Workspace.Read]
    rateLimit: { rate: 5, burst: 10 }
`;

/** 1-based line and column of the first occurrence of `needle` (after `after`, if given). */
function at(text: string, needle: string, after = ''): { line: number; column: number } {
  const index = text.indexOf(needle, after ? text.indexOf(after) : 0);
  if (index === -1) throw new Error(`test bug: ${JSON.stringify(needle)} is not in the text`);
  const before = text.slice(0, index).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

function problemsOf(text: string, file = 'gateway.yaml'): { error: ConfigError; problems: ConfigProblem[] } {
  try {
    parseConfig(text, file, contract);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return { error: error as ConfigError, problems: (error as ConfigError).problems };
  }
  throw new Error('expected a ConfigError');
}

function replaced(search: string, replacement: string, text = VALID) {
  expect(text).toContain(search);
  return text.replace(search, replacement);
}

describe('parseConfig: a valid config', () => {
  it('applies every default', () => {
    const config = parseConfig(VALID, 'gateway.yaml', contract);
    expect(config).toEqual({
      server: { host: '127.0.0.1', port: 8787, bodyLimitBytes: 1048576, shutdownGraceMs: 10000, headersTimeoutMs: 10000, requestTimeoutMs: 30000, maxHeaderBytes: 16384 },
      upstream: { baseUrl: 'https://api.dingtalk.com', connectTimeoutMs: 3000, responseTimeoutMs: 10000, connections: 128, getRetries: 2, maxResponseBytes: 10485760 },
      dingtalk: { qpsLimit: 20, qpsMaxWaitMs: 1500, qpsMaxQueued: 1000, throttleRetries: 2, ipWindow: { limit: 9900, windowMs: 20000, egress: 'default' }, ipBanMs: 300000 },
      apps: { bot: { type: 'internal', appKey: 'dingkey', appSecretEnv: 'BOT_SECRET' } },
      tenants: { team: { name: 'Team', app: 'bot', apiKeys: [{ sha256: HASH_A }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 5, burst: 10 } } },
      cache: { operations: {}, maxEntries: 10000, maxBytes: 67108864 },
      idempotency: { ttlSeconds: 86400, maxEntries: 100000, maxBytes: 67108864 },
      ledger: { flushEveryMs: 1000 },
      observability: { logLevel: 'info', metrics: { enabled: true, host: '127.0.0.1', port: 9464 } },
    });
  });

  it('keeps what is given and fills in the rest of a partly given section', () => {
    const config = parseConfig(`${VALID}server:\n  port: 0\nobservability:\n  metrics: { enabled: false }\n`, 'gateway.yaml', contract);
    expect(config.server).toEqual({ host: '127.0.0.1', port: 0, bodyLimitBytes: 1048576, shutdownGraceMs: 10000, headersTimeoutMs: 10000, requestTimeoutMs: 30000, maxHeaderBytes: 16384 });
    expect(config.observability.metrics).toEqual({ enabled: false, host: '127.0.0.1', port: 9464 });
  });

  it('accepts an ISV app with its suite ticket from an env var or a file, operation limits and several keys', () => {
    const text = `${VALID}    operationLimits:
      addSpace: { rate: 0.5, burst: 1 }
  other:
    name: Other
    app: suite
    apiKeys: [{ sha256: ${HASH_B}, label: '2026-11' }, { sha256: ${'c'.repeat(64)} }]
    scopes: [Wiki.Workspace.Read, Drive.Space.Write]
    rateLimit: { rate: 1, burst: 1 }
`.replace(
      'tenants:\n',
      `  suite:
    type: isv
    suiteKey: suitekey
    suiteSecretEnv: SUITE_SECRET
    authCorpId: dingcorp
    suiteTicket: { file: /run/ticket }
  suite2:
    type: isv
    suiteKey: suitekey2
    suiteSecretEnv: SUITE_SECRET
    authCorpId: dingcorp
    suiteTicket: { env: SUITE_TICKET }
tenants:\n`,
    );
    const config = parseConfig(text, 'gateway.yaml', contract);
    expect(config.apps.suite).toEqual({ type: 'isv', suiteKey: 'suitekey', suiteSecretEnv: 'SUITE_SECRET', authCorpId: 'dingcorp', suiteTicket: { file: '/run/ticket' } });
    expect(config.apps.suite2).toMatchObject({ suiteTicket: { env: 'SUITE_TICKET' } });
    expect(config.tenants.team!.operationLimits).toEqual({ addSpace: { rate: 0.5, burst: 1 } });
    expect(config.tenants.other!.apiKeys).toEqual([{ sha256: HASH_B, label: '2026-11' }, { sha256: 'c'.repeat(64) }]);
  });

  it.each(readdirSync(fileURLToPath(new URL('../../config/', import.meta.url))).filter((f) => f.endsWith('.example.yaml')))(
    'loads the documented example config/%s',
    (name) => {
      const config = loadConfigFile(fileURLToPath(new URL(`../../config/${name}`, import.meta.url)), contract);
      expect(Object.keys(config.apps).length).toBeGreaterThan(0);
      expect(Object.keys(config.tenants).length).toBeGreaterThan(0);
    },
  );

  it('finds both example configs (so the test above cannot pass on an empty list)', () => {
    expect(readdirSync(fileURLToPath(new URL('../../config/', import.meta.url))).filter((f) => f.endsWith('.example.yaml')).sort()).toEqual([
      'production.example.yaml',
      'sandbox.example.yaml',
    ]);
  });
});

describe('parseConfig: problems, each with where it is', () => {
  it('reports YAML syntax errors as such', () => {
    const { problems } = problemsOf(`${VALID}server:\n  port: [1, 2\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: '', message: expect.stringMatching(/^not valid YAML: /) });
  });

  it('refuses duplicate keys (the second would silently win)', () => {
    const { problems } = problemsOf(replaced('    appKey: dingkey\n', '    appKey: dingkey\n    appKey: other\n'));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/^not valid YAML: .*unique/);
  });

  it('refuses an unknown key (a typo must not silently fall back to a default)', () => {
    const text = `${VALID}server:\n  prot: 9000\n`;
    expect(problemsOf(text).problems).toEqual([{ path: 'server', message: 'unknown key "prot"', ...at(text, 'prot: 9000') }]);
    const nested = replaced('rateLimit: { rate: 5, burst: 10 }', 'rateLimit: { rate: 5, burst: 10, brust: 20 }');
    expect(problemsOf(nested).problems).toEqual([{ path: 'tenants.team.rateLimit', message: 'unknown key "brust"', ...at(nested, '{ rate: 5') }]);
    expect(problemsOf(`${VALID}extra: 1\nmore: 2\n`).problems).toEqual([{ path: '', message: 'unknown keys "extra", "more"', line: 1, column: 1 }]);
  });

  it('refuses a value of the wrong type, pointing at the value', () => {
    const text = `${VALID}server:\n  port: "8080"\n`;
    expect(problemsOf(text).problems).toEqual([{ path: 'server.port', message: 'expected number, received string', ...at(text, '"8080"') }]);
    const inf = replaced('rate: 5', 'rate: .inf');
    expect(problemsOf(inf).problems).toMatchObject([{ path: 'tenants.team.rateLimit.rate', ...at(inf, '.inf') }]);
    const negative = replaced('burst: 10', 'burst: 0');
    expect(problemsOf(negative).problems).toMatchObject([{ path: 'tenants.team.rateLimit.burst', ...at(negative, '0 }') }]);
    const fraction = replaced('burst: 10', 'burst: 1.5');
    expect(problemsOf(fraction).problems).toMatchObject([{ path: 'tenants.team.rateLimit.burst', ...at(fraction, '1.5') }]);
    const scheme = `${VALID}upstream:\n  baseUrl: ftp://api.dingtalk.com\n`;
    expect(problemsOf(scheme).problems).toMatchObject([{ path: 'upstream.baseUrl', ...at(scheme, 'ftp://') }]);
    const level = `${VALID}observability:\n  logLevel: verbose\n`;
    expect(problemsOf(level).problems).toMatchObject([{ path: 'observability.logLevel', ...at(level, 'verbose') }]);
  });

  it('reports a missing required key at the object it belongs in', () => {
    const text = replaced('    name: Team\n', '');
    expect(problemsOf(text).problems).toEqual([{ path: 'tenants.team.name', message: 'required (string)', ...at(text, 'app: bot') }]);
    const noTenants = VALID.slice(0, VALID.indexOf('tenants:'));
    expect(problemsOf(noTenants).problems).toMatchObject([{ path: 'tenants', line: 1, column: 1 }]);
    const noKeys = replaced(`    apiKeys:\n      - sha256: ${HASH_A}\n`, '    apiKeys: []\n');
    expect(problemsOf(noKeys).problems).toMatchObject([{ path: 'tenants.team.apiKeys', ...at(noKeys, '[]') }]);
  });

  it('refuses an environment variable name that is not one', () => {
    for (const name of ['1BAD', 'BAD-NAME', 'secret value', '$BOT_SECRET']) {
      const text = replaced('BOT_SECRET', JSON.stringify(name));
      expect(problemsOf(text).problems).toEqual([{ path: 'apps.bot.appSecretEnv', message: 'expected the name of an environment variable', ...at(text, JSON.stringify(name)) }]);
    }
  });

  it('refuses a key hash that is not 64 lowercase hex characters', () => {
    for (const hash of [HASH_A.toUpperCase(), 'a'.repeat(63), 'a'.repeat(65), 'g'.repeat(64), 'dtg_not_a_hash']) {
      const text = replaced(HASH_A, hash);
      expect(problemsOf(text).problems).toEqual([
        { path: 'tenants.team.apiKeys[0].sha256', message: 'expected 64 lowercase hex characters (the SHA-256 of the key)', ...at(text, hash) },
      ]);
    }
  });

  it('refuses a tenant or app id that is not lowercase letters, digits, ".", "_" or "-"', () => {
    const text = replaced('  team:\n', '  Team:\n');
    expect(problemsOf(text).problems).toMatchObject([{ path: 'tenants.Team' }]);
  });

  it('refuses a tenant whose app is not under apps, listing the known ones', () => {
    const text = replaced('app: bot', 'app: nope');
    expect(problemsOf(text).problems).toEqual([{ path: 'tenants.team.app', message: 'no app "nope" under apps (known: bot)', ...at(text, 'nope') }]);
  });

  it('refuses an unknown scope, listing the valid ones (the permissions of the contract)', () => {
    const text = replaced('[Wiki.Workspace.Read]', '[Wiki.Workspace.Read, Wiki.Everything]');
    expect(problemsOf(text).problems).toEqual([
      {
        path: 'tenants.team.scopes[1]',
        message: 'unknown scope "Wiki.Everything"; expected one of Document.WorkspaceDocument.Write, Drive.Space.Write, Wiki.Workspace.Read, Wiki.Workspace.Write',
        ...at(text, 'Wiki.Everything'),
      },
    ]);
  });

  it('refuses an operation limit for an operationId the contract does not have', () => {
    const text = `${VALID}    operationLimits:\n      addSpace: { rate: 1, burst: 1 }\n      addspace: { rate: 1, burst: 1 }\n`;
    expect(problemsOf(text).problems).toEqual([
      {
        path: 'tenants.team.operationLimits.addspace',
        message: 'unknown operation "addspace"; expected one of addSpace, addWorkspace, createWorkspaceDoc, getWorkspace, listWorkspaces',
        ...at(text, '{ rate: 1', 'addspace'),
      },
    ]);
  });

  it('caches only the answers of GET operations', () => {
    const text = `${VALID}    cache:\n      addSpace: { ttlSeconds: 10 }\n      getWorkspace: false\ncache:\n  operations:\n    listWorkspaces: { ttlSeconds: 30 }\n    addWorkspace: { ttlSeconds: 30 }\n`;
    expect(problemsOf(text).problems.map((p) => [p.path, p.message])).toEqual([
      ['cache.operations.addWorkspace', '"addWorkspace" is not a GET operation of DingTalk\'s; answers of getWorkspace, listWorkspaces can be cached'],
      ['tenants.team.cache.addSpace', '"addSpace" is not a GET operation of DingTalk\'s; answers of getWorkspace, listWorkspaces can be cached'],
    ]);
    const parsed = parseConfig(`${VALID}    cache: { getWorkspace: { ttlSeconds: 5 }, listWorkspaces: false }\ncache:\n  operations:\n    listWorkspaces: { ttlSeconds: 30 }\n`, 'gateway.yaml', contract);
    expect(parsed.tenants.team!.cache).toEqual({ getWorkspace: { ttlSeconds: 5 }, listWorkspaces: false });
  });

  it('refuses the same key hash under two tenants (a key identifies one tenant)', () => {
    const text = `${VALID}  other:
    name: Other
    app: bot
    apiKeys:
      - sha256: ${HASH_B}
      - sha256: ${HASH_A}
    scopes: [Wiki.Workspace.Read]
    rateLimit: { rate: 1, burst: 1 }
`;
    expect(problemsOf(text).problems).toEqual([
      { path: 'tenants.other.apiKeys[1].sha256', message: 'this key hash is already listed under tenants.team', ...at(text, HASH_A, 'other:') },
    ]);
  });

  it('reports every problem at once, not just the first', () => {
    const text = replaced('app: bot', 'app: nope', replaced('[Wiki.Workspace.Read]', '[Wiki.Nothing]'));
    expect(problemsOf(text).problems.map((p) => p.path)).toEqual(['tenants.team.app', 'tenants.team.scopes[0]']);
    const shape = replaced('appKey: dingkey', 'appKey: ""', `${VALID}server:\n  port: 70000\n`);
    expect(problemsOf(shape).problems.map((p) => p.path).sort()).toEqual(['apps.bot.appKey', 'server.port']);
  });

  it('formats the message as "file:line:col: path: message", one line per problem', () => {
    const text = replaced('app: bot', 'app: nope', replaced('[Wiki.Workspace.Read]', '[Wiki.Nothing]'));
    const { error } = problemsOf(text, 'conf/gw.yaml');
    const app = at(text, 'nope');
    const scope = at(text, 'Wiki.Nothing');
    expect(error.file).toBe('conf/gw.yaml');
    expect(error.message).toBe(
      [
        'conf/gw.yaml: invalid gateway config (2 problems):',
        `  conf/gw.yaml:${app.line}:${app.column}: tenants.team.app: no app "nope" under apps (known: bot)`,
        `  conf/gw.yaml:${scope.line}:${scope.column}: tenants.team.scopes[0]: unknown scope "Wiki.Nothing"; expected one of Document.WorkspaceDocument.Write, Drive.Space.Write, Wiki.Workspace.Read, Wiki.Workspace.Write`,
      ].join('\n'),
    );
    const one = problemsOf(`${VALID}extra: 1\n`, 'gw.yaml').error.message;
    expect(one).toBe('gw.yaml: invalid gateway config (1 problem):\n  gw.yaml:1:1: unknown key "extra"');
  });

  /** VALID with a second app and tenant, and `orgs` if given. */
  const twoTeams = (orgs: string, botOrg = '', wikiOrg = '', allocations: [string, string] = ['', '']) => `${orgs}apps:
  bot:
    type: internal
    appKey: dingkey
    appSecretEnv: BOT_SECRET${botOrg}
  wiki:
    type: internal
    appKey: dingwiki
    appSecretEnv: WIKI_SECRET${wikiOrg}
tenants:
  team:
    name: Team
    app: bot
    apiKeys: [{ sha256: ${HASH_A} }]
    scopes: [Wiki.Workspace.Read]
    rateLimit: { rate: 5, burst: 10 }${allocations[0]}
  docs:
    name: Docs
    app: wiki
    apiKeys: [{ sha256: ${HASH_B} }]
    scopes: [Wiki.Workspace.Read]
    rateLimit: { rate: 5, burst: 10 }${allocations[1]}
`;

  it('takes orgs with their monthly call quotas and tenants with allocations, in calls or as a share', () => {
    const config = parseConfig(
      twoTeams('orgs:\n  acme: { corpId: dingacme, monthlyCallQuota: 2000 }\n', '', '', ['\n    monthlyAllocation: 500', '\n    monthlyAllocation: "25%"']),
      'gateway.yaml',
      contract,
    );
    expect(config.orgs).toEqual({ acme: { corpId: 'dingacme', monthlyCallQuota: 2000 } });
    expect([config.tenants.team!.monthlyAllocation, config.tenants.docs!.monthlyAllocation]).toEqual([500, '25%']);
    // Without orgs, every app is in the standard edition's org `default` (see quota/plan.test.ts).
    expect(parseConfig(VALID, 'gateway.yaml', contract).orgs).toBeUndefined();
  });

  it("refuses an app's org that is not under orgs, and a missing one when there are several", () => {
    const text = twoTeams('orgs:\n  acme: {}\n  beta: {}\n', '\n    org: gamma');
    expect(problemsOf(text).problems).toEqual([
      { path: 'apps.bot.org', message: 'no org "gamma" under orgs (known: acme, beta)', ...at(text, 'gamma') },
      { path: 'apps.wiki.org', message: "required with several orgs: which org's monthly quota this app's calls spend (one of acme, beta)", ...at(text, 'type: internal', 'wiki:') },
    ]);
    const noOrgs = twoTeams('', '\n    org: acme');
    expect(problemsOf(noOrgs).problems).toMatchObject([{ path: 'apps.bot.org', message: 'no org "acme": there are no orgs (add it under orgs)' }]);
  });

  it("refuses allocations that add up to more than their org's quota, saying which", () => {
    const text = twoTeams('orgs:\n  acme: { monthlyCallQuota: 1000 }\n', '', '', ['\n    monthlyAllocation: 700', '\n    monthlyAllocation: "40%"']);
    expect(problemsOf(text).problems).toEqual([
      { path: 'orgs.acme.monthlyCallQuota', message: 'the tenants\' monthly allocations add up to 1100 calls, more than the 1000 of org "acme" (team 700, docs 40%)', ...at(text, '1000') },
    ]);
    // The implicit org: 10,000 calls.
    expect(problemsOf(twoTeams('', '', '', ['\n    monthlyAllocation: 9000', '\n    monthlyAllocation: 2000'])).problems).toMatchObject([
      { path: '', message: 'the tenants\' monthly allocations add up to 11000 calls, more than the 10000 of org "default" (team 9000, docs 2000)' },
    ]);
    expect(problemsOf(twoTeams('', '', '', ['\n    monthlyAllocation: "101%"', ''])).problems).toMatchObject([{ path: 'tenants.team.monthlyAllocation' }]);
  });

  it('refuses an empty file and a document that is not a mapping', () => {
    expect(problemsOf('').problems.map((p) => p.path)).toEqual(['apps', 'tenants']);
    expect(problemsOf('- a\n- b\n').problems).toEqual([{ path: '', message: 'expected object, received array', line: 1, column: 1 }]);
  });
});

describe('loadConfigFile', () => {
  it('reads and parses a file, and names an unreadable one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
    try {
      const file = join(dir, 'gateway.yaml');
      writeFileSync(file, VALID);
      const config = loadConfigFile(file, contract);
      expect(config.tenants.team!.app).toBe('bot');
      // The ledger's file is beside the config unless it says otherwise (relative to it, or absolute).
      expect(config.ledger.file).toBe(join(dir, 'ledger.json'));
      writeFileSync(file, `${VALID}ledger: { file: state/calls.json }\n`);
      expect(loadConfigFile(file, contract).ledger.file).toBe(join(dir, 'state', 'calls.json'));
      const missing = join(dir, 'missing.yaml');
      expect(() => loadConfigFile(missing, contract)).toThrow(ConfigError);
      expect(() => loadConfigFile(missing, contract)).toThrow(new RegExp(`^${missing}: invalid gateway config \\(1 problem\\):\\n  ${missing}: cannot read the file: .*ENOENT`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
