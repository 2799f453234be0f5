/**
 * Secrets and isolation. The gateway holds every DingTalk secret of the company: none may leak
 * into a log line, a metric or an answer, and no tenant may act as, slow down or look into
 * another.
 *
 * Two tenants on two different DingTalk apps, in two different organizations:
 * - A, `alpha` ("Alpha team"): the internal app `full` (Sandbox Org), no Drive scope, burst 4;
 * - B, `bravo` ("Bravo team"): app `app-bravo`, the ISV suite acting for the Locked Org, burst 6.
 * The sandbox tells which app and org every token belongs to; every upstream call is recorded
 * with the caller's `x-request-id` (the gateway passes it on), so each one is traced to the tenant
 * that caused it.
 *
 * Everything the file's gateways log, expose as metrics or answer is collected and searched, in
 * the last test, for every appSecret, suiteSecret, suiteTicket, access token the sandbox issued
 * and API key used in the file.
 */
import { readFileSync } from 'node:fs';
import { type RunningSandbox, type Sandbox, createSandbox, startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, configSchema, type SecretSource, createGateway, mintApiKey, sha256Hex, type RunningGateway, startGateway, createFetchUpstream, createUndiciUpstream, type Upstream, type UpstreamResponse } from '@dingtalk-gateway/gateway';
import { gatewayConfigFile } from '../processes/index.js';
import { type Harness, SANDBOX_ORIGIN, createHarness } from '../in-process.js';
import { gatewayErrorCodes } from './contract-model.js';
import { apiCallsBetween, capturedLogger, findSecrets, isDingTalkError, parseJson } from './support.js';

const contract = loadGatewayContract();
const GATEWAY_CODES = gatewayErrorCodes(contract);
const ALL_SCOPES = ['Wiki.Workspace.Read', 'Wiki.Workspace.Write', 'Document.WorkspaceDocument.Write', 'Drive.Space.Write'];
const alice = seeded.users.alice.unionId;
const dave = seeded.users.dave.unionId;
const handbook = seeded.workspaces.handbook.workspaceId;
const lockedWiki = seeded.workspaces.lockedWiki.workspaceId;

const alphaKey = mintApiKey();
const bravoKey = mintApiKey();
/** A secret configured wrongly on purpose: DingTalk refuses it, and the refusal is logged. */
const WRONG_SECRET = 'wrong-secret-configured-by-mistake-7f3a';

// ---------------------------------------------------------------------------------------------
// What the file collects, to be searched at the end.

const collected = { logs: [] as Array<() => string>, metrics: [] as Array<() => Promise<string>>, answers: [] as string[] };
const issuedTokens = new Set<string>();
const apiKeysUsed = new Set<string>([alphaKey.key, bravoKey.key]);

interface UpstreamCall {
  requestId: string | null;
  path: string;
  token: string | null;
  /** The app (appKey or suiteKey) and org the sandbox says the token belongs to. */
  principal: { appKey: string; corpId: string } | undefined;
  status: number;
  acsRequestId: string | null;
}

/** An upstream to the in-process sandbox that records every call, its token's owner and the tokens issued. */
function recordingUpstream(sandbox: () => Sandbox, calls: UpstreamCall[]): Upstream {
  return createFetchUpstream({
    baseUrl: SANDBOX_ORIGIN,
    responseTimeoutMs: 2_000,
    maxResponseBytes: 10 * 1024 * 1024,
    fetch: async (request) => {
      const url = new URL(request.url);
      const token = request.headers.get('x-acs-dingtalk-access-token');
      const grant = token ? sandbox().tokens.lookup(token) : undefined;
      const response = await sandbox().app.fetch(request);
      if (url.pathname.startsWith('/v1.0/oauth2/')) {
        const issued = (parseJson(await response.clone().text()) as { accessToken?: unknown } | undefined)?.accessToken;
        if (typeof issued === 'string') issuedTokens.add(issued);
      }
      calls.push({
        requestId: request.headers.get('x-request-id'),
        path: url.pathname + url.search,
        token,
        principal: grant ? { appKey: grant.principal.appKey, corpId: grant.principal.corpId } : undefined,
        status: response.status,
        acsRequestId: response.headers.get('x-acs-request-id'),
      });
      return response;
    },
  });
}

const secrets: SecretSource = {
  appSecret: (appId) => {
    if (appId === 'isv' || appId === 'app-bravo') return seeded.suites.isv.suiteSecret;
    if (appId === 'app-wrong') return WRONG_SECRET;
    return seeded.apps.full.appSecret;
  },
  suiteTicket: async () => seeded.suites.isv.suiteTicket,
};

