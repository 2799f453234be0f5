import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CST_OFFSET_MS, isMonth, monthOf, monthSpanOf, monthStart, nextMonthStart } from './month.js';

describe('the quota month (China Standard Time)', () => {
  it('starts at 16:00 UTC on the last day of the month before', () => {
    expect(monthOf(Date.parse('2026-12-31T15:59:59.999Z'))).toBe('2026-12');
    expect(monthOf(Date.parse('2026-12-31T16:00:00.000Z'))).toBe('2027-01');
    expect(monthOf(Date.parse('2027-02-28T16:00:00.000Z'))).toBe('2027-03');
    expect(monthOf(Date.parse('2028-02-28T16:00:00.000Z'))).toBe('2028-02'); // a leap year
    expect(monthStart('2027-01')).toBe(Date.parse('2026-12-31T16:00:00Z'));
    expect(nextMonthStart(Date.parse('2026-12-06T03:00:00Z'))).toBe(Date.parse('2026-12-31T16:00:00Z'));
    expect(nextMonthStart(Date.parse('2026-12-31T16:00:00Z'))).toBe(Date.parse('2027-01-31T16:00:00Z'));
  });

  it('agrees with itself at any instant: the month starts at or before it, the next one after', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2100-01-01T00:00:00Z') }), (ms) => {
        const month = monthOf(ms);
        expect(monthStart(month)).toBeLessThanOrEqual(ms);
        expect(nextMonthStart(ms)).toBeGreaterThan(ms);
        expect(monthOf(nextMonthStart(ms))).not.toBe(month);
        expect(monthOf(nextMonthStart(ms) - 1)).toBe(month);
        // A month is the CST calendar's: its first instant is midnight in UTC+8.
        expect(new Date(monthStart(month) + CST_OFFSET_MS).toISOString()).toMatch(/-01T00:00:00\.000Z$/);
      }),
      { seed: 20261206, numRuns: 500 },
    );
  });

  it('gives the same span as the three functions, instants in any order (its kept answer never goes stale)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-12-31T00:00:00Z') }), { minLength: 1, maxLength: 20 }), (instants) => {
        for (const ms of instants.flatMap((at) => [at, at + 1, nextMonthStart(at) - 1, nextMonthStart(at)])) {
          expect(monthSpanOf(ms)).toEqual({ month: monthOf(ms), start: monthStart(monthOf(ms)), next: nextMonthStart(ms) });
        }
      }),
      { seed: 20261206, numRuns: 200 },
    );
  });

  it('reads only YYYY-MM', () => {
    expect(isMonth('2026-12')).toBe(true);
    for (const bad of ['2026-13', '2026-00', '2026-1', '26-12', '2026-12-01', '']) expect(isMonth(bad), bad).toBe(false);
    expect(() => monthStart('2026-13')).toThrow(/YYYY-MM/);
  });
});
