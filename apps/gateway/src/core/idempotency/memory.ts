/**
 * Idempotency records of one instance: requests under way in a map (as many as are under way),
 * finished ones in an LRU bounded by count and bytes (lru-cache), each kept its TTL.
 *
 * ```ts
 * const store = new MemoryIdempotencyStore({ maxEntries: 100_000, maxBytes: 64 << 20 });
 * ```
 */
import { LRUCache } from 'lru-cache';
import type { IdempotencyRecord, IdempotencyStore } from './interface.js';

type Finished = Extract<IdempotencyRecord, { state: 'done' | 'unknown' }>;

export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #underWay = new Map<string, Extract<IdempotencyRecord, { state: 'inFlight' }>>();
  readonly #finished: LRUCache<string, Finished>;

  constructor(options: { maxEntries: number; maxBytes: number; now?: () => number }) {
    const now = options.now ?? Date.now;
    this.#finished = new LRUCache<string, Finished>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (record, key) =>
        Math.max(1, 2 * key.length + record.fingerprint.length + (record.state === 'done' ? record.answer.body.byteLength + record.answer.headers.reduce((sum, [n, v]) => sum + 2 * (n.length + v.length), 0) : 2 * record.why.length)),
      maxEntrySize: options.maxBytes,
      perf: { now },
    });
  }

  begin(key: string, fingerprint: string, now: number): IdempotencyRecord | undefined {
    const seen = this.#underWay.get(key) ?? this.#finished.get(key);
    if (seen !== undefined) return seen;
    this.#underWay.set(key, { state: 'inFlight', fingerprint, startedAt: now });
    return undefined;
  }

  finish(key: string, record: Finished, ttlMs: number): void {
    this.#underWay.delete(key);
    this.#finished.set(key, record, { ttl: ttlMs });
  }

  abandon(key: string): void {
    this.#underWay.delete(key);
  }
}
