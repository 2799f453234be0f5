/**
 * The monthly call quota with real processes: two gateway instances sharing the ledger in a real
 * Redis, one org of 200 calls, two tenants with allocations and one on the pool, all driven past
 * their limits through both instances, one instance restarted halfway. Used never passes an
 * allocation, the pool or the quota; the ledger equals the sandbox's own count of metered calls
 * exactly; nothing is lost across the restart; DingTalk never has to refuse for the quota.
 */
import { RedisQuotaLedger } from '@dingtalk-gateway/call-quota/redis';
import { type RunningSandbox, startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { checkRedis, redisForTests } from '@dingtalk-gateway/test-support';
import { monthOf } from '@dingtalk-gateway/call-quota';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mintApiKey } from '@dingtalk-gateway/gateway';
import { type GatewayProcess, startGatewayProcess } from '../processes/index.js';

vi.setConfig({ testTimeout: 60_000 }); // real processes

const unreachable = await checkRedis();
const TENANTS = { alpha: 80, beta: 60, gamma: undefined } as const; // gamma: the pool, 200 - 80 - 60 = 60
const keys = Object.fromEntries(Object.keys(TENANTS).map((tenant) => [tenant, mintApiKey()])) as Record<keyof typeof TENANTS, ReturnType<typeof mintApiKey>>;
const prefix = `dtg:test:quota:${process.pid}:${Date.now()}:`;
const listPath = `/v2.0/wiki/workspaces?operatorId=${seeded.users.alice.unionId}&maxResults=1`;
let sandbox: RunningSandbox;

function config(): string {
  const tenant = (id: keyof typeof TENANTS) =>
    `  ${id}: { name: ${id}, app: full, apiKeys: [{ sha256: "${keys[id].sha256}" }], scopes: [Wiki.Workspace.Read], rateLimit: { rate: 100000, burst: 100000 }${TENANTS[id] === undefined ? '' : `, monthlyAllocation: ${TENANTS[id]}`} }`;
  return [
    'server: { port: 0, shutdownGraceMs: 3000 }',
    `upstream: { baseUrl: '${sandbox.url}' }`,
    'dingtalk: { qpsLimit: 100000 }',
    `orgs: { acme: { corpId: ${seeded.orgs.sandbox.corpId}, monthlyCallQuota: 200 } }`,
    'apps:',
    `  full: { type: internal, appKey: ${seeded.apps.full.appKey}, appSecretEnv: FULL_SECRET }`,
    'tenants:',
    tenant('alpha'),
    tenant('beta'),
    tenant('gamma'),
    `redis: { url: '${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}', keyPrefix: '${prefix}' }`,
    'observability: { logLevel: warn, metrics: { port: 0 } }',
  ].join('\n');
}

const start = () => startGatewayProcess({ config: config(), env: { FULL_SECRET: seeded.apps.full.appSecret } });

/** `count` calls of one tenant, over `urls` in turn, 6 at a time; the statuses and codes. */
async function calls(tenant: keyof typeof TENANTS, urls: string[], count: number): Promise<Array<{ status: number; code: string | undefined; dingtalk: boolean }>> {
  const results: Array<{ status: number; code: string | undefined; dingtalk: boolean }> = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const response = await fetch(urls[i % urls.length]! + listPath, { headers: { authorization: `Bearer ${keys[tenant].key}` } });
      const body = (await response.json()) as { code?: string };
      results.push({ status: response.status, code: body.code, dingtalk: response.headers.has('x-acs-request-id') });
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return results;
}

beforeAll(async () => {
  // DingTalk's own count of the org's month: the same 200 (the gateway must never let it say so).
  sandbox = await startSandbox({ qpsLimit: 100_000, monthlyCallQuota: 200 });
});
afterAll(() => sandbox.close());

describe.skipIf(unreachable)('the monthly call quota across instances (real processes, real Redis)', () => {
  const redis = redisForTests(prefix);

  it('never passes an allocation, the pool or the quota; the ledger equals DingTalk\'s count; a restart loses nothing', async () => {
    let a: GatewayProcess | undefined;
    let b: GatewayProcess | undefined;
    let a2: GatewayProcess | undefined;
    try {
      [a, b] = await Promise.all([start(), start()]);
      // Half the load through both instances, all tenants at once.
      const first = await Promise.all((['alpha', 'beta', 'gamma'] as const).map((tenant) => calls(tenant, [a!.url, b!.url], 50)));
      // One instance restarted between the halves (SIGTERM: it finishes what it has, then exits).
      expect(await a.stop()).toBe(0);
      a2 = await start();
      const second = await Promise.all((['alpha', 'beta', 'gamma'] as const).map((tenant) => calls(tenant, [a2!.url, b!.url], 100)));

      const all = { alpha: [...first[0]!, ...second[0]!], beta: [...first[1]!, ...second[1]!], gamma: [...first[2]!, ...second[2]!] };
      const admitted = Object.fromEntries(Object.entries(all).map(([tenant, results]) => [tenant, results.filter((r) => r.status === 200).length]));
      expect(admitted).toEqual({ alpha: 80, beta: 60, gamma: 60 });
      for (const results of Object.values(all)) {
        const refused = results.filter((r) => r.status !== 200);
        expect(new Set(refused.map((r) => `${r.status} ${r.code} ${r.dingtalk ? 'DingTalk' : 'gateway'}`))).toEqual(new Set(['429 gateway.quota.tenant gateway']));
      }

      const month = monthOf(Date.now());
      const ledger = await new RedisQuotaLedger({ redis: redis.admin, prefix, timeoutMs: 2_000 }).orgUsage('acme', month);
      const counted = sandbox.sandbox.counters.snapshot().metered[seeded.orgs.sandbox.corpId]?.[month];
      expect(counted).toBe(200);
      expect(ledger).toMatchObject({ used: 200, poolUsed: 60, tenants: { alpha: { used: 80 }, beta: { used: 60 }, gamma: { used: 60 } } });
      // One more call: the org's month is spent, answered by the gateway without calling DingTalk.
      const beforeCalls = sandbox.sandbox.counters.snapshot().byOperation.listWorkspaces;
      expect((await calls('alpha', [b.url], 1))[0]).toEqual({ status: 429, code: 'gateway.quota.tenant', dingtalk: false });
      expect(sandbox.sandbox.counters.snapshot().byOperation.listWorkspaces).toBe(beforeCalls);
    } finally {
      await Promise.all([a, b, a2].map((g) => g?.stop()));
    }
  });
});
