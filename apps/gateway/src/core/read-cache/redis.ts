/**
 * The read cache shared by every instance, in Redis: entries, the invalidation sequence and the
 * scopes' last invalidations, each decision one Lua script (one round trip, atomic), and a short
 * lock per key so that N instances missing the same read at once make one DingTalk call.
 *
 * - `<prefix>cache:e:<key>`: a hash `{ body, meta, fetchedAt, scopes }`, expiring with its TTL.
 * - `<prefix>cache:seq`: the invalidation sequence. `<prefix>cache:inv:<scope>`: the sequence
 *   number of the scope's last invalidation, kept `keepInvalidationsMs`.
 * - `<prefix>cache:lock:<key>`: who fetches the key now (`lead`), for at most `lockMs`.
 *
 * When Redis cannot answer, the cache is only missed (reads go to DingTalk, nothing is kept), and
 * an invalidation that could not be made is owed: until Redis answers again this instance serves
 * nothing from it, and then first retires every entry kept so far (a new `epoch`), so that no
 * answer the missed invalidation concerned is served after it, by any instance. The calls go
 * through the circuit breaker the Redis stores share: after a failure the store does not wait on
 * Redis, asking it once per `probeIntervalMs` (1 s) until it answers.
 *
 * ```ts
 * const store = new RedisReadCacheStore({ redis, prefix: 'dtg:', keepInvalidationsMs: 10 * 60_000, lockMs: 15_000 });
 * ```
 */
import { Circuit, type CircuitOptions } from '@dingtalk-gateway/circuit-breaker';
import { RateLimiterUnavailableError } from '@dingtalk-gateway/rate-limiter';
import { callRedis, defineScript } from '@dingtalk-gateway/rate-limiter/redis';
import type { Redis } from 'ioredis';
import type { CachedAnswer, ReadCacheStore } from './interface.js';

/**
 * KEYS[1] the entry, KEYS[2] the epoch; ARGV[1] the invalidation key prefix. The entry's fields,
 * or nothing when it is missing, of an older epoch, or stale (then it is deleted).
 */
const GET_SCRIPT = `
local fields = redis.call('HMGET', KEYS[1], 'body', 'meta', 'fetchedAt', 'scopes', 'epoch')
if not fields[1] then return nil end
local epoch = redis.call('GET', KEYS[2]) or '0'
if fields[5] ~= epoch then redis.call('DEL', KEYS[1]) return nil end
local fetched = tonumber(fields[3])
for scope in string.gmatch(fields[4], '[^\\n]+') do
  local at = tonumber(redis.call('GET', ARGV[1] .. scope))
  if at and at > fetched then redis.call('DEL', KEYS[1]) return nil end
end
return {fields[1], fields[2], fields[3], fields[4]}
`;

/** KEYS[1] the entry, KEYS[2] the epoch; ARGV: invalidation prefix, body, meta, fetchedAt, scopes, ttl ms. 1 if kept, 0 if stale. */
const SET_SCRIPT = `
local fetched = tonumber(ARGV[4])
for scope in string.gmatch(ARGV[5], '[^\\n]+') do
  local at = tonumber(redis.call('GET', ARGV[1] .. scope))
  if at and at > fetched then return 0 end
end
local epoch = redis.call('GET', KEYS[2]) or '0'
redis.call('HSET', KEYS[1], 'body', ARGV[2], 'meta', ARGV[3], 'fetchedAt', ARGV[4], 'scopes', ARGV[5], 'epoch', epoch)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
`;

/**
 * KEYS[1] the sequence, KEYS[2] the epoch; ARGV: invalidation prefix, keep ms, new epoch (1|0),
 * then the scopes. Takes the next number of the sequence for every scope; with ARGV[3] = 1 also
 * retires every entry (a new epoch: an invalidation owed since an outage).
 */
const INVALIDATE_SCRIPT = `
local sequence = redis.call('INCR', KEYS[1])
if ARGV[3] == '1' then redis.call('INCR', KEYS[2]) end
for i = 4, #ARGV do redis.call('SET', ARGV[1] .. ARGV[i], sequence, 'PX', ARGV[2]) end
return sequence
`;

type GetCommand = (entry: string, epoch: string, invalidationPrefix: string) => Promise<[Buffer, Buffer, Buffer, Buffer] | null>;
type SetCommand = (entry: string, epoch: string, invalidationPrefix: string, body: Buffer, meta: string, fetchedAt: number, scopes: string, ttlMs: number) => Promise<number>;
type InvalidateCommand = (sequence: string, epoch: string, invalidationPrefix: string, keepMs: number, newEpoch: number, ...scopes: string[]) => Promise<number>;

/** `onTrip` and `onRecover` report an outage once each; `probeIntervalMs` and `clock` pace the probes. */
export interface RedisReadCacheStoreOptions extends Omit<CircuitOptions<RateLimiterUnavailableError>, 'outage'> {
  redis: Redis;
  /** Prepended to every key. Default `dtg:`. */
  prefix?: string;
  /** How long an invalidation is remembered (see `cachePlanOf`). */
  keepInvalidationsMs: number;
  /** How long one instance may fetch a key while the others wait for its answer. */
  lockMs: number;
  /** A call's deadline; past it the cache is missed. Default 50 ms. */
  timeoutMs?: number;
}

