/**
 * The ledger shared by every instance: one Redis hash per org and month, changed only by Lua
 * scripts, so that a reservation's check and count are one atomic step whatever the number of
 * instances: concurrent calls can never together pass a limit, and no call is counted twice.
 *
 *   <prefix>quota:<org>:<YYYY-MM>   used, pool (calls of tenants without allocation), spentAt,
 *                                   t:<tenant> (a tenant's calls), o:<tenant>:<operationId>
 *
 * Keys expire 400 days after their month ends (`usage --month` reads a year back).
 *
 * `withLedgerFallback` decides what happens while Redis cannot answer (the rate limiter's
 * `whenDown` modes): `local` counts in the instance against the last counts it saw in Redis,
 * `open` admits and counts, `closed` refuses (`RateLimiterUnavailableError`). Counts made
 * meanwhile are added to Redis when it answers again: nothing is lost, but with N instances the
 * part of a limit that was left may be spent up to N times during the outage.
 *
 * ```ts
 * const ledger = withLedgerFallback(new RedisQuotaLedger({ redis, prefix: 'dtg:' }), { mode: 'local' });
 * ```
 */
import { Circuit, type CircuitState } from '@dingtalk-gateway/circuit-breaker';
import { type FallbackCircuitOptions, RateLimiterUnavailableError } from '@dingtalk-gateway/rate-limiter';
import { callRedis, defineScript } from '@dingtalk-gateway/rate-limiter/redis';
import { Cluster, type Redis } from 'ioredis';
import { type MonthUsage, type OrgUsage, type QuotaAccount, type QuotaLedger, type Reservation, decide } from './interface.js';
import { type Month, monthStart } from './month.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** How long a month's counts are kept after it ends. */
const RETAIN_MS = 400 * DAY_MS;

/**
 * One count on an org-month hash: `quota_count(key, quota, allocation (-1: the pool), pool,
 * tenant, operationId, calls, checked, expire-at ms)`; `calls` is 1 and `checked` true for a
 * reservation, any number unchecked for an addition. Returns 6 values: granted (1|0), the spent
 * limit ('' when granted), then the counts after it: used, pool, the tenant's, spentAt ('' when
 * never said).
 *
 * One script run counts many requests, mostly on one hash: a hash's fields are read once per run
 * (a tenant's the first time the run meets it) and kept by the run, and what the run counted is
 * added by `flush_quota()` at its end, one HINCRBY per field (performance: a run of 14
 * reservations made 70 calls, now 6). Nothing else runs between, so the counts and the decisions
 * are those of counting each at once. The expiry depends on the month alone: set when the hash
 * gets its first count (a hash made by the spent script has its own).
 */
const COUNT_FUNCTION = `
local quota_hashes = {}
local quota_order = {}
local function quota_hash(key, tenant_field)
  local hash = quota_hashes[key]
  if hash == nil then
    local values = redis.call('HMGET', key, 'used', 'pool', 'spentAt', tenant_field)
    hash = { used = tonumber(values[1]) or 0, pool = tonumber(values[2]) or 0, spent_at = values[3] or '', new = not values[1], tenants = {}, added = {} }
    hash.tenants[tenant_field] = tonumber(values[4]) or 0
    quota_hashes[key] = hash
    quota_order[#quota_order + 1] = key
  elseif hash.tenants[tenant_field] == nil then
    hash.tenants[tenant_field] = tonumber(redis.call('HGET', key, tenant_field)) or 0
  end
  return hash
end
local function quota_add(hash, field, calls)
  hash.added[field] = (hash.added[field] or 0) + calls
end
local function quota_count(key, quota, allocation, pool, tenant, operation, calls, checked, expire_at)
  local tenant_field = 't:' .. tenant
  local hash = quota_hash(key, tenant_field)
  local own = allocation >= 0
  if checked then
    local spent = nil
    local spent_at = tonumber(hash.spent_at)
    if own and hash.tenants[tenant_field] >= allocation then spent = 'tenant'
    elseif (not own) and hash.pool >= pool then spent = 'pool'
    elseif hash.used >= quota or (spent_at and spent_at >= quota) then spent = 'org' end
    if spent then return {0, spent, hash.used, hash.pool, hash.tenants[tenant_field], hash.spent_at} end
  end
  hash.used = hash.used + calls
  hash.tenants[tenant_field] = hash.tenants[tenant_field] + calls
  quota_add(hash, 'used', calls)
  quota_add(hash, tenant_field, calls)
  quota_add(hash, 'o:' .. tenant .. ':' .. operation, calls)
  if not own then
    hash.pool = hash.pool + calls
    quota_add(hash, 'pool', calls)
  end
  hash.expire_at = expire_at
  return {1, '', hash.used, hash.pool, hash.tenants[tenant_field], hash.spent_at}
end
local function flush_quota()
  for _, key in ipairs(quota_order) do
    local hash = quota_hashes[key]
    for field, calls in pairs(hash.added) do redis.call('HINCRBY', key, field, calls) end
    if hash.new and hash.expire_at then redis.call('PEXPIREAT', key, hash.expire_at) end
  end
end
`;

