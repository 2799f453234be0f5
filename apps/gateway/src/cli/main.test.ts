import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../adapters/node/api-key.js';
import { main } from './main.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(args.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void err.push(args.join(' ')));
  return { out: () => out.join('\n'), err: () => err.join('\n') };
}

const exampleConfig = new URL('../../config/sandbox.example.yaml', import.meta.url).pathname;

afterEach(() => vi.restoreAllMocks());

describe('dingtalk-gateway mint-key', () => {
  it('prints a new key once and the config line with its hash', async () => {
    const io = capture();
    expect(await main(['mint-key', '--tenant', 'wiki-team', '--label', 'q4'])).toBe(0);
    const key = /(dtg_[A-Za-z0-9_-]{43})/.exec(io.out())![1]!;
    expect(io.out()).toContain(`- { sha256: "${sha256Hex(key)}", label: "q4" }`);
    expect(io.out()).toContain('tenants.wiki-team.apiKeys');
  });

  it('needs a tenant', async () => {
    const io = capture();
    expect(await main(['mint-key'])).toBe(2);
    expect(io.err()).toMatch(/--tenant/);
  });

  it('sets expiresAt from --expires (days or hours), and refuses another lifetime', async () => {
    const io = capture();
    const before = Date.now();
    expect(await main(['mint-key', '--tenant', 'ci', '--expires', '90d'])).toBe(0);
    const expiresAt = /expiresAt: "([^"]+)"/.exec(io.out())![1]!;
    expect(expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(expiresAt) - before).toBeGreaterThan(90 * 86_400_000 - 2_000);
    expect(Date.parse(expiresAt) - before).toBeLessThanOrEqual(90 * 86_400_000 + 2_000);
    expect(await main(['mint-key', '--tenant', 'ci', '--expires', '3 months'])).toBe(2);
    expect(io.err()).toMatch(/--expires takes a lifetime in days or hours/);
  });
});

describe('dingtalk-gateway revoke', () => {
  it('without Redis in the config, says how a key is revoked instead: its hash removed, then SIGHUP', async () => {
    const io = capture();
    expect(await main(['revoke', '--config', exampleConfig, '--sha256', 'a'.repeat(64)])).toBe(2);
    expect(io.err()).toMatch(/has no redis: .*Remove the key's hash and send SIGHUP to every instance/);
  });

  it('needs exactly one of --key and --sha256, and a well-formed hash', async () => {
    const io = capture();
    expect(await main(['revoke', '--config', exampleConfig])).toBe(2);
    expect(await main(['revoke', '--config', exampleConfig, '--key', 'k', '--sha256', 'a'.repeat(64)])).toBe(2);
    expect(await main(['revoke', '--config', exampleConfig, '--sha256', 'ABC'])).toBe(2);
    expect(io.err()).toMatch(/64 lowercase hex characters/);
  });
});

describe('dingtalk-gateway check-config', () => {
  it('accepts the example configs', async () => {
    const io = capture();
    expect(await main(['check-config', exampleConfig])).toBe(0);
    expect(io.out()).toMatch(/OK \(2 apps, 2 tenants; org sandbox 10,000 calls a month, 5,000 allocated\)/);
  });

  it('names the file, line, path and expectation of each problem, and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtg-config-'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      ['apps:', '  a: { type: internal, appKey: k, appSecretEnv: A_SECRET }', 'tenants:', '  t:', '    name: T', '    app: a', `    apiKeys: [{ sha256: ${'a'.repeat(64)} }]`, '    scopes: [Wiki.Workspace.Reed]', '    rateLimit: { rate: fast, burst: 2 }', ''].join('\n'),
    );
    const io = capture();
    expect(await main(['check-config', file])).toBe(1);
    expect(io.err()).toContain(`${file}:9:24: tenants.t.rateLimit.rate: expected number, received string`);
    expect(await main(['check-config', file.replace('gateway', 'missing')])).toBe(1);
    expect(io.err()).toMatch(/missing\.yaml: cannot read the file/);
  });

  it('with --env, checks that the secrets are set', async () => {
    const io = capture();
    const saved = { ...process.env };
    delete process.env.SANDBOX_FULL_SECRET;
    try {
      expect(await main(['check-config', exampleConfig, '--env'])).toBe(1);
      expect(io.err()).toContain('apps.sandbox-full.appSecretEnv: environment variable SANDBOX_FULL_SECRET is not set');
    } finally {
      process.env = saved;
    }
  });
});

