import { describe, expect, it } from 'vitest';
import { type LimitCheck, MemoryRequestLimiter } from './request-limits.js';

const checks: LimitCheck[] = [
  { kind: 'rate', key: 'tenant:a', policy: { rate: 1, burst: 2 } },
  { kind: 'window', key: 'app:x', policy: { limit: 1, windowMs: 1_000 } },
];

const summary = (outcomes: ReadonlyArray<{ kind: string; decision: { allowed: boolean } }>) => outcomes.map((o) => [o.kind, o.decision.allowed]);

describe('MemoryRequestLimiter', () => {
  it('decides in order and stops at the first refusal; what was admitted before it stays counted', () => {
    const limits = new MemoryRequestLimiter({ clock: { now: () => 0 } });
    expect(summary(limits.check(checks))).toEqual([
      ['rate', true],
      ['window', true],
    ]);
    expect(summary(limits.check(checks))).toEqual([
      ['rate', true],
      ['window', false],
    ]);
    // The tenant's burst of 2 was spent by both requests, the refused one included.
    expect(summary(limits.check(checks))).toEqual([['rate', false]]);
    expect(limits.check([])).toEqual([]);
  });

  it('answers at once, not with a promise', () => {
    expect(new MemoryRequestLimiter().check(checks)).not.toBeInstanceOf(Promise);
  });

  it('decides each check as its algorithm does, on the given clock', () => {
    let now = 0;
    const limits = new MemoryRequestLimiter({ clock: { now: () => now } });
    const rate: LimitCheck[] = [{ kind: 'rate', key: 't', policy: { rate: 10, burst: 2 } }];
    const window: LimitCheck[] = [{ kind: 'window', key: 'w', policy: { limit: 2, windowMs: 1_000 } }];
    expect(limits.check(rate)).toEqual([{ kind: 'rate', decision: { allowed: true, limit: 2, remaining: 1, resetMs: 100, retryAfterMs: 0 } }]);
    limits.check(rate);
    expect(limits.check(rate)).toEqual([{ kind: 'rate', decision: { allowed: false, limit: 2, remaining: 0, resetMs: 200, retryAfterMs: 100 } }]);
    expect(limits.check(window)).toEqual([{ kind: 'window', decision: { allowed: true, remaining: 1, retryAfterMs: 0 } }]);
    now = 400;
    limits.check(window);
    expect(limits.check(window)).toEqual([{ kind: 'window', decision: { allowed: false, remaining: 0, retryAfterMs: 600 } }]);
    now = 1_000;
    expect(summary(limits.check([...rate, ...window]))).toEqual([
      ['rate', true],
      ['window', true],
    ]);
  });

  it('keeps a rate key and a window key of the same name apart', () => {
    const limits = new MemoryRequestLimiter({ clock: { now: () => 0 } });
    expect(summary(limits.check([{ kind: 'rate', key: 'same', policy: { rate: 1, burst: 1 } }]))).toEqual([['rate', true]]);
    expect(summary(limits.check([{ kind: 'window', key: 'same', policy: { limit: 1, windowMs: 1_000 } }]))).toEqual([['window', true]]);
  });

  it('throws RangeError on an invalid policy', () => {
    const limits = new MemoryRequestLimiter();
    expect(() => limits.check([{ kind: 'rate', key: 'k', policy: { rate: 0, burst: 1 } }])).toThrow(RangeError);
    expect(() => limits.check([{ kind: 'window', key: 'k', policy: { limit: 1, windowMs: 0 } }])).toThrow(RangeError);
  });
});