/**
 * Counts, in arrival order, the calls of every request of one event-loop turn (see `#send`).
 * KEYS[i]: the org-month hash of the i-th. ARGV, 8 per request: `quota_count`'s arguments after
 * the key. Returns `quota_count`'s 6 values per request.
 */
const COUNT_SCRIPT = `${COUNT_FUNCTION}
local out = {}
for i = 1, #KEYS do
  local a = (i - 1) * 8
  local reply = quota_count(KEYS[i], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), ARGV[a + 4], ARGV[a + 5], tonumber(ARGV[a + 6]), ARGV[a + 7] == '1', ARGV[a + 8])
  for j = 1, 6 do out[#out + 1] = reply[j] end
end
flush_quota()
return out
`;

/**
 * The ledger's reservation as the companion of `RedisRequestLimiter`'s script (its `companion`
 * option): a metered request's call of the month reserved in the same script run as its limits,
 * only if they admit it. Its arguments: `RedisQuotaLedger.reservationCall`; its reply:
 * `RedisQuotaLedger.reservationOf`.
 */
export const LEDGER_COMPANION = {
  name: 'dtgQuotaCountV4',
  lua: `${COUNT_FUNCTION}
local function companion(key, a)
  return quota_count(key, tonumber(a[1]), tonumber(a[2]), tonumber(a[3]), a[4], a[5], tonumber(a[6]), a[7] == '1', a[8])
end
local companion_flush = flush_quota
`,
} as const;

/** KEYS[1] the org-month hash; ARGV: quota, expire-at (ms). spentAt becomes the larger of the two. */
const SPENT_SCRIPT = `
local spent_at = tonumber(redis.call('HGET', KEYS[1], 'spentAt'))
if (not spent_at) or spent_at < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'spentAt', ARGV[1]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`;

type CountReply = [number, string, number, number, number, string];
/** Keys first (their number, then the keys), then 8 arguments per key. */
type CountCommand = (numberOfKeys: number, ...keysAndArgs: Array<string | number>) => Promise<Array<number | string>>;

interface Waiting {
  key: string;
  args: Array<string | number>;
  resolve(reply: CountReply): void;
  reject(error: unknown): void;
}

/** At most this many requests share a script run (as the rate limiter's batches). */
const MAX_BATCH = 64;
type SpentCommand = (key: string, quota: number, expireAt: number) => Promise<number>;

export interface RedisQuotaLedgerOptions {
  redis: Redis | Cluster;
  /** Prepended to every key. Default `dtg:`. */
  prefix?: string;
  /** A call's deadline; past it the call fails with `RateLimiterUnavailableError('timeout')`. Default 50 ms. */
  timeoutMs?: number;
}

/** What Redis counted after a call, for the fallback's picture of the month. */
export interface CountsSeen {
  used: number;
  poolUsed: number;
  tenantUsed: number;
  spentAtQuota: number | undefined;
}

export class RedisQuotaLedger implements QuotaLedger {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #count: CountCommand;
  readonly #spent: SpentCommand;
  /** One script run's keys must share a slot on a Cluster: there, each call runs alone. */
  readonly #maxBatch: number;
  #waiting: Waiting[] = [];
  #scheduled = false;

  constructor(options: RedisQuotaLedgerOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? 'dtg:';
    this.#timeoutMs = options.timeoutMs ?? 50;
    this.#count = defineScript<CountCommand>(this.#redis, 'dtgQuotaCountV4', undefined, COUNT_SCRIPT);
    this.#maxBatch = this.#redis instanceof Cluster ? 1 : MAX_BATCH;
    this.#spent = defineScript<SpentCommand>(this.#redis, 'dtgQuotaSpentV1', 1, SPENT_SCRIPT);
  }

