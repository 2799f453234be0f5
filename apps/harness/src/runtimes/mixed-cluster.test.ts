/**
 * A mixed cluster: the gateway on Node, Bun and Deno at once, as real processes on one Redis,
 * behaves as one gateway: one DingTalk token for all, one tenant budget across them.
 */
import { mintApiKey } from '@dingtalk-gateway/gateway';
import { type RunningSandbox, startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { REDIS_URL, checkRedis } from '@dingtalk-gateway/test-support';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type GatewayProcess, type Runtime, startGatewayProcess } from '../processes/index.js';
import { sandboxConfigHead } from '../sandbox-config.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const unreachable = await checkRedis();
const RUNTIMES: readonly Runtime[] = ['node', 'bun', 'deno'];
const BURST = 12;
const key = mintApiKey();
const path = `/v2.0/wiki/workspaces/${seeded.workspaces.handbook.workspaceId}?operatorId=${seeded.users.alice.unionId}`;
let sandbox: RunningSandbox;
let gateways: GatewayProcess[] = [];

beforeAll(async () => {
  if (unreachable) return;
  sandbox = await startSandbox({ qpsLimit: 100_000 });
  // One refill in a day: the budget is the burst, whatever the test's pace.
  const yaml = [
    ...sandboxConfigHead(sandbox.url, '{ port: 0, shutdownGraceMs: 2000 }'),
    `  team: { name: Team, app: full, apiKeys: [{ sha256: "${key.sha256}" }], scopes: [Wiki.Workspace.Read], rateLimit: { rate: 0.00001, burst: ${BURST} } }`,
    `redis: { url: '${REDIS_URL}', keyPrefix: 'dtg:test:mixed:${process.pid}:${Date.now()}:' }`,
    'observability: { logLevel: warn, metrics: { port: 0 } }',
  ].join('\n');
  gateways = await Promise.all(RUNTIMES.map((runtime) => startGatewayProcess({ runtime, config: yaml, env: { FULL_SECRET: seeded.apps.full.appSecret } })));
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await sandbox?.close();
});

describe.skipIf(unreachable)('Node, Bun and Deno instances sharing one Redis', () => {
  it('fetch one DingTalk token between them and admit one tenant budget, not one each', async () => {
    const statuses = await Promise.all(
      Array.from({ length: BURST * RUNTIMES.length }, (_, i) => fetch(gateways[i % gateways.length]!.url + path, { headers: { authorization: `Bearer ${key.key}` } }).then((r) => r.status)),
    );
    const admitted = statuses.filter((status) => status === 200).length;
    expect(admitted, `answers: ${statuses.join(' ')}`).toBe(BURST);
    expect(statuses.filter((status) => status !== 200).every((status) => status === 429)).toBe(true);
    expect(sandbox.sandbox.counters.snapshot().byOperation.getAccessToken ?? 0).toBe(1);
    // Once it is spent, every runtime refuses: one budget between them, not one each.
    const perInstance = await Promise.all(gateways.map(async (g) => (await fetch(g.url + path, { headers: { authorization: `Bearer ${key.key}` } })).status));
    expect(perInstance).toEqual([429, 429, 429]);
  });
});
