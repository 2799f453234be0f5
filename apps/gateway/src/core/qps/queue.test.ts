import { MemoryRequestLimiter } from '@dingtalk-gateway/rate-limiter';
import { describe, expect, it } from 'vitest';
import { QpsQueue, type QueueOutcome } from './queue.js';

const KEY = 'app:bot:op:listWorkspaces';

/** A queue over an in-memory sliding window of `limit` per `windowMs` (real time, short windows). */
function queueOf(limit: number, windowMs: number, options: { maxWaitMs?: number; maxQueued?: number } = {}) {
  const limits = new MemoryRequestLimiter();
  const order: string[] = [];
  const queue = new QpsQueue({
    take: (key) => limits.check([{ kind: 'window', key, policy: { limit, windowMs } }])[0]!.decision,
    maxWaitMs: options.maxWaitMs ?? 2_000,
    maxQueued: options.maxQueued ?? 100,
  });
  /** Waits, recording the order of admissions by label. */
  const wait = async (tenant: string, label: string, signal?: AbortSignal): Promise<QueueOutcome> => {
    const outcome = await queue.wait(KEY, tenant, signal);
    if (outcome.kind === 'admitted') order.push(label);
    return outcome;
  };
  return { queue, wait, order };
}

describe('QpsQueue', () => {
  it("admits what the window allows at once and the rest as it frees up, first come first served within a tenant", async () => {
    const { queue, wait, order } = queueOf(2, 100);
    const started = performance.now();
    const outcomes = await Promise.all(['a1', 'a2', 'a3', 'a4', 'a5'].map((label) => wait('a', label)));
    expect(outcomes.map((o) => o.kind)).toEqual(Array(5).fill('admitted'));
    expect(order).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    // Two per 100 ms: the fifth waited two windows.
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    expect((outcomes[4] as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(190);
    expect(queue.size).toBe(0);
  });

  it('gives the slots to the tenants in turn: one with a long line never takes them all', async () => {
    const { wait, order } = queueOf(1, 20);
    const many = Array.from({ length: 8 }, (_, i) => wait('busy', `busy${i}`));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const few = [wait('quiet', 'quiet0'), wait('quiet', 'quiet1')];
    await Promise.all([...many, ...few]);
    // The quiet tenant came after eight busy requests, and was admitted every other slot.
    expect(order.indexOf('quiet0')).toBeLessThanOrEqual(3);
    expect(order.indexOf('quiet1') - order.indexOf('quiet0')).toBe(2);
    expect(order.filter((label) => label.startsWith('busy'))).toEqual(Array.from({ length: 8 }, (_, i) => `busy${i}`));
  });

  it('refuses past maxWaitMs, saying when the window frees a slot, and at once when the queue is full', async () => {
    const { queue, wait } = queueOf(1, 1_000, { maxWaitMs: 80, maxQueued: 2 });
    expect((await wait('a', 'first')).kind).toBe('admitted');
    const second = wait('a', 'second');
    const third = wait('a', 'third');
    expect(await wait('a', 'fourth')).toEqual({ kind: 'full', retryAfterMs: expect.any(Number) });
    const timedOut = await second;
    expect(timedOut).toMatchObject({ kind: 'timeout', retryAfterMs: expect.any(Number) });
    expect((timedOut as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(75);
    expect((timedOut as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(800);
    expect((await third).kind).toBe('timeout');
    expect(queue.size).toBe(0);
  });

  it('lets a caller that goes away leave the queue, its turn going to the next', async () => {
    const { queue, wait, order } = queueOf(1, 60);
    await wait('a', 'first');
    const leaving = new AbortController();
    const gone = wait('a', 'leaves', leaving.signal);
    const next = wait('b', 'next');
    expect(queue.waiting(KEY)).toBe(2);
    leaving.abort();
    expect((await gone).kind).toBe('gone');
    expect(queue.waiting(KEY)).toBe(1);
    expect((await next).kind).toBe('admitted');
    expect(order).toEqual(['first', 'next']);
    const aborted = new AbortController();
    aborted.abort();
    expect((await wait('a', 'never', aborted.signal)).kind).toBe('gone');
  });

  it('answers every queued request at once on close, and every later one', async () => {
    const { queue, wait } = queueOf(1, 10_000);
    await wait('a', 'first');
    const queued = [wait('a', 'x'), wait('b', 'y')];
    queue.close();
    expect((await Promise.all(queued)).map((o) => o.kind)).toEqual(['closed', 'closed']);
    expect((await wait('a', 'later')).kind).toBe('closed');
  });

  it("answers every queued request 'unavailable' when the window cannot answer", async () => {
    const failure = new Error('Redis is down');
    const queue = new QpsQueue({ take: () => Promise.reject(failure), maxWaitMs: 1_000, maxQueued: 10 });
    expect(await Promise.all([queue.wait(KEY, 'a'), queue.wait(KEY, 'b')])).toEqual([
      { kind: 'unavailable', error: failure },
      { kind: 'unavailable', error: failure },
    ]);
  });
});
