import { describe, expect, it } from 'vitest';
import { DEFAULT_LIFETIME_POLICY as policy, lifetimeMs, tokenTimes } from './lifetime.js';

describe('token lifetime', () => {
  it('refreshes 5 minutes ahead of a normal token and stops serving it 30 s before expiry', () => {
    expect(tokenTimes(0, 7200, policy)).toEqual({ refreshAt: 6_900_000, expiresAt: 7_170_000 });
  });

  it('refreshes short-lived tokens halfway', () => {
    expect(tokenTimes(0, 3, policy)).toEqual({ refreshAt: 1_500, expiresAt: 2_700 });
  });

  it.each([
    [undefined, 60_000],
    [0, 60_000],
    [-1, 60_000],
    [Number.NaN, 60_000],
    [Number.POSITIVE_INFINITY, 60_000],
    [0.001, 2_000],
    [10 ** 12, 7_200_000],
  ])('believes expireIn %s as %i ms', (expireIn, expected) => {
    expect(lifetimeMs(expireIn, policy)).toBe(expected);
  });
});
