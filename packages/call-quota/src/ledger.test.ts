/**
 * Every ledger keeps the same promises (the memory one, the Redis one, the Redis one behind its
 * fallback): reservations never pass the org's quota, a tenant's allocation or the pool; releases
 * give calls back; DingTalk's "spent" holds until the quota is raised past it; months are apart.
 * The Redis ones run against the real Redis at REDIS_URL (required when CI=true).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisRequestLimiter } from '@dingtalk-gateway/rate-limiter/redis';
import { checkRedis, redisForTests, refusedRedis, withHungRedis } from '@dingtalk-gateway/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { fileLedgerPersistence } from './file.js';
import type { QuotaAccount, QuotaLedger } from './interface.js';
import { type Month, monthStart } from './month.js';
import { MemoryQuotaLedger } from './memory.js';
import { LEDGER_COMPANION, RedisQuotaLedger, withLedgerFallback } from './redis.js';

const MONTH = '2026-12';
/** Org `acme`: 100 calls; `wiki` may use 30 of them, `docs` 20; the pool of 50 is for the others. */
const account = (tenant: string, overrides: Partial<QuotaAccount> = {}): QuotaAccount => ({
  org: 'acme',
  quota: 100,
  tenant,
  allocation: tenant === 'wiki' ? 30 : tenant === 'docs' ? 20 : undefined,
  pool: 50,
  ...overrides,
});

async function reserveMany(ledger: QuotaLedger, who: QuotaAccount, times: number, operationId = 'listWorkspaces') {
  const results = await Promise.all(Array.from({ length: times }, () => ledger.reserve(who, operationId, MONTH)));
  return { granted: results.filter((r) => r.granted).length, refused: results.filter((r) => !r.granted) };
}

/** The behaviour every ledger has; `make` gives a fresh, empty one. */
function behavesAsALedger(make: () => QuotaLedger | Promise<QuotaLedger>) {
  it('grants a tenant its allocation and no more, saying what is left', async () => {
    const ledger = await make();
    const first = await ledger.reserve(account('wiki'), 'addWorkspace', MONTH);
    expect(first).toEqual({ granted: true, limit: 30, remaining: 29, used: 1, orgUsed: 1 });
    const { granted, refused } = await reserveMany(ledger, account('wiki'), 40);
    expect(granted).toBe(29);
    expect(refused[0]).toEqual({ granted: false, spent: 'tenant', used: 30, limit: 30 });
    expect((await ledger.usage(MONTH)).orgs.acme).toMatchObject({ used: 30, poolUsed: 0, tenants: { wiki: { used: 30, operations: { addWorkspace: 1, listWorkspaces: 29 } } } });
    expect(await ledger.orgUsage('acme', MONTH)).toEqual((await ledger.usage(MONTH)).orgs.acme);
    expect(await ledger.orgUsage('nobody', MONTH)).toEqual({ used: 0, poolUsed: 0, tenants: {} });
  });

  it('shares the pool between the tenants without an allocation, first come', async () => {
    const ledger = await make();
    expect((await reserveMany(ledger, account('a'), 30)).granted).toBe(30);
    const b = await reserveMany(ledger, account('b'), 30);
    expect(b.granted).toBe(20);
    expect(b.refused[0]).toEqual({ granted: false, spent: 'pool', used: 50, limit: 50 });
    // The allocated tenants keep their own calls whatever the pool did.
    expect((await reserveMany(ledger, account('docs'), 25)).granted).toBe(20);
    expect((await ledger.usage(MONTH)).orgs.acme).toMatchObject({ used: 70, poolUsed: 50 });
  });

  it("never passes the org's quota, even when it is lowered under what the allocations add up to", async () => {
    const ledger = await make();
    expect((await reserveMany(ledger, account('wiki'), 30)).granted).toBe(30);
    const lowered = account('docs', { quota: 40 });
    const docs = await reserveMany(ledger, lowered, 20);
    expect(docs.granted).toBe(10);
    expect(docs.refused[0]).toEqual({ granted: false, spent: 'org', used: 40, limit: 40 });
  });

  it('gives released calls back', async () => {
    const ledger = await make();
    expect((await reserveMany(ledger, account('docs'), 20)).granted).toBe(20);
    expect((await ledger.reserve(account('docs'), 'addSpace', MONTH)).granted).toBe(false);
    await ledger.release(account('docs'), 'listWorkspaces', MONTH, 2);
    expect((await reserveMany(ledger, account('docs'), 3)).granted).toBe(2);
    await ledger.release(account('x'), 'listWorkspaces', MONTH);
    expect((await ledger.usage(MONTH)).orgs.acme).toMatchObject({ used: 19, poolUsed: -1 });
  });

  it("answers a tenant whose own limit is spent with that limit, even when the org's is spent too", async () => {
    const ledger = await make();
    expect((await reserveMany(ledger, account('docs'), 20)).granted).toBe(20);
    await ledger.orgSpent('acme', MONTH, 100);
    expect(await ledger.reserve(account('docs'), 'addSpace', MONTH)).toEqual({ granted: false, spent: 'tenant', used: 20, limit: 20 });
    expect(await ledger.reserve(account('wiki'), 'addSpace', MONTH)).toEqual({ granted: false, spent: 'org', used: 20, limit: 100 });
  });

  it('keeps the month spent when DingTalk says so, until the quota is raised past it', async () => {
    const ledger = await make();
    await ledger.orgSpent('acme', MONTH, 100);
    expect(await ledger.reserve(account('wiki'), 'addSpace', MONTH)).toEqual({ granted: false, spent: 'org', used: 0, limit: 100 });
    expect((await ledger.reserve(account('wiki', { quota: 101 }), 'addSpace', MONTH)).granted).toBe(true);
    // Another org, another month: untouched.
    expect((await ledger.reserve(account('wiki', { org: 'other' }), 'addSpace', MONTH)).granted).toBe(true);
    expect((await ledger.reserve(account('wiki'), 'addSpace', '2027-01')).granted).toBe(true);
    expect((await ledger.usage(MONTH)).orgs.acme!.spentAtQuota).toBe(100);
  });

  it('counts every month apart', async () => {
    const ledger = await make();
    expect((await reserveMany(ledger, account('docs'), 20)).granted).toBe(20);
    expect((await ledger.reserve(account('docs'), 'addSpace', '2027-01')).granted).toBe(true);
    expect((await ledger.usage('2027-01')).orgs.acme!.used).toBe(1);
    expect((await ledger.usage('2026-11')).orgs).toEqual({});
  });
}

