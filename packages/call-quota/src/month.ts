/**
 * DingTalk's quota month: the calendar month in China Standard Time (UTC+8, no daylight saving),
 * so a month starts at 16:00 UTC on the last day of the month before.
 *
 * ```ts
 * monthOf(Date.parse('2026-12-31T16:00:00Z')); // '2027-01'
 * nextMonthStart(Date.parse('2026-12-06T03:00:00Z')); // Date.parse('2026-12-31T16:00:00Z')
 * ```
 */

/** China Standard Time is UTC+8 all year. */
export const CST_OFFSET_MS = 8 * 60 * 60 * 1000;

/** `YYYY-MM`. */
export type Month = string;

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The quota month (`YYYY-MM`, China Standard Time) of an instant in epoch milliseconds. */
export function monthOf(ms: number): Month {
  const cst = new Date(ms + CST_OFFSET_MS);
  return `${String(cst.getUTCFullYear()).padStart(4, '0')}-${String(cst.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** When a month starts, in epoch milliseconds (00:00 China Standard Time on its first day). */
export function monthStart(month: Month): number {
  const match = MONTH.exec(month);
  if (!match) throw new RangeError(`expected a month as YYYY-MM, got ${JSON.stringify(month)}`);
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, 1) - CST_OFFSET_MS;
}

/** When the month after the one of `ms` starts: when a month's quota comes back. */
export function nextMonthStart(ms: number): number {
  const cst = new Date(ms + CST_OFFSET_MS);
  return Date.UTC(cst.getUTCFullYear(), cst.getUTCMonth() + 1, 1) - CST_OFFSET_MS;
}

/** A quota month and its bounds, in epoch milliseconds. */
export interface MonthSpan {
  readonly month: Month;
  /** 00:00 China Standard Time on its first day. */
  readonly start: number;
  /** When the next month starts: when the month's quota comes back. */
  readonly next: number;
}

let lastSpan: MonthSpan | undefined;

/**
 * The month of `ms` with its bounds. The last answer is kept: on the request path every call asks
 * for the same month, and comparing two numbers spares building dates and strings each time.
 */
export function monthSpanOf(ms: number): MonthSpan {
  if (lastSpan !== undefined && ms >= lastSpan.start && ms < lastSpan.next) return lastSpan;
  const month = monthOf(ms);
  lastSpan = { month, start: monthStart(month), next: nextMonthStart(ms) };
  return lastSpan;
}

/** Whether a string is a month as `YYYY-MM`. */
export const isMonth = (value: string): value is Month => MONTH.test(value);
