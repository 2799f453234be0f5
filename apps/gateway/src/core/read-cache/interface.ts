/**
 * Where the read cache keeps DingTalk's answers, and what made them stale.
 *
 * - An entry is one 200 answer of a GET, under a key naming the DingTalk app and the request as
 *   DingTalk saw it (`cacheKeyOf`). It records `fetchedAt`: the store's invalidation sequence
 *   when its request was sent.
 * - A write that succeeded invalidates scopes (`org|operation`, `org|operation|param=value`, from
 *   the spec's `x-dingtalk-invalidates`): each gets the next number of the store's sequence. An
 *   entry is valid only while none of its scopes was invalidated after its request was sent:
 *   an answer fetched while a write was under way is never served after the write's answer.
 * - Invalidations are kept as long as the longest lifetime of an entry, then forgotten (no entry
 *   they could concern is left).
 *
 * Memory (`memory.ts`) for one instance; Redis for several.
 *
 * ```ts
 * const fetchedAt = await store.sequence();
 * const answer = await send();
 * await store.set(key, { ...answer, fetchedAt, storedAt: Date.now(), scopes }, ttlMs);
 * const entry = await store.get(key); // undefined once a scope of it is invalidated
 * await store.invalidate(['acme|listWorkspaces']);
 * ```
 */
export interface CachedAnswer {
  /** DingTalk's answer body, as received. */
  readonly body: Uint8Array;
  /** DingTalk's answer headers worth replaying (content type, its request and trace ids). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** When the answer came (epoch ms): its age. */
  readonly storedAt: number;
  /** The store's invalidation sequence when the request was sent. */
  readonly fetchedAt: number;
  /** What invalidates it. */
  readonly scopes: readonly string[];
}

export interface ReadCacheStore {
  /** The entry under `key`, if it is there and none of its scopes was invalidated since it was fetched. */
  get(key: string): CachedAnswer | undefined | Promise<CachedAnswer | undefined>;
  /** Keeps `entry` at most `ttlMs`; dropped at once if a scope was invalidated since it was fetched. */
  set(key: string, entry: CachedAnswer, ttlMs: number): void | Promise<void>;
  /** The invalidation sequence now: what an answer about to be fetched records as `fetchedAt`. */
  sequence(): number | Promise<number>;
  /** Whether a scope of `scopes` was invalidated after `fetchedAt` (an answer fetched then is stale). */
  staleSince(scopes: readonly string[], fetchedAt: number): boolean | Promise<boolean>;
  /** A write succeeded: every entry of these scopes is stale, here and on every instance sharing the store. */
  invalidate(scopes: readonly string[]): void | Promise<void>;
  /**
   * A store shared by several instances: whether this one fetches `key` now (true), or another
   * does and this one waits for what it keeps (false). Absent: one instance, it always fetches.
   */
  lead?(key: string): Promise<boolean>;
  /** The fetch of `key` this instance leads is done. */
  release?(key: string): Promise<void>;
  /** Whether some instance still fetches `key`. */
  leading?(key: string): Promise<boolean>;
}