describe('MemoryQuotaLedger', () => {
  behavesAsALedger(() => new MemoryQuotaLedger());

  it('decides at once, without a promise (the request path awaits nothing for it)', () => {
    const ledger = new MemoryQuotaLedger();
    expect(ledger.reserve(account('wiki'), 'addSpace', MONTH)).not.toBeInstanceOf(Promise);
  });
});

describe('MemoryQuotaLedger in a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'call-ledger-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const file = () => join(dir, `ledger-${++n}.json`);

  behavesAsALedger(() => new MemoryQuotaLedger({ persistence: fileLedgerPersistence(file()) }));

  it('survives a restart: what was written is read back, and counting goes on from it', () => {
    const path = file();
    const first = new MemoryQuotaLedger({ persistence: fileLedgerPersistence(path) });
    for (let i = 0; i < 12; i++) first.reserve(account('wiki'), 'addWorkspace', MONTH);
    first.orgSpent('acme', '2026-11', 100);
    first.close();
    const second = new MemoryQuotaLedger({ persistence: fileLedgerPersistence(path) });
    expect(second.usage(MONTH).orgs.acme).toMatchObject({ used: 12, tenants: { wiki: { used: 12 } } });
    expect(second.usage('2026-11').orgs.acme!.spentAtQuota).toBe(100);
    expect([...Array(30)].filter(() => second.reserve(account('wiki'), 'addWorkspace', MONTH).granted)).toHaveLength(18);
    second.close();
  });

  it('writes on its own every flushEveryMs, only when something changed; a crash loses only what came since', async () => {
    const path = file();
    const ledger = new MemoryQuotaLedger({ persistence: fileLedgerPersistence(path), flushEveryMs: 20 });
    ledger.reserve(account('wiki'), 'addWorkspace', MONTH);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(JSON.parse(readFileSync(path, 'utf8')).months[MONTH].acme.used).toBe(1);
    // Counted after the last write and never written (the process dies without close()):
    ledger.reserve(account('wiki'), 'addWorkspace', MONTH);
    const crashed = JSON.parse(readFileSync(path, 'utf8'));
    expect(crashed.months[MONTH].acme.used).toBe(1);
    ledger.close();
    expect(JSON.parse(readFileSync(path, 'utf8')).months[MONTH].acme.used).toBe(2);
  });

  it('refuses to start on a file that is not a ledger, rather than count from zero', () => {
    const path = file();
    writeFileSync(path, '{"something":"else"}');
    expect(() => new MemoryQuotaLedger({ persistence: fileLedgerPersistence(path) })).toThrow(/is not a call ledger/);
    writeFileSync(path, '{"version":1,"mon');
    expect(() => new MemoryQuotaLedger({ persistence: fileLedgerPersistence(path) })).toThrow(SyntaxError);
  });

  it('keeps the newest 13 months', () => {
    const path = file();
    const ledger = new MemoryQuotaLedger({ persistence: fileLedgerPersistence(path) });
    // Fifteen months, 2026-01 to 2027-03.
    for (let i = 0; i < 15; i++) ledger.reserve(account('wiki'), 'addSpace', `${2026 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`);
    ledger.close();
    expect(Object.keys(JSON.parse(readFileSync(path, 'utf8')).months).sort()).toEqual(['2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10', '2026-11', '2026-12', '2027-01', '2027-02', '2027-03']);
  });
});

