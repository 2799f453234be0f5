/**
 * The gateway's shared state on Workers: one Durable Object (`GatewayState`, the instance named
 * "gateway") holds what the instances of a Node deployment share through Redis: the DingTalk
 * token of each app (its cache, the lease of the one isolate that fetches it, the backoff after
 * failed fetches: `tokens.ts`), the request limits (tenant limits, DingTalk's QPS guard, the
 * per-IP window), the monthly ledger, the read cache with its invalidations and its per-read
 * leads, and the Idempotency-Key records. Every isolate's gateway calls it over JS RPC
 * (`sharedStores`, `sharedTokenProviders`), so there is one token, limits are exact and a read, a
 * write and a key are one across isolates, as on Redis. A metered request's limits and its call of
 * the month are one call to the object (`limitsCheckAndReserve`), as they are one script run on
 * Redis. The Durable Object runs the gateway's own memory stores, one request at a time.
 *
 * The monthly ledger is also written to the object's durable storage (at most once a second, as
 * the file ledger of one Node instance), so a restart of the object (a deploy, an eviction) keeps
 * the month's counts; the rest (tokens, limits, cache, keys) is the object's memory, as it is a
 * Node instance's without Redis (a restarted object has no token: one isolate fetches it again).
 */
import { type LedgerSnapshot, MemoryQuotaLedger, type Month, type QuotaAccount } from '@dingtalk-gateway/call-quota';
import { type LimitCheck, MemoryRequestLimiter, type RequestLimiter } from '@dingtalk-gateway/rate-limiter';
import { DurableObject, type DurableObjectState } from 'cloudflare:workers';
import { config } from 'dingtalk-gateway:embedded';
import { longestRequestMs } from '../../core/create-gateway.js';
import type { IdempotencyRecord, IdempotencyStore } from '../../core/idempotency/interface.js';
import type { LimitsWithCall } from '../../core/quota/limits-with-call.js';
import { MemoryIdempotencyStore } from '../../core/idempotency/memory.js';
import type { CachedAnswer, ReadCacheStore } from '../../core/read-cache/interface.js';
import { MemoryReadCacheStore } from '../../core/read-cache/memory.js';
import { cachePlanOf } from '../../core/read-cache/plan.js';
import { type TokenFetchOutcome, TokenLeases } from '@dingtalk-gateway/token-provider';
import type { QuotaLedger } from '@dingtalk-gateway/call-quota';

type DoneOrUnknown = Extract<IdempotencyRecord, { state: 'done' | 'unknown' }>;

/** Where the ledger's snapshot is kept in the object's storage. */
const LEDGER_KEY = 'ledger';