  async reserve(account: QuotaAccount, operationId: string, month: Month): Promise<Reservation> {
    return (await this.reserveSeeing(account, operationId, month)).reservation;
  }

  /** `reserve`, and the counts Redis holds after it. */
  async reserveSeeing(account: QuotaAccount, operationId: string, month: Month): Promise<{ reservation: Reservation; seen: CountsSeen }> {
    return this.reservationOf(account, await this.#run(account, operationId, month, 1, true));
  }

  /** A reservation as `LEDGER_COMPANION`'s call: its key and arguments. */
  reservationCall(account: QuotaAccount, operationId: string, month: Month): { key: string; args: Array<string | number> } {
    return { key: this.#key(account.org, month), args: argsOf(account, operationId, month, 1, true) };
  }

  /** The reservation a count's reply (`LEDGER_COMPANION`'s, or the ledger's own script's) stands for, and the counts Redis holds after it. */
  reservationOf(account: QuotaAccount, reply: ReadonlyArray<number | string>): { reservation: Reservation; seen: CountsSeen } {
    if (reply.length !== 6) throw new RateLimiterUnavailableError('error', `call ledger: unexpected reply from Redis: ${reply.length} values for a count`);
    const seen: CountsSeen = { used: Number(reply[2]), poolUsed: Number(reply[3]), tenantUsed: Number(reply[4]), spentAtQuota: reply[5] === '' ? undefined : Number(reply[5]) };
    if (Number(reply[0]) === 1) {
      // The decision as it was before this call's count: the same rule as every store.
      const before = { used: seen.used - 1, poolUsed: seen.poolUsed - (account.allocation === undefined ? 1 : 0), spentAtQuota: seen.spentAtQuota };
      return { reservation: decide(account, before, seen.tenantUsed - 1), seen };
    }
    return { reservation: decide(account, seen, seen.tenantUsed), seen };
  }

  async release(account: QuotaAccount, operationId: string, month: Month, calls = 1): Promise<void> {
    await this.add(account, operationId, month, -calls);
  }

  /** Adds `calls` (any sign) without checking a limit: for counts made while Redis was away. */
  async add(account: QuotaAccount, operationId: string, month: Month, calls: number): Promise<void> {
    await this.#run(account, operationId, month, calls, false);
  }

  async orgSpent(org: string, month: Month, quota: number): Promise<void> {
    await callRedis(() => this.#spent(this.#key(org, month), quota, expireAt(month)), this.#timeoutMs, 'call ledger');
  }

  async orgUsage(org: string, month: Month): Promise<OrgUsage> {
    return orgUsage(await callRedis(() => this.#redis.hgetall(this.#key(org, month)), this.#timeoutMs, 'call ledger'));
  }

  async usage(month: Month): Promise<MonthUsage> {
    const orgs: Record<string, OrgUsage> = {};
    const pattern = `${this.#prefix}quota:*:${month}`;
    let cursor = '0';
    do {
      const [next, keys] = await (this.#redis as Redis).scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      for (const key of keys) {
        const org = key.slice(`${this.#prefix}quota:`.length, -(month.length + 1));
        orgs[org] = orgUsage(await this.#redis.hgetall(key));
      }
      cursor = next;
    } while (cursor !== '0');
    return { month, orgs };
  }

  close(): void {}

  #key(org: string, month: Month): string {
    return `${this.#prefix}quota:${org}:${month}`;
  }

  /**
   * One count, run with the others of this event-loop turn in one script (performance: one write
   * and one read on the Redis socket for the requests that arrived together, as the rate
   * limiter's batches). Decisions are unchanged: the script counts them in arrival order, as if
   * each had come alone.
   */
  #run(account: QuotaAccount, operationId: string, month: Month, calls: number, checked: boolean): Promise<CountReply> {
    const args = argsOf(account, operationId, month, calls, checked);
    return new Promise<CountReply>((resolve, reject) => {
      this.#waiting.push({ key: this.#key(account.org, month), args, resolve, reject });
      if (this.#waiting.length >= this.#maxBatch) this.#send();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#sendScheduled);
      }
    });
  }

  readonly #sendScheduled = () => {
    this.#scheduled = false;
    this.#send();
  };

  #send(): void {
    const batch = this.#waiting;
    if (batch.length === 0) return;
    this.#waiting = [];
    const keys: string[] = [];
    const args: Array<string | number> = [];
    for (const request of batch) {
      keys.push(request.key);
      for (const arg of request.args) args.push(arg);
    }
    callRedis(() => this.#count(keys.length, ...keys, ...args), this.#timeoutMs, 'call ledger').then(
      (reply) => {
        if (reply.length !== batch.length * 6) {
          const failure = new RateLimiterUnavailableError('error', `call ledger: unexpected reply from Redis: ${reply.length} values for ${batch.length} counts`);
          for (const request of batch) request.reject(failure);
          return;
        }
        batch.forEach((request, i) => request.resolve(reply.slice(i * 6, i * 6 + 6) as CountReply));
      },
      (error: unknown) => {
        for (const request of batch) request.reject(error);
      },
    );
  }
}

/** `quota_count`'s arguments after the key. */
const argsOf = (account: QuotaAccount, operationId: string, month: Month, calls: number, checked: boolean): Array<string | number> => [
  account.quota,
  account.allocation ?? -1,
  account.pool,
  account.tenant,
  operationId,
  calls,
  checked ? 1 : 0,
  expireAt(month),
];

/** When a month's hash expires; the last month asked for is kept (every call of a month asks the same). */
let lastExpiry: { month: Month; at: number } | undefined;
const expireAt = (month: Month): number => {
  if (lastExpiry?.month === month) return lastExpiry.at;
  const [year, number] = month.split('-').map(Number) as [number, number];
  const next = number === 12 ? `${year + 1}-01` : `${year}-${String(number + 1).padStart(2, '0')}`;
  lastExpiry = { month, at: monthStart(next) + RETAIN_MS };
  return lastExpiry.at;
};

function orgUsage(hash: Record<string, string>): OrgUsage {
  const usage: OrgUsage = { used: Number(hash.used ?? 0), poolUsed: Number(hash.pool ?? 0), tenants: {} };
  if (hash.spentAt !== undefined) usage.spentAtQuota = Number(hash.spentAt);
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith('t:')) (usage.tenants[field.slice(2)] ??= { used: 0, operations: {} }).used = Number(value);
    else if (field.startsWith('o:')) {
      const rest = field.slice(2);
      const colon = rest.indexOf(':');
      (usage.tenants[rest.slice(0, colon)] ??= { used: 0, operations: {} }).operations[rest.slice(colon + 1)] = Number(value);
    }
  }
  return usage;
}

