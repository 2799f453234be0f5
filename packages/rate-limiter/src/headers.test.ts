import { describe, expect, it } from 'vitest';
import { rateLimitHeaders } from './headers.js';
import type { RateLimitDecision } from './interface.js';
import { MemoryRequestLimiter } from './request-limits.js';

const allowed = (over: Partial<RateLimitDecision> = {}): RateLimitDecision => ({
  allowed: true,
  limit: 20,
  remaining: 19,
  resetMs: 100,
  retryAfterMs: 0,
  ...over,
});

describe('rateLimitHeaders', () => {
  it('advertises q = burst per the time to refill a burst, and r/t from the decision', () => {
    expect(rateLimitHeaders('tenant', { rate: 10, burst: 20 }, allowed())).toEqual({
      'RateLimit-Policy': '"tenant";q=20;w=2',
      RateLimit: '"tenant";r=19;t=1',
    });
  });

  it('rounds the window up, to at least one second, without float noise', () => {
    const w = (rate: number, burst: number) =>
      rateLimitHeaders('p', { rate, burst }, allowed())['RateLimit-Policy'].replace(/.*;w=/, '');
    expect(w(0.5, 1)).toBe('2');
    expect(w(3, 10)).toBe('4'); // 3.33 s
    expect(w(0.3, 3)).toBe('10'); // 3 / 0.3 = 10.000000000000002
    expect(w(100, 5)).toBe('1'); // 50 ms, but w must be a non-zero integer
  });

  it('reports t = 0 for a full bucket and rounds t up otherwise', () => {
    const policy = { rate: 1, burst: 5 };
    expect(rateLimitHeaders('t', policy, allowed({ remaining: 5, resetMs: 0 })).RateLimit).toBe('"t";r=5;t=0');
    expect(rateLimitHeaders('t', policy, allowed({ resetMs: 1000 })).RateLimit).toBe('"t";r=19;t=1');
    expect(rateLimitHeaders('t', policy, allowed({ resetMs: 1001 })).RateLimit).toBe('"t";r=19;t=2');
  });

  it('adds Retry-After only on retryable denials: integer seconds, rounded up, >= 1', () => {
    const policy = { rate: 1, burst: 5 };
    const denied = (retryAfterMs: number) =>
      rateLimitHeaders('t', policy, allowed({ allowed: false, remaining: 0, retryAfterMs }))['Retry-After'];
    expect(denied(1)).toBe('1');
    expect(denied(1000)).toBe('1');
    expect(denied(1001)).toBe('2');
    expect(denied(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(rateLimitHeaders('t', policy, allowed())).not.toHaveProperty('Retry-After');
  });

  it('serializes the policy name as a Structured Field String', () => {
    expect(rateLimitHeaders('a "b" \\c', { rate: 1, burst: 1 }, allowed()).RateLimit).toMatch(
      /^"a \\"b\\" \\\\c";r=/,
    );
    expect(() => rateLimitHeaders('tenant\n', { rate: 1, burst: 1 }, allowed())).toThrow(TypeError);
    expect(() => rateLimitHeaders('租户', { rate: 1, burst: 1 }, allowed())).toThrow(TypeError);
  });

  it('matches a real denial from the memory limiter', () => {
    const limits = new MemoryRequestLimiter({ clock: { now: () => 0 } });
    const policy = { rate: 0.5, burst: 2 };
    const check = [{ kind: 'rate' as const, key: 'k', policy }];
    limits.check(check);
    limits.check(check);
    const [refused] = limits.check(check);
    expect(refused!.kind).toBe('rate');
    expect(rateLimitHeaders('tenant', policy, refused!.decision as RateLimitDecision)).toEqual({
      'RateLimit-Policy': '"tenant";q=2;w=4',
      RateLimit: '"tenant";r=0;t=4',
      'Retry-After': '2',
    });
  });
});
