/**
 * Where the gateway keeps what became of each POST sent with an `Idempotency-Key`
 * (draft-ietf-httpapi-idempotency-key-header), per tenant and key:
 *
 * - `inFlight`: the first request with the key is under way (since `startedAt`);
 * - `done`: DingTalk answered it, and this is the answer to replay;
 * - `unknown`: it may or may not have been carried out (no answer came, or DingTalk failed): it
 *   is not sent again with this key.
 *
 * A request the gateway refused before DingTalk leaves no record (`abandon`). `begin` is atomic:
 * of two instances receiving the same key at once, one begins and the other sees its record.
 * Memory (`memory.ts`) for one instance, Redis (`redis.ts`) for several.
 *
 * ```ts
 * const seen = await store.begin('wiki-team|8e03…', fingerprint, Date.now(), ttlMs);
 * if (seen === undefined) { const answer = await send(); await store.finish('wiki-team|8e03…', { state: 'done', fingerprint, answer }, ttlMs); }
 * ```
 */
export interface StoredAnswer {
  readonly status: number;
  /** DingTalk's answer headers worth replaying. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
}

export type IdempotencyRecord =
  | { readonly state: 'inFlight'; readonly fingerprint: string; readonly startedAt: number }
  | { readonly state: 'done'; readonly fingerprint: string; readonly answer: StoredAnswer }
  | { readonly state: 'unknown'; readonly fingerprint: string; readonly why: string };

export interface IdempotencyStore {
  /** Begins `key` (returns undefined), unless it has a record already: then that record, unchanged. */
  begin(key: string, fingerprint: string, now: number, ttlMs: number): IdempotencyRecord | undefined | Promise<IdempotencyRecord | undefined>;
  /** What became of the request that began `key`, kept `ttlMs`. */
  finish(key: string, record: Extract<IdempotencyRecord, { state: 'done' | 'unknown' }>, ttlMs: number): void | Promise<void>;
  /** The request that began `key` was not sent: no record (it may be sent again with the key). */
  abandon(key: string): void | Promise<void>;
}
