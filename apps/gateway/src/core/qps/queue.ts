/**
 * DingTalk's per-app, per-API QPS limit as a queue instead of a refusal: a request over the
 * limit waits for a slot of its app and operation, and is refused only past `maxWaitMs`.
 *
 * - One queue per app and operation (`key`), bounded (`maxQueued`; beyond it a request is
 *   refused at once). Inside it, one first-in-first-out line per tenant, and slots are given to
 *   the tenants' lines in turn: a tenant with a thousand queued requests takes every other slot
 *   at most while another tenant waits, never all of them.
 * - Slots come from `take(key)`, the same sliding window the gateway uses for DingTalk's limit
 *   (in Redis with several instances, so the limit holds for the whole cluster). Only the head
 *   of a queue asks for a slot, and between refusals the queue sleeps until the window frees one.
 * - A caller that goes away (`signal`) leaves the queue; `close()` (shutdown) answers every
 *   queued request at once.
 *
 * ```ts
 * const queue = new QpsQueue({ take: (key) => windowHit(key), maxWaitMs: 1_500, maxQueued: 1_000 });
 * const outcome = await queue.wait('app:bot:op:listWorkspaces', tenant.id, request.signal);
 * if (outcome.kind !== 'admitted') return refuse(outcome);
 * ```
 */

/** A slot of the window, or when the next one frees up. */
export type SlotDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

export type QueueOutcome =
  | { readonly kind: 'admitted'; readonly waitedMs: number }
  /** No slot within `maxWaitMs`; `retryAfterMs` is the window's latest word on the next one. */
  | { readonly kind: 'timeout'; readonly waitedMs: number; readonly retryAfterMs: number }
  /** The queue was full; `retryAfterMs` is `maxWaitMs`, by when every request now queued has its answer. */
  | { readonly kind: 'full'; readonly retryAfterMs: number }
  /** The caller went away. */
  | { readonly kind: 'gone'; readonly waitedMs: number }
  /** The gateway is shutting down. */
  | { readonly kind: 'closed'; readonly waitedMs: number }
  /** The window's store could not answer (Redis down with `whenDown: closed`). */
  | { readonly kind: 'unavailable'; readonly error: unknown };

export interface QpsQueueOptions {
  /** One hit of the key's window: a slot, or when to ask again. May reject (the store cannot answer). */
  take(key: string): SlotDecision | Promise<SlotDecision>;
  /** How long a request may wait for a slot. */
  maxWaitMs: number;
  /** How many requests may wait per key. */
  maxQueued: number;
  now?: () => number;
}

interface Waiter {
  readonly tenant: string;
  readonly queuedAt: number;
  readonly settle: (outcome: QueueOutcome) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
}

interface KeyQueue {
  /** Per tenant, its waiters in arrival order; a Map keeps the tenants' turn order. */
  readonly lines: Map<string, Waiter[]>;
  size: number;
  /** When the window said a slot frees up (on `now()`'s clock). */
  nextSlotAt: number;
  pumping: boolean;
}

export class QpsQueue {
  readonly #queues = new Map<string, KeyQueue>();
  readonly #options: QpsQueueOptions;
  readonly #now: () => number;
  #closed = false;

  constructor(options: QpsQueueOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** How long a request may wait for a slot. */
  get maxWaitMs(): number {
    return this.#options.maxWaitMs;
  }

  /** Requests waiting for a slot of `key` (so a newcomer queues behind them rather than jumping ahead). */
  waiting(key: string): number {
    return this.#queues.get(key)?.size ?? 0;
  }

  /** All requests waiting, over every key. */
  get size(): number {
    let size = 0;
    for (const queue of this.#queues.values()) size += queue.size;
    return size;
  }

  /** Waits for a slot of `key` for `tenant`, at most `maxWaitMs`. Never rejects. */
  wait(key: string, tenant: string, signal?: AbortSignal): Promise<QueueOutcome> {
    if (this.#closed) return Promise.resolve({ kind: 'closed', waitedMs: 0 });
    let queue = this.#queues.get(key);
    if (!queue) this.#queues.set(key, (queue = { lines: new Map(), size: 0, nextSlotAt: this.#now(), pumping: false }));
    // Full: by `maxWaitMs` from now, every request waiting now has its answer.
    if (queue.size >= this.#options.maxQueued) return Promise.resolve({ kind: 'full', retryAfterMs: this.#options.maxWaitMs });
    if (signal?.aborted) return Promise.resolve({ kind: 'gone', waitedMs: 0 });

    return new Promise<QueueOutcome>((resolve) => {
      const waiter: Waiter = {
        tenant,
        queuedAt: this.#now(),
        timer: undefined,
        done: false,
        settle: (outcome) => {
          if (waiter.done) return;
          waiter.done = true;
          clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', onAbort);
          this.#remove(key, queue, waiter);
          resolve(outcome);
        },
      };
      const onAbort = () => waiter.settle({ kind: 'gone', waitedMs: this.#now() - waiter.queuedAt });
      signal?.addEventListener('abort', onAbort, { once: true });
      waiter.timer = setTimeout(() => {
        const now = this.#now();
        waiter.settle({ kind: 'timeout', waitedMs: now - waiter.queuedAt, retryAfterMs: Math.max(0, queue.nextSlotAt - now) });
      }, this.#options.maxWaitMs);
      const line = queue.lines.get(tenant);
      if (line) line.push(waiter);
      else queue.lines.set(tenant, [waiter]);
      queue.size += 1;
      void this.#pump(key, queue);
    });
  }

  /** Shutdown: every queued request is answered now (`closed`), and new ones at once. */
  close(): void {
    this.#closed = true;
    for (const queue of this.#queues.values()) {
      for (const line of [...queue.lines.values()]) for (const waiter of [...line]) waiter.settle({ kind: 'closed', waitedMs: this.#now() - waiter.queuedAt });
    }
  }

  /** Gives slots to the queue's tenants in turn while it has waiters; one pump per key. */
  async #pump(key: string, queue: KeyQueue): Promise<void> {
    if (queue.pumping) return;
    queue.pumping = true;
    try {
      while (queue.size > 0 && !this.#closed) {
        let decision: SlotDecision;
        try {
          decision = await this.#options.take(key);
        } catch (error) {
          for (const waiting of [...queue.lines.values()].flat()) waiting.settle({ kind: 'unavailable', error });
          return;
        }
        if (decision.allowed) {
          // The slot goes to the tenant whose turn it is now (the first line; whoever left
          // while the slot was asked for is out of the lines already), then that tenant goes
          // to the back of the turn order.
          const first = queue.lines.entries().next();
          if (first.done) break;
          const [tenant, line] = first.value;
          const waiter = line[0]!;
          waiter.settle({ kind: 'admitted', waitedMs: this.#now() - waiter.queuedAt });
          const rest = queue.lines.get(tenant);
          if (rest) {
            queue.lines.delete(tenant);
            queue.lines.set(tenant, rest);
          }
          continue;
        }
        queue.nextSlotAt = this.#now() + decision.retryAfterMs;
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, decision.retryAfterMs)));
      }
    } finally {
      queue.pumping = false;
      if (queue.size === 0) this.#queues.delete(key);
    }
  }

  #remove(key: string, queue: KeyQueue, waiter: Waiter): void {
    const line = queue.lines.get(waiter.tenant);
    const at = line?.indexOf(waiter) ?? -1;
    if (at === -1) return;
    line!.splice(at, 1);
    if (line!.length === 0) queue.lines.delete(waiter.tenant);
    queue.size -= 1;
    if (queue.size === 0 && !queue.pumping) this.#queues.delete(key);
  }
}