describe('dingtalk-gateway', () => {
  it('prints usage for no or an unknown command', async () => {
    const io = capture();
    expect(await main([])).toBe(2);
    expect(await main(['frobnicate'])).toBe(2);
    expect(io.err()).toMatch(/unknown command "frobnicate"/);
    expect(await main(['start'])).toBe(2);
    expect(io.err()).toMatch(/no config file/);
  });
});

describe('the installed dingtalk-gateway command (package.json bin)', () => {
  // Run as a shell runs it (its shebang, its mode), against the build (turbo builds before testing).
  const bin = new URL('../../bin/dingtalk-gateway.js', import.meta.url).pathname;

  it('runs the CLI and exits with its status', () => {
    const checked = spawnSync(bin, ['check-config', exampleConfig], { encoding: 'utf8' });
    expect(checked.status).toBe(0);
    expect(checked.stdout).toContain(`${exampleConfig}: OK`);
    const unknown = spawnSync(bin, ['frobnicate'], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('dingtalk-gateway usage', () => {
  it("prints each org's month, its tenants' calls and what is left, from the ledger file beside the config", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtg-usage-'));
    const file = join(dir, 'gateway.yaml');
    const tenant = (name: string, allocation: string) =>
      [`  ${name}:`, `    name: ${name}`, '    app: a', `    apiKeys: [{ sha256: "${sha256Hex(name)}" }]`, '    scopes: [Wiki.Workspace.Read]', '    rateLimit: { rate: 1, burst: 1 }', allocation].filter(Boolean).join('\n');
    writeFileSync(
      file,
      ['orgs:', '  acme: { corpId: dingacme, monthlyCallQuota: 1000 }', 'apps:', '  a: { type: internal, appKey: k, appSecretEnv: A_SECRET }', 'tenants:', tenant('wiki', '    monthlyAllocation: 300'), tenant('docs', ''), tenant('drive', ''), ''].join('\n'),
    );
    const orgs = { acme: { used: 412, poolUsed: 40, tenants: { wiki: { used: 372, operations: { listWorkspaces: 300, getWorkspace: 72 } }, docs: { used: 40, operations: { addWorkspace: 40 } } } } };
    writeFileSync(join(dir, 'ledger.json'), JSON.stringify({ version: 1, months: { '2026-11': orgs } }));
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => out.push(String(chunk)) > 0);
    expect(await main(['usage', '--config', file, '--month', '2026-11'])).toBe(0);
    expect(out.join('')).toBe(
      [
        '2026-11 (China Standard Time; the next month starts at 2026-12-01T00:00+08:00)',
        '',
        'org acme (dingacme): 412 of 1,000 calls used, 588 left',
        '  tenant wiki: 372 of its allocation of 300, 0 left  (listWorkspaces 300, getWorkspace 72)',
        '  pool: 40 of 700, 588 left, shared by:',
        '    tenant docs: 40  (addWorkspace 40)',
        '    tenant drive: 0',
        '',
      ].join('\n'),
    );
    const io = capture();
    expect(await main(['usage', '--config', file, '--month', '2026-10', '--json'])).toBe(0);
    expect(JSON.parse(io.out()).rows[0]).toEqual({ org: 'acme', kind: 'org', used: 0, limit: 1000, left: 1000, operations: {} });
    expect(await main(['usage', '--config', file, '--month', '26-10'])).toBe(2);
    expect(io.err()).toMatch(/--month must be a month as YYYY-MM/);
  });
});
