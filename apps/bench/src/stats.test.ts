import { describe, expect, it } from 'vitest';
import { checkTarget, linearRegression, median, percentile, ratio, rssTrend, summarizeLatencies, summarizeRounds, type RunMeasurement } from './stats.js';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('picks the smallest value with at least p% of the samples at or below it', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 99.9)).toBe(100);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0.5)).toBe(1);
  });

  it('handles one sample, and no samples as NaN', () => {
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([7], 99.9)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('refuses a percentile outside (0, 100]', () => {
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('summarizeLatencies', () => {
  it('sorts the samples and reports p50, p99, p99.9 and the maximum', () => {
    const samples = Float64Array.from({ length: 1000 }, (_, i) => 1000 - i);
    expect(summarizeLatencies(samples)).toEqual({ p50: 500, p99: 990, p999: 999, max: 1000, count: 1000 });
  });
});

describe('summarizeRounds', () => {
  const run = (rps: number, p99: number, rss: number, failures = 0): RunMeasurement => ({
    requestsPerSecond: rps,
    latencyMs: { p50: p99 / 4, p99, p999: p99 * 2, max: p99 * 3, count: 1 },
    rssMaxMb: rss,
    cpuUsPerRequest: 1e6 / rps,
    systemCpuUsPerRequest: 1e5 / rps,
    failures,
  });

  it('takes medians over rounds (one disturbed round does not decide), the worst RSS, and sums failures', () => {
    const summary = summarizeRounds([run(1000, 4, 100), run(400, 40, 90, 2), run(1100, 5, 120, 1)]);
    expect(summary.rounds).toBe(3);
    expect(summary.requestsPerSecond).toBe(1000);
    expect(summary.p99Ms).toBe(5);
    expect(summary.p999Ms).toBe(10);
    expect(summary.rssMaxMb).toBe(120);
    expect(summary.failures).toBe(3);
    expect(summary.requestsPerSecondByRound).toEqual([1000, 400, 1100]);
    expect(summary.cpuUsPerRequest).toBe(1000);
    expect(summary.systemCpuUsPerRequest).toBe(100);
  });

  it('refuses zero rounds', () => {
    expect(() => summarizeRounds([])).toThrow(RangeError);
  });
});

describe('ratio and checkTarget', () => {
  it('divides, and is NaN when it cannot', () => {
    expect(ratio(8, 10)).toBe(0.8);
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(Number.NaN, 1)).toBeNaN();
  });

  it('checks at-least and at-most goals, inclusive, and never passes NaN', () => {
    expect(checkTarget('t', 0.8, 'atLeast', 0.8).met).toBe(true);
    expect(checkTarget('t', 0.79, 'atLeast', 0.8).met).toBe(false);
    expect(checkTarget('p', 1.5, 'atMost', 1.5).met).toBe(true);
    expect(checkTarget('p', 1.51, 'atMost', 1.5).met).toBe(false);
    expect(checkTarget('p', Number.NaN, 'atMost', 1.5).met).toBe(false);
  });
});

describe('linearRegression', () => {
  it('recovers an exact line', () => {
    const fit = linearRegression([0, 1, 2, 3].map((x) => ({ x, y: 3 * x + 2 })));
    expect(fit.slope).toBeCloseTo(3, 12);
    expect(fit.intercept).toBeCloseTo(2, 12);
    expect(fit.r2).toBeCloseTo(1, 12);
  });

  it('gives slope 0 and r² 0 for a flat series, and refuses a single time', () => {
    expect(linearRegression([0, 1, 2].map((x) => ({ x, y: 5 })))).toEqual({ slope: 0, intercept: 5, r2: 0 });
    expect(() => linearRegression([{ x: 1, y: 1 }])).toThrow(RangeError);
    expect(() => linearRegression([{ x: 1, y: 1 }, { x: 1, y: 2 }])).toThrow(RangeError);
  });
});

describe('rssTrend', () => {
  const series = (f: (t: number) => number, seconds = 600, every = 5) => Array.from({ length: seconds / every + 1 }, (_, i) => ({ elapsedS: i * every, rssMb: f(i * every) }));

  it('sees no upward trend in a flat series with allocator noise, nor after a warm-up climb', () => {
    const noisy = series((t) => 120 + 3 * Math.sin(t / 7) + ((t * 37) % 11) / 5);
    expect(rssTrend(noisy).upward).toBe(false);
    const warmup = series((t) => (t < 60 ? 80 + t / 2 : 110 + Math.cos(t)));
    const trend = rssTrend(warmup);
    expect(trend.upward).toBe(false);
    expect(Math.abs(trend.slopeMbPerMin)).toBeLessThan(0.1);
  });

  it('sees a leak: a steady climb past the noise allowance', () => {
    const leak = series((t) => 100 + t / 30); // 2 MB/min, 16 MB over the analysed 480 s
    const trend = rssTrend(leak);
    expect(trend.upward).toBe(true);
    expect(trend.slopeMbPerMin).toBeCloseTo(2, 6);
    expect(trend.riseMb).toBeCloseTo(16, 6);
    expect(trend.samples).toBe(97);
    expect(trend.maxMb).toBeCloseTo(120, 6);
  });

  it('ignores the warm-up share and uses at least the last two samples', () => {
    const two = rssTrend([
      { elapsedS: 0, rssMb: 10 },
      { elapsedS: 5, rssMb: 200 },
    ]);
    expect(two.samples).toBe(2);
    expect(() => rssTrend([{ elapsedS: 0, rssMb: 1 }])).toThrow(RangeError);
  });
});