export class GatewayState extends DurableObject {
  readonly #limits = new MemoryRequestLimiter();
  #ledger!: MemoryQuotaLedger;
  readonly #cache = new MemoryReadCacheStore({ maxEntries: config.cache.maxEntries, maxBytes: config.cache.maxBytes, keepInvalidationsMs: cachePlanOf(config).keepInvalidationsMs });
  readonly #idempotency: IdempotencyStore = new MemoryIdempotencyStore({ maxEntries: config.idempotency.maxEntries, maxBytes: config.idempotency.maxBytes });
  /** The reads some isolate fetches from DingTalk now, until when (a lead ends at the latest with the longest request). */
  readonly #leads = new Map<string, number>();
  readonly #leadMs = longestRequestMs(config);
  /** Each app's DingTalk token: kept here, fetched by the isolate given the lease (see `tokens.ts` for why). */
  readonly #tokens = new TokenLeases();

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    // No call reaches the object before its ledger is read back.
    void ctx.blockConcurrencyWhile(async () => {
      const snapshot = await ctx.storage.get<LedgerSnapshot>(LEDGER_KEY);
      this.#ledger = new MemoryQuotaLedger({
        persistence: { load: () => snapshot, save: (next) => void ctx.storage.put(LEDGER_KEY, next) },
        flushEveryMs: 1_000,
        onFlushError: (error) => console.error(JSON.stringify({ level: 50, time: Date.now(), error: String(error), msg: 'the call ledger could not be written; retrying' })),
      });
    });
  }

  /** The app's token, or the lease to fetch it (waiting while another isolate fetches it), or the backoff. */
  tokenAcquire(appId: string) {
    return this.#tokens.acquire(appId);
  }
  /** What the isolate that held the lease got from DingTalk: the token, or the failure's reason (never a secret). */
  tokenSettle(appId: string, fence: string, outcome: TokenFetchOutcome) {
    return this.#tokens.settle(appId, fence, outcome);
  }
  /** DingTalk refused `token`: forgotten if it is still the app's current one. */
  tokenDrop(appId: string, token: string) {
    this.#tokens.drop(appId, token);
  }

  limitsCheck(checks: LimitCheck[]) {
    return this.#limits.check(checks);
  }
  /** The limits and, if they all admit the request, its call of the month: one call to the object (`LimitsWithCall`). */
  limitsCheckAndReserve(checks: LimitCheck[], account: QuotaAccount, operationId: string, month: Month) {
    const outcomes = this.#limits.check(checks);
    // The decisions end with the first refusal: every one allowed is every check admitted.
    const admitted = outcomes.every((outcome) => outcome.decision.allowed);
    return { outcomes, reservation: admitted ? this.#ledger.reserve(account, operationId, month) : undefined };
  }

  ledgerReserve(account: QuotaAccount, operationId: string, month: Month) {
    return this.#ledger.reserve(account, operationId, month);
  }
  ledgerRelease(account: QuotaAccount, operationId: string, month: Month, calls?: number) {
    return this.#ledger.release(account, operationId, month, calls);
  }
  ledgerOrgSpent(org: string, month: Month, quota: number) {
    return this.#ledger.orgSpent(org, month, quota);
  }
  ledgerUsage(month: Month) {
    return this.#ledger.usage(month);
  }
  ledgerOrgUsage(org: string, month: Month) {
    return this.#ledger.orgUsage(org, month);
  }

  cacheGet(key: string) {
    return this.#cache.get(key);
  }
  cacheSet(key: string, entry: CachedAnswer, ttlMs: number) {
    return this.#cache.set(key, entry, ttlMs);
  }
  cacheSequence() {
    return this.#cache.sequence();
  }
  cacheStaleSince(scopes: readonly string[], fetchedAt: number) {
    return this.#cache.staleSince(scopes, fetchedAt);
  }
  cacheInvalidate(scopes: readonly string[]) {
    return this.#cache.invalidate(scopes);
  }
  cacheLead(key: string): boolean {
    if (this.cacheLeading(key)) return false;
    this.#leads.set(key, Date.now() + this.#leadMs);
    return true;
  }
  cacheRelease(key: string): void {
    this.#leads.delete(key);
  }
  cacheLeading(key: string): boolean {
    const until = this.#leads.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#leads.delete(key);
    return false;
  }

  idempotencyBegin(key: string, fingerprint: string, now: number, ttlMs: number) {
    return this.#idempotency.begin(key, fingerprint, now, ttlMs);
  }
  idempotencyFinish(key: string, record: DoneOrUnknown, ttlMs: number) {
    return this.#idempotency.finish(key, record, ttlMs);
  }
  idempotencyAbandon(key: string) {
    return this.#idempotency.abandon(key);
  }
}

/** A stub of the "gateway" instance: every method returns a promise (JS RPC). */
export type GatewayStateStub = { [K in keyof GatewayState]: GatewayState[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never };

/**
 * The stores of one isolate's gateway, each a call to the shared object. A stub is an I/O object
 * of the request that made it, so each call takes a new one (`state()`). Each store method is an
 * async function: JS RPC answers with its own thenable, which the request path (telling a store's
 * sync answer from a promise by `instanceof Promise`) must see as a Promise.
 */
export function sharedStores(state: () => GatewayStateStub): {
  requestLimiter: RequestLimiter;
  ledger: QuotaLedger;
  limitsWithCall: LimitsWithCall;
  readCacheStore: ReadCacheStore;
  idempotencyStore: IdempotencyStore;
} {
  return {
    requestLimiter: { check: async (checks) => state().limitsCheck([...checks]) },
    limitsWithCall: { checkAndReserve: async (checks, account, operationId, month) => state().limitsCheckAndReserve([...checks], account, operationId, month) },
    ledger: {
      reserve: async (account, operationId, month) => state().ledgerReserve(account, operationId, month),
      release: async (account, operationId, month, calls) => state().ledgerRelease(account, operationId, month, calls),
      orgSpent: async (org, month, quota) => state().ledgerOrgSpent(org, month, quota),
      usage: async (month) => state().ledgerUsage(month),
      orgUsage: async (org, month) => state().ledgerOrgUsage(org, month),
      // The object keeps the counts; an isolate has nothing of its own to write.
      close: () => {},
    },
    readCacheStore: {
      get: async (key) => state().cacheGet(key),
      set: async (key, entry, ttlMs) => state().cacheSet(key, entry, ttlMs),
      sequence: async () => state().cacheSequence(),
      staleSince: async (scopes, fetchedAt) => state().cacheStaleSince(scopes, fetchedAt),
      invalidate: async (scopes) => state().cacheInvalidate(scopes),
      lead: async (key) => state().cacheLead(key),
      release: async (key) => state().cacheRelease(key),
      leading: async (key) => state().cacheLeading(key),
    },
    idempotencyStore: {
      begin: async (key, fingerprint, now, ttlMs) => state().idempotencyBegin(key, fingerprint, now, ttlMs),
      finish: async (key, record, ttlMs) => state().idempotencyFinish(key, record, ttlMs),
      abandon: async (key) => state().idempotencyAbandon(key),
    },
  };
}