/** What an entry's `meta` field holds. */
interface Meta {
  headers: Array<[string, string]>;
  storedAt: number;
}

export class RedisReadCacheStore implements ReadCacheStore {
  readonly #redis: Redis;
  readonly #keys: { entry: string; sequence: string; epoch: string; invalidation: string; lock: string };
  readonly #options: RedisReadCacheStoreOptions;
  readonly #get: GetCommand;
  readonly #set: SetCommand;
  readonly #invalidate: InvalidateCommand;
  readonly #circuit: Circuit<RateLimiterUnavailableError>;
  /** An invalidation could not be made: serve nothing from Redis until one is (with a new epoch). */
  #owed = false;

  constructor(options: RedisReadCacheStoreOptions) {
    this.#options = options;
    this.#redis = options.redis;
    this.#circuit = new Circuit({ ...options, outage: RateLimiterUnavailableError });
    const prefix = `${options.prefix ?? 'dtg:'}cache:`;
    this.#keys = { entry: `${prefix}e:`, sequence: `${prefix}seq`, epoch: `${prefix}epoch`, invalidation: `${prefix}inv:`, lock: `${prefix}lock:` };
    defineScript<GetCommand>(this.#redis, 'dtgCacheGetV1', 2, GET_SCRIPT);
    // The Buffer variant ioredis defines beside each script: bodies are bytes, not UTF-8 text.
    this.#get = (this.#redis as unknown as Record<string, GetCommand>).dtgCacheGetV1Buffer!.bind(this.#redis);
    this.#set = defineScript<SetCommand>(this.#redis, 'dtgCacheSetV1', 2, SET_SCRIPT);
    this.#invalidate = defineScript<InvalidateCommand>(this.#redis, 'dtgCacheInvalidateV1', 2, INVALIDATE_SCRIPT);
  }

  async get(key: string): Promise<CachedAnswer | undefined> {
    if (!(await this.#settled())) return undefined;
    const fields = await this.#call(() => this.#get(this.#keys.entry + key, this.#keys.epoch, this.#keys.invalidation));
    if (!fields) return undefined;
    const [body, meta, fetchedAt, scopes] = fields;
    const { headers, storedAt } = JSON.parse(meta.toString('utf8')) as Meta;
    return { body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), headers, storedAt, fetchedAt: Number(fetchedAt.toString()), scopes: scopes.toString('utf8').split('\n').filter(Boolean) };
  }

  async set(key: string, entry: CachedAnswer, ttlMs: number): Promise<void> {
    if (!(await this.#settled())) return;
    const meta: Meta = { headers: entry.headers.map(([name, value]) => [name, value]), storedAt: entry.storedAt };
    const body = Buffer.from(entry.body.buffer, entry.body.byteOffset, entry.body.byteLength);
    await this.#call(() => this.#set(this.#keys.entry + key, this.#keys.epoch, this.#keys.invalidation, body, JSON.stringify(meta), entry.fetchedAt, entry.scopes.join('\n'), Math.ceil(ttlMs)));
  }

  async sequence(): Promise<number> {
    return Number((await this.#call(() => this.#redis.get(this.#keys.sequence))) ?? 0);
  }

  async staleSince(scopes: readonly string[], fetchedAt: number): Promise<boolean> {
    if (scopes.length === 0) return false;
    const values = await this.#call(() => this.#redis.mget(...scopes.map((scope) => this.#keys.invalidation + scope)));
    // Not knowing is stale: the answer waited for is not shared.
    if (values === undefined) return true;
    return values.some((value) => value !== null && Number(value) > fetchedAt);
  }

  async invalidate(scopes: readonly string[]): Promise<void> {
    const made = await this.#call(() => this.#invalidate(this.#keys.sequence, this.#keys.epoch, this.#keys.invalidation, this.#options.keepInvalidationsMs, this.#owed ? 1 : 0, ...scopes));
    this.#owed = made === undefined;
  }

  /** Whether no invalidation is owed (making the one owed now, with a new epoch, if Redis answers). */
  async #settled(): Promise<boolean> {
    if (this.#owed) await this.invalidate([]);
    return !this.#owed;
  }

  /**
   * Whether this instance fetches `key` now (the others wait for the entry it keeps): true when it
   * took the lock, or when Redis cannot say (then everyone fetches for themselves).
   */
  async lead(key: string): Promise<boolean> {
    const taken = await this.#call(() => this.#redis.set(this.#keys.lock + key, '1', 'PX', this.#options.lockMs, 'NX'));
    return taken !== null;
  }

  /** The lock of `key` is given back (its fetch is done, kept or not). */
  async release(key: string): Promise<void> {
    await this.#call(() => this.#redis.del(this.#keys.lock + key));
  }

  /** Whether another instance still fetches `key`. */
  async leading(key: string): Promise<boolean> {
    return (await this.#call(() => this.#redis.exists(this.#keys.lock + key))) === 1;
  }

  /** A Redis call that never throws for an outage: undefined then (at once while the circuit is tripped). */
  #call<T>(call: () => Promise<T>): Promise<T | undefined> {
    return this.#circuit.call<T | undefined>(
      () => callRedis(call, this.#options.timeoutMs ?? 50, 'read cache'),
      async () => undefined,
    );
  }
}