export interface LedgerFallbackOptions extends FallbackCircuitOptions {
  /** Called when counts made during an outage could not be added to Redis yet (they are kept and retried). */
  onReplayError?: (error: unknown) => void;
}

export interface FallbackQuotaLedger extends QuotaLedger {
  readonly state: CircuitState;
  /** Counts made while Redis was away and not yet added to it. */
  readonly pendingCalls: number;
  /**
   * Whether a reservation may be made as `LEDGER_COMPANION` in another script now: Redis answers
   * the ledger, and nothing counted meanwhile waits to be added (that goes first, by `reserve`, so
   * that Redis decides on all of it).
   */
  readonly companionReady: boolean;
  /** `RedisQuotaLedger.reservationCall`. */
  reservationCall(account: QuotaAccount, operationId: string, month: Month): { key: string; args: Array<string | number> };
  /** The reservation a companion's reply stands for; its counts are kept as a `reserve`'s are (for `local` mode). */
  reservationOf(account: QuotaAccount, month: Month, reply: ReadonlyArray<number | string>): Reservation;
}

/** The Redis ledger behind the circuit breaker the Redis stores share; see the module comment. */
export function withLedgerFallback(primary: RedisQuotaLedger, options: LedgerFallbackOptions = {}): FallbackQuotaLedger {
  const mode = options.mode ?? 'local';
  /** Per org-month: the last counts Redis answered with. */
  const seen = new Map<string, { org: CountsSeen; tenants: Map<string, number> }>();
  /** Counts not yet in Redis, per account, operation and month. */
  const pending = new Map<string, { account: QuotaAccount; operationId: string; month: Month; calls: number }>();
  const spentPending = new Map<string, { org: string; month: Month; quota: number }>();
  let replaying: Promise<void> | undefined;

  const circuit = new Circuit({ ...options, outage: RateLimiterUnavailableError });

  const remember = (account: QuotaAccount, month: Month, counts: CountsSeen) => {
    const key = `${account.org}\u0000${month}`;
    const entry = seen.get(key) ?? { org: counts, tenants: new Map<string, number>() };
    entry.org = counts;
    entry.tenants.set(account.tenant, counts.tenantUsed);
    seen.set(key, entry);
  };
  const note = (account: QuotaAccount, operationId: string, month: Month, calls: number) => {
    const key = [account.org, account.tenant, operationId, month].join('\u0000');
    const entry = pending.get(key) ?? { account, operationId, month, calls: 0 };
    entry.calls += calls;
    pending.set(key, entry);
  };
  /** What this instance knows the month used: Redis's last answer plus the counts made since. */
  const known = (account: QuotaAccount, month: Month) => {
    const last = seen.get(`${account.org}\u0000${month}`);
    let used = last?.org.used ?? 0;
    let poolUsed = last?.org.poolUsed ?? 0;
    let tenantUsed = last?.tenants.get(account.tenant) ?? 0;
    for (const entry of pending.values()) {
      if (entry.account.org !== account.org || entry.month !== month) continue;
      used += entry.calls;
      if (entry.account.allocation === undefined) poolUsed += entry.calls;
      if (entry.account.tenant === account.tenant) tenantUsed += entry.calls;
    }
    const spent = spentPending.get(`${account.org}\u0000${month}`)?.quota;
    const spentAtQuota = Math.max(last?.org.spentAtQuota ?? 0, spent ?? 0) || undefined;
    return { org: { used, poolUsed, ...(spentAtQuota !== undefined ? { spentAtQuota } : {}) }, tenantUsed };
  };

  /** Adds the counts made while Redis was away to Redis (rejects, keeping what is left, when it cannot). */
  async function replay(): Promise<void> {
    if (replaying) return replaying;
    replaying = (async () => {
      try {
        for (const [key, entry] of [...pending]) {
          if (entry.calls !== 0) await primary.add(entry.account, entry.operationId, entry.month, entry.calls);
          pending.delete(key);
        }
        for (const [key, entry] of [...spentPending]) {
          await primary.orgSpent(entry.org, entry.month, entry.quota);
          spentPending.delete(key);
        }
      } catch (error) {
        options.onReplayError?.(error);
        throw error;
      } finally {
        replaying = undefined;
      }
    })();
    return replaying;
  }

  return {
    get state() {
      return circuit.state;
    },
    get pendingCalls() {
      let calls = 0;
      for (const entry of pending.values()) calls += entry.calls;
      return calls;
    },
    get companionReady() {
      return circuit.state === 'primary' && pending.size === 0 && spentPending.size === 0;
    },
    reservationCall: (account, operationId, month) => primary.reservationCall(account, operationId, month),
    reservationOf(account, month, reply) {
      const { reservation, seen: counts } = primary.reservationOf(account, reply);
      remember(account, month, counts);
      return reservation;
    },
    reserve: (account, operationId, month) =>
      circuit.call(
        async () => {
          // Counts made while Redis was away go in first, so that Redis decides on all of them.
          if (pending.size > 0 || spentPending.size > 0) await replay();
          const { reservation, seen: counts } = await primary.reserveSeeing(account, operationId, month);
          remember(account, month, counts);
          return reservation;
        },
        async () => {
          if (mode === 'closed') throw new RateLimiterUnavailableError('error', 'call ledger: Redis is unavailable and whenDown is closed');
          const now = known(account, month);
          const reservation: Reservation =
            mode === 'open'
              ? { granted: true, limit: account.allocation ?? account.pool, remaining: 0, used: (account.allocation === undefined ? now.org.poolUsed : now.tenantUsed) + 1, orgUsed: now.org.used + 1 }
              : decide(account, now.org, now.tenantUsed);
          if (reservation.granted) note(account, operationId, month, 1);
          return reservation;
        },
      ),
    release: (account, operationId, month, calls = 1) =>
      circuit.call(
        () => primary.release(account, operationId, month, calls),
        async () => note(account, operationId, month, -calls),
      ),
    orgSpent: (org, month, quota) =>
      circuit.call(
        () => primary.orgSpent(org, month, quota),
        async () => {
          const key = `${org}\u0000${month}`;
          spentPending.set(key, { org, month, quota: Math.max(quota, spentPending.get(key)?.quota ?? 0) });
        },
      ),
    usage: (month) => primary.usage(month),
    orgUsage: (org, month) => primary.orgUsage(org, month),
    async close() {
      if (pending.size > 0 || spentPending.size > 0) await replay().catch(() => {});
    },
  };
}