interface TwoTenants {
  h: Harness;
  calls: UpstreamCall[];
}

/** The harness with tenants A (alpha) and B (bravo) added, every upstream call recorded. */
function twoTenants(options: { alphaBurst?: number } = {}): TwoTenants {
  const calls: UpstreamCall[] = [];
  let h: Harness | undefined;
  h = createHarness({
    sandbox: { admin: true },
    config: {
      apps: {
        'app-bravo': { type: 'isv', suiteKey: seeded.suites.isv.suiteKey, suiteSecretEnv: 'BRAVO_SECRET', authCorpId: seeded.orgs.locked.corpId, suiteTicket: { env: 'BRAVO_TICKET' } },
      },
      tenants: {
        alpha: { name: 'Alpha team', app: 'full', apiKeys: [{ sha256: alphaKey.sha256 }], scopes: ALL_SCOPES.filter((s) => s !== 'Drive.Space.Write'), rateLimit: { rate: 0.01, burst: options.alphaBurst ?? 4 } },
        bravo: { name: 'Bravo team', app: 'app-bravo', apiKeys: [{ sha256: bravoKey.sha256 }], scopes: ALL_SCOPES, rateLimit: { rate: 0.01, burst: 6 } },
      },
    },
    deps: { secrets, upstream: recordingUpstream(() => h!.sandbox, calls) },
  });
  for (const key of Object.values(h.keys)) apiKeysUsed.add(key);
  const harness = h;
  collected.logs.push(() => harness.rawLogs());
  collected.metrics.push(async () => (await harness.gateway.metricsApp.request('/metrics')).text());
  return { h: harness, calls };
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
  requestId: string;
}

let sequence = 0;
/** Calls the gateway as the holder of `key` (null: no key), with a fresh x-request-id; the answer is collected. */
async function callAs(h: Harness, key: string | null, path: string, init: RequestInit = {}, label = 'call'): Promise<Answer> {
  const requestId = `${label}-${++sequence}`;
  const headers = new Headers(init.headers);
  headers.set('x-request-id', requestId);
  if (key !== null) apiKeysUsed.add(key);
  const response = await h.call(path, { ...init, headers, key });
  const text = await response.text();
  collected.answers.push(`${response.status}\n${[...response.headers].map(([n, v]) => `${n}: ${v}`).join('\n')}\n\n${text}`);
  return { status: response.status, headers: response.headers, text, body: parseJson(text), requestId };
}

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

// ---------------------------------------------------------------------------------------------