const unreachable = await checkRedis();

describe.skipIf(unreachable)('RedisQuotaLedger (real Redis)', () => {
  const redis = redisForTests('dtg-test:ledger:');
  let n = 0;
  const make = () => new RedisQuotaLedger({ redis: redis.admin, prefix: `dtg-test:ledger:${process.pid}:${++n}:`, timeoutMs: 1000 });

  behavesAsALedger(make);

  describe("with its reservations made in the limits' script run (LEDGER_COMPANION)", () => {
    // A ledger whose `reserve` is the companion of a RedisRequestLimiter's script (with no checks:
    // the limits' own decisions are RedisRequestLimiter's tests): the same promises as `reserve`.
    behavesAsALedger(() => {
      const ledger = make();
      const limiter = new RedisRequestLimiter({ redis: redis.admin, ratePrefix: 'dtg-test:ledger:rl:', windowPrefix: 'dtg-test:ledger:rlw:', timeoutMs: 1000, companion: LEDGER_COMPANION });
      const viaLimits: QuotaLedger = {
        async reserve(account: QuotaAccount, operationId: string, month: Month) {
          const { companion } = await limiter.checkWith([], ledger.reservationCall(account, operationId, month));
          return ledger.reservationOf(account, companion!).reservation;
        },
        release: (...args) => ledger.release(...args),
        orgSpent: (...args) => ledger.orgSpent(...args),
        usage: (month) => ledger.usage(month),
        orgUsage: (org, month) => ledger.orgUsage(org, month),
        close: () => ledger.close(),
      };
      return viaLimits;
    });
  });

  it('decides the calls of one event-loop turn in one script run, in arrival order, as if each came alone', async () => {
    const ledger = make();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => ledger.reserve(account(i < 35 ? 'wiki' : 'a'), i % 2 ? 'addSpace' : 'getWorkspace', MONTH)));
    // wiki's allocation is 30: its first 30 calls, in the order they were made, then refused; a's go to the pool.
    expect(results.map((r) => r.granted)).toEqual([...Array(30).fill(true), ...Array(5).fill(false), ...Array(5).fill(true)]);
    expect(results.slice(0, 30).map((r) => (r.granted ? r.remaining : -1))).toEqual(Array.from({ length: 30 }, (_, i) => 29 - i));
    expect(await ledger.orgUsage('acme', MONTH)).toMatchObject({ used: 35, poolUsed: 5, tenants: { wiki: { used: 30, operations: { addSpace: 15, getWorkspace: 15 } } } });
  });

  it("keeps a month's hash until 400 days after the month ends, whichever script made it", async () => {
    const prefix = `dtg-test:ledger:${process.pid}:expiry:`;
    const ledger = new RedisQuotaLedger({ redis: redis.admin, prefix, timeoutMs: 1000 });
    const expiresAt = (org: string) => redis.admin.pexpiretime(`${prefix}quota:${org}:2026-11`);
    const keptUntil = monthStart('2026-12') + 400 * 24 * 60 * 60 * 1000;
    await ledger.reserve(account('wiki'), 'addSpace', '2026-11');
    await ledger.reserve(account('wiki'), 'addSpace', '2026-11');
    await ledger.release(account('wiki'), 'addSpace', '2026-11');
    expect(await expiresAt('acme')).toBe(keptUntil);
    // A month DingTalk said is spent before the gateway counted anything in it, then counted.
    await ledger.orgSpent('other', '2026-11', 100);
    await ledger.reserve(account('wiki', { org: 'other' }), 'addSpace', '2026-11');
    expect(await expiresAt('other')).toBe(keptUntil);
    // A new hash counted by several requests of one script run.
    await Promise.all([ledger.reserve(account('wiki', { org: 'third' }), 'addSpace', '2026-11'), ledger.reserve(account('a', { org: 'third' }), 'addSpace', '2026-11')]);
    expect(await expiresAt('third')).toBe(keptUntil);
    // A run that counted nothing (every request refused) leaves no hash behind.
    const refused = await Promise.all([ledger.reserve(account('wiki', { org: 'none', allocation: 0 }), 'addSpace', '2026-11'), ledger.reserve(account('a', { org: 'none', pool: 0 }), 'addSpace', '2026-11')]);
    expect(refused.map((r) => r.granted)).toEqual([false, false]);
    expect(await redis.admin.exists(`${prefix}quota:none:2026-11`)).toBe(0);
  });

  it('never passes a limit under concurrency from several clients (one atomic script per call)', async () => {
    const prefix = `dtg-test:ledger:${process.pid}:concurrent:`;
    const ledgers = Array.from({ length: 4 }, () => new RedisQuotaLedger({ redis: redis.client(), prefix, timeoutMs: 2000 }));
    const results = await Promise.all(ledgers.flatMap((ledger) => Array.from({ length: 50 }, (_, i) => ledger.reserve(account(i % 2 ? 'wiki' : 'a'), 'addSpace', MONTH))));
    expect(results.filter((r) => r.granted)).toHaveLength(30 + 50);
    const usage = (await ledgers[0]!.usage(MONTH)).orgs.acme!;
    expect(usage).toMatchObject({ used: 80, poolUsed: 50, tenants: { wiki: { used: 30 }, a: { used: 50 } } });
  });

  it('keeps counts made while Redis was away, and adds them when it is back (local mode)', async () => {
    const prefix = `dtg-test:ledger:${process.pid}:fallback:`;
    const shared = new RedisQuotaLedger({ redis: redis.admin, prefix, timeoutMs: 1000 });
    // The instance saw 25 of wiki's 30 calls counted in Redis before it went away.
    for (let i = 0; i < 25; i++) await shared.reserve(account('wiki'), 'addSpace', MONTH);
    let down = false;
    const flaky = new Proxy(shared, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => (down ? refusedLedgerCall() : (value as (...a: unknown[]) => unknown).apply(target, args));
      },
    });
    let recovered = 0;
    const ledger = withLedgerFallback(flaky as RedisQuotaLedger, { probeIntervalMs: 1, onRecover: () => recovered++ });
    expect((await ledger.reserve(account('wiki'), 'addSpace', MONTH)).granted).toBe(true);
    down = true;
    const during = await Promise.all(Array.from({ length: 10 }, () => ledger.reserve(account('wiki'), 'addSpace', MONTH)));
    // What was left (30 - 26 = 4) is spent locally, no more.
    expect(during.filter((r) => r.granted)).toHaveLength(4);
    expect(ledger.state).toBe('fallback');
    expect(ledger.pendingCalls).toBe(4);
    down = false;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const after = await ledger.reserve(account('wiki'), 'addSpace', MONTH);
    await ledger.close();
    expect(recovered).toBe(1);
    expect(after.granted).toBe(false);
    expect(ledger.pendingCalls).toBe(0);
    expect((await shared.usage(MONTH)).orgs.acme!.tenants.wiki!.used).toBe(30);
  });

  it('refuses while Redis is away in closed mode, and answers a hung Redis within its deadline', async () => {
    const closed = withLedgerFallback(new RedisQuotaLedger({ redis: refusedRedis(), timeoutMs: 100 }), { mode: 'closed' });
    await expect(closed.reserve(account('wiki'), 'addSpace', MONTH)).rejects.toThrow(/whenDown is closed/);
    await withHungRedis(async (hung) => {
      const started = performance.now();
      const ledger = withLedgerFallback(new RedisQuotaLedger({ redis: hung, timeoutMs: 50 }));
      expect((await ledger.reserve(account('wiki'), 'addSpace', MONTH)).granted).toBe(true);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(ledger.state).toBe('fallback');
    });
  });
});

async function refusedLedgerCall(): Promise<never> {
  const { RateLimiterUnavailableError } = await import('@dingtalk-gateway/rate-limiter');
  throw new RateLimiterUnavailableError('error', 'call ledger: Redis call failed: connection refused (test)');
}
