/**
 * Bounded per-key state for the in-process limits (GCRA and sliding window). Internal: not
 * exported from the package, except the `SweepOptions` type their options extend.
 *
 * Each limiter says when a key's state is *spent*: it carries no information any more, so the key
 * behaves exactly like one never seen (a full GCRA bucket; a window log with every admission out
 * of the window). Deleting spent keys changes no decision. They are swept:
 *
 * - when the map has grown to twice its size after the previous sweep (at least `minSweepSize`):
 *   each sweep of n entries follows >= n/2 insertions, so sweeping is amortized O(1) per call,
 *   and the map never exceeds `max(minSweepSize, 2 * L)` entries, where L is the largest number
 *   of keys simultaneously not spent at a sweep;
 * - at most every `sweepIntervalMs` (checked on calls, no timer) so memory left by a burst of
 *   one-off keys is given back once traffic settles, even if the map never doubles again.
 *
 * Why not a size cap with LRU eviction: evicting a key that is not spent forgets what it consumed
 * and makes the limit looser than configured. The sweep only ever drops state that carries no
 * information, so the bound comes from the live key count (tenants x how long a key stays live),
 * which is what the limit actually needs to remember.
 */

export interface SweepOptions {
  /** No growth-triggered sweep below this many keys. Default 1024. */
  minSweepSize?: number;
  /** Also sweep when this much clock time has passed since the last sweep. Default 60 000. */
  sweepIntervalMs?: number;
}

export class SweptMap<V> {
  private readonly entries = new Map<string, V>();
  private readonly minSweepSize: number;
  private readonly sweepIntervalMs: number;
  private sweepAtSize: number;
  private sweepAtTime: number;

  /**
   * @param isSpent whether a key's state carries no information any more at `now` (so dropping it
   *   changes no decision); must stay true as `now` grows.
   * @param now the owner's clock reading at construction, to schedule the first timed sweep.
   */
  constructor(
    private readonly isSpent: (value: V, now: number) => boolean,
    options: SweepOptions,
    now: number,
  ) {
    this.minSweepSize = options.minSweepSize ?? 1024;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    this.sweepAtSize = this.minSweepSize;
    this.sweepAtTime = now + this.sweepIntervalMs;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Call once per decision, before a possible `set` of a new key: sweeps when due. Checked before
   * the insert, so `size <= max(minSweepSize, 2 * live keys at the last sweep)` holds after every call.
   */
  tick(now: number): void {
    if (this.entries.size >= this.sweepAtSize || now >= this.sweepAtTime) this.sweep(now);
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    this.entries.set(key, value);
  }

  /** Drop every spent key; returns how many were dropped. */
  sweep(now: number): number {
    let removed = 0;
    for (const [key, value] of this.entries) {
      if (this.isSpent(value, now)) {
        this.entries.delete(key);
        removed++;
      }
    }
    this.sweepAtSize = Math.max(this.minSweepSize, 2 * this.entries.size);
    this.sweepAtTime = now + this.sweepIntervalMs;
    return removed;
  }
}