describe("tenant A never reaches tenant B's DingTalk app", () => {
  it("sends every one of A's calls with a token of A's own app and org, and B's with B's, even when A names B's token or tenant", async () => {
    const { h, calls } = twoTenants({ alphaBurst: 100 });
    // B first, so that A can try B's token.
    const bList = await callAs(h, bravoKey.key, `/v2.0/wiki/workspaces?operatorId=${dave}`, {}, 'B');
    expect(bList.status).toBe(200);
    const bToken = calls.find((c) => c.requestId === bList.requestId)!.token!;
    expect(bToken).toBeTruthy();
    const bGet = await callAs(h, bravoKey.key, `/v2.0/wiki/workspaces/${lockedWiki}?operatorId=${dave}`, {}, 'B');
    expect(bGet.status, bGet.text).toBe(200);

    const posing = { 'x-acs-dingtalk-access-token': bToken, 'x-tenant': 'bravo', 'x-dtg-tenant': 'bravo', 'x-app-id': 'app-bravo', 'x-acs-dingtalk-corp-id': seeded.orgs.locked.corpId };
    const before = h.sandbox.counters.snapshot();
    const aAnswers = await Promise.all([
      callAs(h, alphaKey.key, `/v2.0/wiki/workspaces?operatorId=${alice}`, { headers: posing }, 'A'),
      callAs(h, alphaKey.key, `/v2.0/wiki/workspaces/${handbook}?operatorId=${alice}`, { headers: posing }, 'A'),
      callAs(h, alphaKey.key, `/v2.0/wiki/workspaces?operatorId=${alice}`, { ...json({ name: 'Alpha wiki' }), headers: { ...posing, 'content-type': 'application/json' } }, 'A'),
      callAs(h, alphaKey.key, `/v1.0/doc/workspaces/${handbook}/docs`, { ...json({ name: 'Alpha doc', docType: 'DOC', operatorId: alice }), headers: { ...posing, 'content-type': 'application/json' } }, 'A'),
      // B's data, asked for with A's key: DingTalk answers for A's org, where it does not exist.
      callAs(h, alphaKey.key, `/v2.0/wiki/workspaces/${lockedWiki}?operatorId=${dave}`, { headers: posing }, 'A'),
      callAs(h, bravoKey.key, `/v2.0/wiki/workspaces/${lockedWiki}?operatorId=${dave}`, {}, 'B'),
    ]);
    expect(aAnswers.slice(0, 4).map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(aAnswers[4]!.status, aAnswers[4]!.text).not.toBe(200);
    expect(aAnswers[4]!.text).not.toContain('Locked');
    expect(aAnswers[5]!.status).toBe(200);

    const apiCalls = calls.filter((c) => !c.path.startsWith('/v1.0/oauth2/'));
    expect(apiCalls.length).toBeGreaterThanOrEqual(8);
    for (const call of apiCalls) {
      const expected = call.requestId!.startsWith('A-') ? { appKey: seeded.apps.full.appKey, corpId: seeded.orgs.sandbox.corpId } : { appKey: seeded.suites.isv.suiteKey, corpId: seeded.orgs.locked.corpId };
      expect(call.principal, `${call.requestId} ${call.path}`).toEqual(expected);
    }
    expect(apiCalls.filter((c) => c.requestId!.startsWith('A-')).every((c) => c.token !== bToken)).toBe(true);
    // The sandbox's own attribution agrees: during A's calls nothing was charged to B's suite but B's own call.
    const after = h.sandbox.counters.snapshot();
    const chargedToSuite = Object.values(after.byApp[seeded.suites.isv.suiteKey] ?? {}).reduce((a, b) => a + b, 0) - Object.values(before.byApp[seeded.suites.isv.suiteKey] ?? {}).reduce((a, b) => a + b, 0);
    expect(chargedToSuite).toBe(1);
  });
});

describe("tenant A cannot consume or see B's rate limit", () => {
  it("A at its limit leaves B's (another app) and a same-app neighbour's budgets whole", async () => {
    const { h } = twoTenants();
    const list = `/v2.0/wiki/workspaces?operatorId=${alice}`;
    const aAnswers: Answer[] = [];
    for (let i = 0; i < 6; i++) aAnswers.push(await callAs(h, alphaKey.key, list, {}, 'A'));
    expect(aAnswers.map((a) => a.status)).toEqual([200, 200, 200, 200, 429, 429]);
    for (const a of aAnswers) {
      // Its rate, and (when admitted, so counted) its part of the org's month.
      expect(a.headers.get('ratelimit-policy'), 'A sees its own policy only').toMatch(/^"tenant";q=4;w=400(, "month";q=10000;w=\d+)?$/);
    }
    expect((aAnswers[4]!.body as { code: string }).code).toBe('gateway.rateLimit.tenant');

    // B, on another app, and "other", on A's own app, still have their whole burst.
    const b = await callAs(h, bravoKey.key, `/v2.0/wiki/workspaces?operatorId=${dave}`, {}, 'B');
    expect(b.status).toBe(200);
    expect(b.headers.get('ratelimit-policy')).toMatch(/^"tenant";q=6;w=600, "month";q=10000;w=\d+$/);
    expect(b.headers.get('ratelimit')).toMatch(/^"tenant";r=5;t=\d+, "month";r=\d+;t=\d+$/);
    const neighbour = await callAs(h, h.keys.other, list, {}, 'other');
    expect(neighbour.status).toBe(200);
    expect(neighbour.headers.get('ratelimit')).toMatch(/^"tenant";r=999;t=\d+, "month";r=\d+;t=\d+$/);
    const bRest: number[] = [];
    for (let i = 0; i < 5; i++) bRest.push((await callAs(h, bravoKey.key, `/v2.0/wiki/workspaces?operatorId=${dave}`, {}, 'B')).status);
    expect(bRest).toEqual([200, 200, 200, 200, 200]);
    // And A is still limited: B's calls gave A nothing either.
    expect((await callAs(h, alphaKey.key, list, {}, 'A')).status).toBe(429);
  });
});

describe("tenant A's answers show nothing of tenant B", () => {
  it("no error or header A receives names B's tenant, app, appKey/suiteKey, org, key or token; x-acs-* headers are A's own call's", async () => {
    const { h, calls } = twoTenants();
    // B works first, so that the gateway holds B's token and state while A errs in every way.
    expect((await callAs(h, bravoKey.key, `/v2.0/wiki/workspaces?operatorId=${dave}`, {}, 'B')).status).toBe(200);
    const bTokens = calls.filter((c) => c.requestId?.startsWith('B-')).map((c) => c.token!);

    const a: Answer[] = [];
    const as = async (path: string, init: RequestInit = {}) => a.push(await callAs(h, alphaKey.key, path, init, 'A'));
    await as(`/v2.0/wiki/workspaces?operatorId=${alice}`); // 200
    await as(`/v2.0/wiki/workspaces/${lockedWiki}?operatorId=${dave}`); // DingTalk's refusal, B's workspace
    await as(`/v2.0/wiki/workspaces/nope?operatorId=${alice}`); // DingTalk 404
    await as('/v1.0/drive/spaces', json({ name: 'x', unionId: alice })); // 403 scopeDenied
    await as(`/v2.0/wiki/workspaces?operatorId=${alice}&maxResults=31`); // 400 paramError (DingTalk's code, the gateway's answer)
    await as('/v2.0/wiki/nothing'); // 404 InvalidAction.NotFound
    await as(`/v2.0/wiki/workspaces/${handbook}`, { method: 'DELETE' }); // 404 InvalidAction.NotFound, with Allow
    await as(`/v2.0/wiki/workspaces?operatorId=${alice}`, json({ name: 'x'.repeat(2 * 1024 * 1024) })); // 413
    await as('/metrics');
    await as('/__sandbox/state');
    h.sandbox.faults.set({ getAccessToken: { error: { status: 500, code: 'system.busy' } } });
    h.sandbox.revokeTokens(seeded.apps.full.appKey);
    await as(`/v2.0/wiki/workspaces?operatorId=${alice}`); // InvalidAuthentication, then no new token: 503
    h.sandbox.faults.clear();
    await as(`/v2.0/wiki/workspaces?operatorId=${alice}`); // until the backoff ends: 503 again, or 200
    for (let i = 0; i < 6; i++) await as(`/v2.0/wiki/workspaces?operatorId=${alice}`); // 429
    const statuses = new Set(a.map((x) => x.status));
    for (const status of [200, 400, 403, 404, 413, 429, 503]) expect(statuses, `A got a ${status}`).toContain(status);

    const bIdentifiers: Record<string, string> = {
      'B tenant id': 'bravo',
      'B app id': 'app-bravo',
      'B suiteKey': seeded.suites.isv.suiteKey,
      "B's org": seeded.orgs.locked.corpId,
      "B's key": bravoKey.key,
      "B's key hash": bravoKey.sha256,
      ...Object.fromEntries(bTokens.map((t, i) => [`B token ${i}`, t])),
    };
    for (const answer of a) {
      const seen = `${answer.status}\n${[...answer.headers].map(([n, v]) => `${n}: ${v}`).join('\n')}\n\n${answer.text}`;
      const lowered = Object.fromEntries(Object.entries(bIdentifiers).map(([k, v]) => [k, v.toLowerCase()]));
      expect(findSecrets({ [`A's answer ${answer.requestId} (${answer.status})`]: seen.toLowerCase() }, lowered, { minLength: 5 })).toEqual([]);
      if (answer.status >= 400) expect(isDingTalkError(answer.body), answer.text).toBe(true);

      const upstream = calls.filter((c) => c.requestId === answer.requestId && !c.path.startsWith('/v1.0/oauth2/'));
      for (const call of upstream) expect(call.principal?.appKey ?? seeded.apps.full.appKey, `${answer.requestId} went upstream as A's app`).toBe(seeded.apps.full.appKey);
      const acs = [...answer.headers.keys()].filter((name) => name.startsWith('x-acs-'));
      const gatewayMade = answer.status >= 400 && GATEWAY_CODES.has((answer.body as { code: string }).code) && (answer.body as { requestid: string }).requestid === answer.headers.get('x-request-id');
      if (gatewayMade || upstream.length === 0) {
        expect(acs, `the gateway's own answer ${answer.requestId} carries no DingTalk header`).toEqual([]);
      } else {
        // DingTalk's answer: its headers are those of A's own call (the last attempt, the one passed on).
        expect(answer.headers.get('x-acs-request-id'), answer.requestId).toBe(upstream.at(-1)!.acsRequestId);
      }
    }
  });
});

describe('API keys are stored hashed only', () => {
  const exampleConfigs = ['sandbox.example.yaml', 'production.example.yaml'].map((name) => {
    const file = gatewayConfigFile(name);
    return { name, file, text: readFileSync(file, 'utf8') };
  });
  const MINTED_KEY = /dtg_[A-Za-z0-9_-]{43}/;

  it.each(exampleConfigs.map((c) => [c.name, c] as const))('%s holds SHA-256 hashes, never a key', (_name, { name, text }) => {
    const config = parseConfig(text, name, contract);
    const hashes = Object.values(config.tenants).flatMap((t) => t.apiKeys.map((k) => k.sha256));
    expect(hashes.length).toBeGreaterThan(0);
    for (const hash of hashes) expect(hash).toMatch(/^[0-9a-f]{64}$/);
    // No value the gateway reads holds a key; not even a comment holds a minted one.
    const values: string[] = [];
    const walk = (node: unknown): void => {
      if (typeof node === 'string') values.push(node);
      else if (node && typeof node === 'object') Object.values(node).forEach(walk);
    };
    walk(parseYaml(text));
    expect(values.filter((v) => v.includes('dtg_'))).toEqual([]);
    expect(text).not.toMatch(MINTED_KEY);
    // A key spelled out for humans (the sandbox example's demo key) lives in a comment only.
    for (const line of text.split('\n').filter((l) => l.includes('dtg_'))) expect(line.trimStart().startsWith('#'), line).toBe(true);
  });

  it('refuses a config that holds a key instead of its hash', () => {
    const base = readFileSync(gatewayConfigFile('sandbox.example.yaml'), 'utf8');
    const key = mintApiKey().key;
    for (const replacement of [`- sha256: "${key}"`, `- key: "${key}"`, `- "${key}"`]) {
      const text = base.replace(/- sha256: "[0-9a-f]{64}"/, replacement);
      expect(text).not.toBe(base);
      expect(() => parseConfig(text, 'leaky.yaml', contract), replacement).toThrow(ConfigError);
    }
  });

  it("refuses a key's hash used as the key (a leaked config opens nothing), with nothing forwarded", async () => {
    const { h } = twoTenants();
    const hashes = Object.values(h.config.tenants).flatMap((t) => t.apiKeys.map((k) => k.sha256));
    expect(hashes).toContain(alphaKey.sha256);
    const before = h.sandbox.counters.snapshot();
    for (const hash of hashes) {
      for (const attempt of [hash, hash.toUpperCase(), `sha256:${hash}`, sha256Hex(hash)]) {
        const answer = await callAs(h, attempt, `/v2.0/wiki/workspaces?operatorId=${alice}`, {}, 'hash');
        expect([answer.status, (answer.body as { code: string }).code], attempt).toEqual([401, 'gateway.auth.invalidKey']);
      }
    }
    expect(apiCallsBetween(before, h.sandbox.counters.snapshot())).toEqual({});
    expect((await callAs(h, alphaKey.key, `/v2.0/wiki/workspaces?operatorId=${alice}`, {}, 'A')).status).toBe(200);
  });

  it('a gateway started from the sandbox example config refuses the hashes written in it, and takes its documented demo key', async () => {
    const file = gatewayConfigFile('sandbox.example.yaml');
    const config = parseConfig(readFileSync(file, 'utf8'), 'sandbox.example.yaml', contract);
    const sandbox = createSandbox({ qpsLimit: 100_000 });
    const captured = capturedLogger('info');
    const gateway = createGateway(config, {
      upstream: createFetchUpstream({ baseUrl: SANDBOX_ORIGIN, fetch: (request) => sandbox.app.fetch(request), responseTimeoutMs: 2_000, maxResponseBytes: 1024 * 1024 }),
      secrets: { appSecret: (appId) => (appId === 'sandbox-readonly' ? seeded.apps.readOnly.appSecret : seeded.apps.full.appSecret), suiteTicket: async () => '' },
      logger: captured.logger,
      sha256Hex,
    });
    collected.logs.push(captured.text);
    const path = `/v2.0/wiki/workspaces?operatorId=${alice}`;
    for (const hash of Object.values(config.tenants).flatMap((t) => t.apiKeys.map((k) => k.sha256))) {
      const response = await gateway.app.request(path, { headers: { authorization: `Bearer ${hash}` } });
      expect(response.status).toBe(401);
    }
    // The one key the file documents in a comment, for trying the sandbox by hand.
    const demoKey = /dtg_[A-Za-z0-9_]+/.exec(readFileSync(file, 'utf8'))![0];
    apiKeysUsed.add(demoKey);
    expect(sha256Hex(demoKey)).toBe(config.tenants.demo!.apiKeys[0]!.sha256);
    expect((await gateway.app.request(path, { headers: { authorization: `Bearer ${demoKey}` } })).status).toBe(200);
  });
});

describe('/metrics and admin-ish paths are not on the public app', () => {
  const METRICS_PATHS = ['/metrics', '/metrics/', '/Metrics', '/%6detrics', '/metrics?format=prometheus', '/metrics.json', '//metrics'];
  const ADMIN_PATHS: Array<[string, string, string?]> = [
    ['GET', '/__sandbox/'],
    ['GET', '/__sandbox/state'],
    ['GET', '/__sandbox/counters'],
    ['DELETE', '/__sandbox/counters'],
    ['GET', '/__sandbox/faults'],
    ['PUT', '/__sandbox/faults', '{"*":{"error":{"status":500,"code":"systemError"}}}'],
    ['POST', '/__sandbox/reset'],
    ['POST', `/__sandbox/apps/${seeded.apps.full.appKey}/revoke-tokens`],
    ['PUT', '/__sandbox/token-lifetime', '{"seconds":1}'],
    ['POST', '/v1.0/oauth2/accessToken', JSON.stringify({ appKey: seeded.apps.full.appKey, appSecret: seeded.apps.full.appSecret })],
    ['POST', '/v1.0/oauth2/corpAccessToken', '{}'],
    ['GET', '/gettoken?appkey=x&appsecret=y'],
    ['GET', '/admin'],
    ['GET', '/debug/pprof'],
    ['GET', '/actuator/env'],
    ['GET', '/.env'],
    ['GET', '/server-status'],
    ['GET', '/v2.0/wiki/workspaces/../../../__sandbox/state'],
    ['GET', '/v2.0/wiki/workspaces/%2e%2e/%2e%2e/%2e%2e/__sandbox/state'],
    ['GET', '//__sandbox/state'],
    ['GET', '/./__sandbox/state'],
    ['GET', '/__SANDBOX/state'],
    ['GET', '/__sandbox%2Fstate'],
  ];

  it("answers /metrics (and look-alikes) 404 to every tenant's key, 401 without one; the metrics app has them", async () => {
    const { h } = twoTenants();
    const keys = [alphaKey.key, bravoKey.key, ...Object.values(h.keys)];
    for (const path of METRICS_PATHS) {
      for (const key of keys) {
        const answer = await callAs(h, key, path, {}, 'metrics');
        expect([answer.status, (answer.body as { code?: string } | undefined)?.code], `${path}`).toEqual([404, 'InvalidAction.NotFound']);
        expect(answer.text).not.toMatch(/# HELP|dtg_requests_total/);
      }
      const anonymous = await callAs(h, null, path, {}, 'metrics');
      expect(anonymous.status, path).toBe(401);
    }
    expect(await (await h.gateway.metricsApp.request('/metrics')).text()).toMatch(/# HELP dtg_requests_total/);
  });

  it('never proxies an admin-ish or unknown path: 404, nothing reaches the sandbox (whose admin API is on)', async () => {
    const { h, calls } = twoTenants();
    // The sandbox's admin API is there: a gateway that proxied unknown paths would expose it.
    expect((await h.sandbox.app.request('/__sandbox/state')).status).toBe(200);
    const callsBefore = calls.length;
    for (const key of [alphaKey.key, h.keys.full]) {
      for (const [method, path, body] of ADMIN_PATHS) {
        const init: RequestInit = { method, ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}) };
        const answer = await callAs(h, key, path, init, 'admin');
        expect([answer.status, (answer.body as { code?: string } | undefined)?.code], `${method} ${path}: ${answer.text}`).toEqual([404, 'InvalidAction.NotFound']);
      }
    }
    expect(calls.slice(callsBefore).map((c) => c.path), 'nothing went upstream, not even a token call').toEqual([]);
    expect(JSON.stringify(h.sandbox.faults.get())).toBe('{}');
  });

  it('an encoded traversal inside a path parameter reaches DingTalk only as the operation it matched', async () => {
    const { h, calls } = twoTenants();
    const before = h.sandbox.counters.snapshot();
    const callsBefore = calls.length;
    const answer = await callAs(h, alphaKey.key, `/v2.0/wiki/workspaces/..%2F..%2F..%2F__sandbox%2Fstate?operatorId=${alice}`, {}, 'A');
    expect(answer.text).not.toContain('"orgs"');
    expect(isDingTalkError(answer.body)).toBe(true);
    const moved = apiCallsBetween(before, h.sandbox.counters.snapshot());
    expect(Object.keys(moved).every((op) => op === 'getWorkspace')).toBe(true);
    expect(calls.slice(callsBefore).filter((c) => c.path.startsWith('/__sandbox'))).toEqual([]);
  });
});

describe('the Node entry: metrics on their own loopback listener', () => {
  let sandbox: RunningSandbox;
  let gateway: RunningGateway;
  const captured = capturedLogger('trace');
  const forwardedPaths: string[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox({ admin: true, qpsLimit: 100_000 });
    const config = configSchema.parse({
      server: { port: 0, shutdownGraceMs: 1_000 },
      upstream: { baseUrl: sandbox.url },
      dingtalk: { qpsLimit: 100_000 },
      apps: {
        full: { type: 'internal', appKey: seeded.apps.full.appKey, appSecretEnv: 'FULL_SECRET' },
        'app-bravo': { type: 'isv', suiteKey: seeded.suites.isv.suiteKey, suiteSecretEnv: 'SUITE_SECRET', authCorpId: seeded.orgs.locked.corpId, suiteTicket: { env: 'SUITE_TICKET' } },
        'app-wrong': { type: 'internal', appKey: seeded.apps.readOnly.appKey, appSecretEnv: 'WRONG_SECRET' },
      },
      tenants: {
        alpha: { name: 'Alpha team', app: 'full', apiKeys: [{ sha256: alphaKey.sha256 }], scopes: ALL_SCOPES, rateLimit: { rate: 1000, burst: 1000 } },
        bravo: { name: 'Bravo team', app: 'app-bravo', apiKeys: [{ sha256: bravoKey.sha256 }], scopes: ALL_SCOPES, rateLimit: { rate: 1000, burst: 1000 } },
        wrong: { name: 'Misconfigured', app: 'app-wrong', apiKeys: [{ sha256: mintApiKey().sha256 }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 1, burst: 1 } },
      },
      observability: { metrics: { port: 0 } },
    });
    const inner = createUndiciUpstream({ baseUrl: sandbox.url, connections: 4, connectTimeoutMs: 1_000, responseTimeoutMs: 5_000, maxResponseBytes: 1024 * 1024 });
    const upstream: Upstream = {
      async send(request) {
        if (!request.path.startsWith('/v1.0/oauth2/')) forwardedPaths.push(request.path);
        const response: UpstreamResponse = await inner.send(request);
        if (request.path.startsWith('/v1.0/oauth2/')) {
          const issued = (parseJson(Buffer.from(response.body).toString('utf8')) as { accessToken?: unknown } | undefined)?.accessToken;
          if (typeof issued === 'string') issuedTokens.add(issued);
        }
        return response;
      },
      close: () => inner.close(),
    };
    gateway = await startGateway({
      config,
      env: { FULL_SECRET: seeded.apps.full.appSecret, SUITE_SECRET: seeded.suites.isv.suiteSecret, SUITE_TICKET: seeded.suites.isv.suiteTicket, WRONG_SECRET },
      logger: captured.logger,
      upstream,
    });
    collected.logs.push(captured.text);
  });

  afterAll(async () => {
    // The last word of its metrics, for the secret search after it is gone.
    if (gateway) {
      const text = await (await fetch(gateway.metricsUrl!)).text();
      collected.metrics.push(async () => text);
    }
    await gateway?.close();
    await sandbox?.close();
  });

  const fetchAs = async (key: string | null, url: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (key) headers.set('authorization', `Bearer ${key}`);
    const response = await fetch(url, { ...init, headers });
    const text = await response.text();
    collected.answers.push(`${response.status}\n${[...response.headers].map(([n, v]) => `${n}: ${v}`).join('\n')}\n\n${text}`);
    return { status: response.status, text, body: parseJson(text) };
  };

  it('serves metrics on 127.0.0.1, on another port than the public one, and nothing else there', async () => {
    const metricsUrl = new URL(gateway.metricsUrl!);
    expect(metricsUrl.hostname).toBe('127.0.0.1');
    expect(metricsUrl.port).not.toBe(new URL(gateway.url).port);
    expect((await fetchAs(null, gateway.metricsUrl!)).text).toMatch(/# HELP dtg_requests_total/);
    const before = forwardedPaths.length;
    const viaMetrics = await fetchAs(alphaKey.key, `${metricsUrl.origin}/v2.0/wiki/workspaces?operatorId=${alice}`);
    expect(viaMetrics.status).toBe(404);
    expect(forwardedPaths.length).toBe(before);
  });

  it('answers /metrics and /__sandbox on the public port with 404 to a tenant key', async () => {
    for (const path of ['/metrics', '/__sandbox/state', '/__sandbox/counters']) {
      const answer = await fetchAs(alphaKey.key, `${gateway.url}${path}`);
      expect([answer.status, (answer.body as { code?: string }).code], path).toEqual([404, 'InvalidAction.NotFound']);
      expect(answer.text).not.toMatch(/# HELP|"orgs"/);
    }
    expect((await fetch(`${sandbox.url}/__sandbox/state`)).status).toBe(200);
  });

  it('runs calls of both tenants, a misconfigured app and the token failure paths (for the secret search below)', async () => {
    expect((await fetchAs(alphaKey.key, `${gateway.url}/v2.0/wiki/workspaces?operatorId=${alice}`)).status).toBe(200);
    expect((await fetchAs(bravoKey.key, `${gateway.url}/v2.0/wiki/workspaces?operatorId=${dave}`)).status).toBe(200);
    expect((await fetchAs(alphaKey.key, `${gateway.url}/v1.0/drive/spaces`, json({ name: 'Alpha space', unionId: alice }))).status).toBe(200);
    sandbox.sandbox.revokeTokens(seeded.apps.full.appKey);
    sandbox.sandbox.revokeTokens(seeded.suites.isv.suiteKey);
    expect((await fetchAs(alphaKey.key, `${gateway.url}/v2.0/wiki/workspaces?operatorId=${alice}`)).status).toBe(200);
    expect((await fetchAs(bravoKey.key, `${gateway.url}/v2.0/wiki/workspaces?operatorId=${dave}`)).status).toBe(200);
    sandbox.sandbox.faults.set({ getCorpAccessToken: { dropConnection: true } });
    sandbox.sandbox.revokeTokens(seeded.suites.isv.suiteKey);
    expect((await fetchAs(bravoKey.key, `${gateway.url}/v2.0/wiki/workspaces?operatorId=${dave}`)).status).toBe(503);
    sandbox.sandbox.faults.clear();
    // DingTalk refuses the misconfigured secret: logged, answered, and /readyz says so.
    expect((await fetchAs(null, `${gateway.url}/readyz`)).status).toBe(503);
    expect(captured.text()).toMatch(/DingTalk token fetch failed/);
  });
});

describe('no secret anywhere', () => {
  it('no appSecret, suiteSecret, suiteTicket, access token or API key in the logs, metrics or answers of this file', async () => {
    const haystacks: Record<string, string> = {};
    for (const [i, logs] of collected.logs.entries()) haystacks[`logs #${i}`] = logs();
    for (const [i, metrics] of collected.metrics.entries()) haystacks[`metrics #${i}`] = await metrics();
    haystacks.answers = collected.answers.join('\n\n');
    // The search must have something to search: this file's gateways logged, counted and answered.
    expect(Object.values(haystacks).join('').length).toBeGreaterThan(10_000);
    expect(issuedTokens.size, 'tokens the sandbox issued, read from its answers').toBeGreaterThanOrEqual(4);
    expect(apiKeysUsed.size).toBeGreaterThanOrEqual(6);

    const secretsToFind: Record<string, string> = {
      'appSecret of full': seeded.apps.full.appSecret,
      'appSecret of readOnly': seeded.apps.readOnly.appSecret,
      suiteSecret: seeded.suites.isv.suiteSecret,
      suiteTicket: seeded.suites.isv.suiteTicket,
      'the misconfigured secret': WRONG_SECRET,
      ...Object.fromEntries([...issuedTokens].map((token, i) => [`access token #${i}`, token])),
      ...Object.fromEntries([...apiKeysUsed].filter((k) => k.length >= 8).flatMap((key, i) => [[`API key #${i}`, key], ...(key.startsWith('dtg_') && key.length > 20 ? [[`API key #${i} without its prefix`, key.slice(4)]] : [])])),
    };
    expect(findSecrets(haystacks, secretsToFind)).toEqual([]);
  });
});
