/**
 * One instance without Redis keeps its monthly call counts in `ledger.file`, written every
 * `flushEveryMs`: killed with SIGKILL under load, it loses at most the calls counted since the
 * last write (never the month); restarted on the same file, it counts on from it; stopped with
 * SIGTERM, it loses nothing. The sandbox's own count of metered calls is the reference.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monthOf } from '@dingtalk-gateway/call-quota';
import { type RunningSandbox, startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mintApiKey } from '@dingtalk-gateway/gateway';
import { startGatewayProcess } from '../processes/index.js';
import { sandboxConfigHead } from '../sandbox-config.js';

vi.setConfig({ testTimeout: 60_000 }); // real processes

const FLUSH_EVERY_MS = 500;
const WORKERS = 6;
const key = mintApiKey();
const ledgerFile = join(mkdtempSync(join(tmpdir(), 'dtg-ledger-crash-')), 'ledger.json');
const listPath = `/v2.0/wiki/workspaces?operatorId=${seeded.users.alice.unionId}&maxResults=1`;
let sandbox: RunningSandbox;

const config = () =>
  [
    ...sandboxConfigHead(sandbox.url, '{ port: 0, shutdownGraceMs: 3000 }'),
    `  team: { name: Team, app: full, apiKeys: [{ sha256: "${key.sha256}" }], scopes: [Wiki.Workspace.Read], rateLimit: { rate: 100000, burst: 100000 } }`,
    `ledger: { file: '${ledgerFile}', flushEveryMs: ${FLUSH_EVERY_MS} }`,
    'observability: { logLevel: warn, metrics: { port: 0 } }',
  ].join('\n');

const start = () => startGatewayProcess({ config: config(), env: { FULL_SECRET: seeded.apps.full.appSecret } });
const month = () => monthOf(Date.now());
const written = (): number => (JSON.parse(readFileSync(ledgerFile, 'utf8')) as { months: Record<string, { default?: { used: number } }> }).months[month()]?.default?.used ?? 0;
const counted = (): number => sandbox.sandbox.counters.snapshot().metered[seeded.orgs.sandbox.corpId]?.[month()] ?? 0;

/** WORKERS callers until `until()`; when each 200 arrived (performance.now()). */
async function load(url: string, until: () => boolean): Promise<number[]> {
  const answered: number[] = [];
  const worker = async () => {
    while (!until()) {
      try {
        const response = await fetch(url + listPath, { headers: { authorization: `Bearer ${key.key}` } });
        await response.arrayBuffer();
        if (response.status === 200) answered.push(performance.now());
      } catch {
        return; // the process is gone
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  return answered;
}

beforeAll(async () => {
  sandbox = await startSandbox({ qpsLimit: 100_000, monthlyCallQuota: 1_000_000 });
});
afterAll(() => sandbox.close());

describe('the ledger file of one instance (a real process)', () => {
  it('loses at most the last write interval of counts to SIGKILL under load, and nothing to a restart or SIGTERM', async () => {
    const gateway = await start();
    let killedAt = Number.POSITIVE_INFINITY;
    const running = load(gateway.url, () => performance.now() >= killedAt);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    killedAt = performance.now();
    await gateway.kill();
    const answered = await running;

    const kept = written();
    const dingtalk = counted();
    // The calls that may have been counted after the last write: answered within one interval
    // (and a margin for the write itself) before the kill, plus those in flight at the kill.
    const atRisk = answered.filter((at) => at >= killedAt - FLUSH_EVERY_MS - 250).length + WORKERS;
    expect(answered.length, 'the load ran').toBeGreaterThan(100);
    expect(kept, 'the month was kept').toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(dingtalk);
    expect(dingtalk - kept, `lost ${dingtalk - kept} of ${dingtalk}; at most ${atRisk} were at risk`).toBeLessThanOrEqual(atRisk);

    // Restarted on the same file: it counts on from what was kept; SIGTERM writes the rest.
    const restarted = await start();
    const more = await load(restarted.url, (() => {
      let left = 60;
      return () => left-- <= 0;
    })());
    expect(await restarted.stop()).toBe(0);
    expect(written() - kept).toBe(counted() - dingtalk);
    expect(written() - kept).toBe(more.length);
  });
});
