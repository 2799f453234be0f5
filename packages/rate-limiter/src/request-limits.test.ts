import { describe, expect, it, vi } from 'vitest';
import { withRequestFallback } from './fallback.js';
import { RateLimiterUnavailableError } from './interface.js';
import { MemoryRateLimiter } from './memory.js';
import { MemoryWindowLimiter } from './memory-window.js';
import { type LimitCheck, MemoryRequestLimiter, type RequestLimiter, SequentialRequestLimiter } from './request-limits.js';

const checks: LimitCheck[] = [
  { kind: 'rate', key: 'tenant:a', policy: { rate: 1, burst: 2 } },
  { kind: 'window', key: 'app:x', policy: { limit: 1, windowMs: 1_000 } },
];

function memory(now = () => 0) {
  const clock = { now };
  return new SequentialRequestLimiter(new MemoryRateLimiter({ clock }), new MemoryWindowLimiter({ clock }));
}

const unreachable: RequestLimiter = { check: () => Promise.reject(new RateLimiterUnavailableError('error', 'down')) };

describe('SequentialRequestLimiter', () => {
  it('decides in order and stops at the first refusal; what was admitted before it stays counted', async () => {
    const limits = memory();
    const first = await limits.check(checks);
    expect(first.map((o) => [o.kind, o.decision.allowed])).toEqual([
      ['rate', true],
      ['window', true],
    ]);
    const second = await limits.check(checks);
    expect(second.map((o) => [o.kind, o.decision.allowed])).toEqual([
      ['rate', true],
      ['window', false],
    ]);
    // The tenant's burst of 2 was spent by both requests, the refused one included.
    const third = await limits.check(checks);
    expect(third.map((o) => [o.kind, o.decision.allowed])).toEqual([['rate', false]]);
    expect(await limits.check([])).toEqual([]);
  });
});

describe('MemoryRequestLimiter', () => {
  it('answers at once, and exactly as SequentialRequestLimiter over the same kind of limiters', async () => {
    let now = 0;
    const clock = { now: () => now };
    const atOnce = new MemoryRequestLimiter(new MemoryRateLimiter({ clock }), new MemoryWindowLimiter({ clock }));
    const inTurn = new SequentialRequestLimiter(new MemoryRateLimiter({ clock }), new MemoryWindowLimiter({ clock }));
    const seq = [0, 0, 0, 120, 250, 250, 999, 1_000, 1_001, 1_600, 2_400, 2_400, 2_401, 4_000];
    for (const t of seq) {
      now = t;
      const outcomes = atOnce.check(checks);
      expect(outcomes).not.toBeInstanceOf(Promise);
      expect(outcomes).toEqual(await inTurn.check(checks));
    }
  });
});

describe('withRequestFallback', () => {
  it('local: decides on the local limiters while the primary is unreachable, tripping once', async () => {
    const onTrip = vi.fn();
    const limits = withRequestFallback(unreachable, { mode: 'local', local: memory(), onTrip });
    expect((await limits.check(checks)).every((o) => o.decision.allowed)).toBe(true);
    expect((await limits.check(checks)).at(-1)!.decision.allowed).toBe(false);
    expect(limits.state).toBe('fallback');
    expect(onTrip).toHaveBeenCalledTimes(1);
  });

  it('open: admits every check; closed: refuses at the first, until the next probe', async () => {
    const open = withRequestFallback(unreachable, { mode: 'open' });
    expect((await open.check(checks)).map((o) => o.decision.allowed)).toEqual([true, true]);
    const closed = withRequestFallback(unreachable, { mode: 'closed', clock: { now: () => 0 }, probeIntervalMs: 1_000 });
    const [refused, ...rest] = await closed.check(checks);
    expect(rest).toEqual([]);
    expect(refused!.decision).toMatchObject({ allowed: false, retryAfterMs: 1_000 });
  });

  it('goes back to the primary once a probe succeeds', async () => {
    let now = 0;
    let up = false;
    const primary: RequestLimiter = { check: (c) => (up ? memory().check(c) : unreachable.check(c)) };
    const onRecover = vi.fn();
    const limits = withRequestFallback(primary, { mode: 'open', clock: { now: () => now }, probeIntervalMs: 1_000, onRecover });
    await limits.check(checks);
    up = true;
    now = 1_000;
    await limits.check(checks);
    expect(limits.state).toBe('primary');
    expect(onRecover).toHaveBeenCalledTimes(1);
  });
});
