/**
 * The read cache of one instance: entries in an LRU bounded by count and bytes (lru-cache), and
 * the invalidations of the last `keepInvalidationsMs`. See `interface.ts` for the rules.
 *
 * ```ts
 * const store = new MemoryReadCacheStore({ maxEntries: 10_000, maxBytes: 64 << 20, keepInvalidationsMs: 10 * 60_000 });
 * ```
 */
import { LRUCache } from 'lru-cache';
import type { CachedAnswer, ReadCacheStore } from './interface.js';

export interface MemoryReadCacheStoreOptions {
  maxEntries: number;
  /** What the entries may take together: bodies, headers and keys, in bytes (UTF-16 for strings, roughly). */
  maxBytes: number;
  /**
   * How long an invalidation is remembered: longer than any entry lives after its request was
   * sent (its lifetime plus the longest a request to DingTalk can take).
   */
  keepInvalidationsMs: number;
  /** Wall clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

export class MemoryReadCacheStore implements ReadCacheStore {
  readonly #entries: LRUCache<string, CachedAnswer>;
  readonly #now: () => number;
  readonly #keepInvalidationsMs: number;
  #sequence = 0;
  /** Per scope, the sequence number of its last invalidation and when (oldest first). */
  readonly #invalidated = new Map<string, { sequence: number; at: number }>();

  constructor(options: MemoryReadCacheStoreOptions) {
    this.#now = options.now ?? Date.now;
    this.#keepInvalidationsMs = options.keepInvalidationsMs;
    this.#entries = new LRUCache<string, CachedAnswer>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (entry, key) => Math.max(1, entry.body.byteLength + 2 * key.length + entry.headers.reduce((sum, [name, value]) => sum + 2 * (name.length + value.length), 0)),
      // An entry bigger than the whole cache is not kept (rather than evicting everything).
      maxEntrySize: options.maxBytes,
      perf: { now: () => this.#now() },
    });
  }

  /** Entries kept now (tests, metrics). */
  get size(): number {
    return this.#entries.size;
  }

  get(key: string): CachedAnswer | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.staleSince(entry.scopes, entry.fetchedAt)) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, entry: CachedAnswer, ttlMs: number): void {
    if (this.staleSince(entry.scopes, entry.fetchedAt)) return;
    this.#entries.set(key, entry, { ttl: ttlMs });
  }

  sequence(): number {
    return this.#sequence;
  }

  staleSince(scopes: readonly string[], fetchedAt: number): boolean {
    for (const scope of scopes) {
      const invalidated = this.#invalidated.get(scope);
      if (invalidated !== undefined && invalidated.sequence > fetchedAt) return true;
    }
    return false;
  }

  invalidate(scopes: readonly string[]): void {
    const now = this.#now();
    this.#sequence += 1;
    for (const scope of scopes) {
      // Deleted first, so the map stays in order of invalidation (the oldest are forgotten first).
      this.#invalidated.delete(scope);
      this.#invalidated.set(scope, { sequence: this.#sequence, at: now });
    }
    for (const [scope, { at }] of this.#invalidated) {
      if (at > now - this.#keepInvalidationsMs) break;
      this.#invalidated.delete(scope);
    }
  }
}
