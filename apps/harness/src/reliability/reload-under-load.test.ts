/**
 * The config reloaded 20 times (SIGHUP) while callers keep the gateway busy: some reloads add and
 * remove a tenant, some files are broken, one changes what only a restart applies. No request
 * fails or is dropped, every broken file is refused with the last good config kept, and a
 * tenant's limit holds across every reload (no fresh burst on a reload).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningSandbox, startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mintApiKey } from '@dingtalk-gateway/gateway';
import { type LoadResult, drive, startGatewayProcess } from '../processes/index.js';
import { sandboxConfigHead } from '../sandbox-config.js';

vi.setConfig({ testTimeout: 60_000 }); // a real process under load

const RELOADS = 20;
const BURST = 15;
const busy = mintApiKey();
const limited = mintApiKey();
const visitor = mintApiKey();
const path = `/v2.0/wiki/workspaces?operatorId=${seeded.users.alice.unionId}&maxResults=1`;
const file = join(mkdtempSync(join(tmpdir(), 'dtg-reload-')), 'gateway.yaml');
let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ qpsLimit: 100_000 });
});
afterAll(() => sandbox.close());

/** The config of reload `n`: the visitor tenant on odd reloads; a different port on the restart-only one. */
function config(n: number, options: { port?: number } = {}): string {
  return [
    ...sandboxConfigHead(sandbox.url, `{ port: ${options.port ?? 0}, shutdownGraceMs: 3000 }`),
    `  busy: { name: Busy, app: full, apiKeys: [{ sha256: "${busy.sha256}" }], scopes: [Wiki.Workspace.Read], rateLimit: { rate: 100000, burst: 100000 } }`,
    // One refill a day: whatever the reloads, this tenant is admitted its burst and no more.
    `  limited: { name: Limited, app: full, apiKeys: [{ sha256: "${limited.sha256}" }], scopes: [Wiki.Workspace.Read], rateLimit: { rate: 0.00001, burst: ${BURST} } }`,
    ...(n % 2 === 1 ? [`  visitor: { name: Visitor ${n}, app: full, apiKeys: [{ sha256: "${visitor.sha256}" }], scopes: [Wiki.Workspace.Read], rateLimit: { rate: 1000, burst: 1000 } }`] : []),
    'observability: { logLevel: warn, metrics: { port: 0 } }',
  ].join('\n');
}

/** Reload `n`'s file: every fifth broken (YAML, then the schema), the eighth a restart-only change, the rest valid. */
function fileFor(n: number): { text: string; applies: boolean } {
  if (n % 5 === 0) return { text: n % 10 === 0 ? 'tenants: [unclosed' : config(n).replace('scopes: [Wiki.Workspace.Read]', 'scopes: Wiki.Workspace.Read'), applies: false };
  if (n === 8) return { text: config(n, { port: 1 }), applies: false };
  return { text: config(n), applies: true };
}

const sum = (result: LoadResult, status: number) => result.statuses.get(status) ?? 0;

describe('SIGHUP under load', () => {
  it(`reloads ${RELOADS} times (some files broken) with no failed or dropped request, and the limits held`, async () => {
    writeFileSync(file, config(0));
    const gateway = await startGatewayProcess({ configFile: file, env: { FULL_SECRET: seeded.apps.full.appSecret } });
    try {
      const load = { urls: [gateway.url], path, durationMs: 4_000, maxRequests: 50_000, timeoutMs: 5_000 };
      const busyLoad = drive({ ...load, key: busy.key, concurrency: 6 });
      const limitedLoad = drive({ ...load, key: limited.key, concurrency: 2 });
      let applied = 0;
      for (let n = 1; n <= RELOADS; n++) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        const next = fileFor(n);
        writeFileSync(file, next.text);
        if (next.applies) applied += 1;
        gateway.child.kill('SIGHUP');
      }
      const [busyResult, limitedResult] = await Promise.all([busyLoad, limitedLoad]);

      expect([...busyResult.statuses.keys()], JSON.stringify([...busyResult.codes])).toEqual([200]);
      expect(sum(busyResult, 200)).toBeGreaterThan(200);
      expect([...limitedResult.statuses.keys()].sort()).toEqual([200, 429]);
      expect(sum(limitedResult, 200)).toBe(BURST);

      // Every SIGHUP was read: each reload answered on stderr, applied or refused with its reason.
      await expect.poll(() => gateway.stderr().match(/^SIGHUP: /gm)?.length ?? 0, { timeout: 5_000 }).toBe(RELOADS);
      const lines = gateway.stderr().split('\n');
      expect(lines.filter((line) => line.startsWith('SIGHUP: config reloaded'))).toHaveLength(applied);
      expect(lines.filter((line) => line.startsWith('SIGHUP: config refused'))).toHaveLength(RELOADS - applied);
      expect(lines.some((line) => line.includes('needs a restart, not a reload: server.port changed'))).toBe(true);
      // A broken file is refused with the error a start would give (file, line and column, the setting).
      expect(gateway.stderr()).toMatch(/config refused, generation \d+ stays in force: .*gateway\.yaml: invalid gateway config \(1 problem\):\n.*gateway\.yaml:7:\d+: tenants\.busy\.scopes: expected array/);
      expect(gateway.stderr()).toMatch(/config refused, generation \d+ stays in force: .*gateway\.yaml: invalid gateway config .*\n.*not valid YAML/);
      const readyz = (await (await fetch(gateway.metricsUrl.replace(/\/metrics$/, '/readyz'))).json()) as { lastReload: { generation: number } };
      expect(readyz.lastReload.generation).toBe(1 + applied);
      const metrics = await (await fetch(gateway.metricsUrl)).text();
      expect(metrics).toMatch(new RegExp(`^dtg_config_generation ${1 + applied}$`, 'm'));
      expect(metrics).toMatch(new RegExp(`^dtg_config_reloads_total\\{outcome="refused"\\} ${RELOADS - applied}$`, 'm'));

      // The last file (reload 20) is broken: reload 19's config is in force, its visitor tenant in it.
      expect((await fetch(gateway.url + path, { headers: { authorization: `Bearer ${visitor.key}` } })).status).toBe(200);
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  });
});
