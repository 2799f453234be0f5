/**
 * The harness's arithmetic, pure and tested: percentiles of latency samples, the median of
 * interleaved rounds, gateway/baseline ratios checked against the targets, and the trend of
 * the soak's RSS samples (a least-squares slope).
 */

/** The `p`-th percentile (0 < p <= 100) of ascending `sorted`, nearest-rank. NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  // Nearest rank: the smallest value with at least p% of the samples at or below it. The slack
  // keeps float noise (0.999 * 1000 = 999.0000000000001) from skipping a rank.
  const rank = Math.ceil((p / 100) * n - 1e-9);
  return sorted[Math.min(n, Math.max(1, rank)) - 1]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface LatencySummary {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  count: number;
}

/** Percentiles of latency samples (any order; the array is sorted in place). */
export function summarizeLatencies(samples: Float64Array): LatencySummary {
  samples.sort();
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    p999: percentile(samples, 99.9),
    max: samples.length === 0 ? Number.NaN : samples[samples.length - 1]!,
    count: samples.length,
  };
}

/** One timed run of one target under load. */
export interface RunMeasurement {
  requestsPerSecond: number;
  latencyMs: LatencySummary;
  /** Highest VmRSS of the target process seen during the run. */
  rssMaxMb: number;
  /** CPU time (user + system) the target process used per answered request. */
  cpuUsPerRequest: number;
  /** The part of `cpuUsPerRequest` spent in the kernel (system calls, loopback network). */
  systemCpuUsPerRequest: number;
  /** Answers that were not 2xx, plus socket errors and timeouts. */
  failures: number;
  /** Cores other processes (not the run's) used meanwhile: a disturbed run shows here. */
  foreignCores?: number;
  /** For a target on the Redis stores: CPU time redis-server used per answered request (it shares the machine's cores). */
  redisCpuUsPerRequest?: number;
}

/** Several interleaved rounds of one target, condensed: medians, so one disturbed round does not decide. */
export interface TargetSummary {
  rounds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  rssMaxMb: number;
  cpuUsPerRequest: number;
  /** Of which in the kernel (median of rounds). */
  systemCpuUsPerRequest: number;
  failures: number;
  /** Every round's throughput, to show the spread. */
  requestsPerSecondByRound: number[];
  /** The most cores other processes used during any of the rounds. */
  foreignCoresMax: number;
  /** redis-server's CPU per request (median of rounds), for a target on the Redis stores. */
  redisCpuUsPerRequest?: number;
}

export function summarizeRounds(runs: readonly RunMeasurement[]): TargetSummary {
  if (runs.length === 0) throw new RangeError('no rounds to summarize');
  return {
    rounds: runs.length,
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p50Ms: median(runs.map((r) => r.latencyMs.p50)),
    p99Ms: median(runs.map((r) => r.latencyMs.p99)),
    p999Ms: median(runs.map((r) => r.latencyMs.p999)),
    // Memory is a ceiling, not a typical value: the worst round counts.
    rssMaxMb: Math.max(...runs.map((r) => r.rssMaxMb)),
    cpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest)),
    systemCpuUsPerRequest: median(runs.map((r) => r.systemCpuUsPerRequest)),
    failures: runs.reduce((sum, r) => sum + r.failures, 0),
    requestsPerSecondByRound: runs.map((r) => r.requestsPerSecond),
    foreignCoresMax: Math.max(0, ...runs.map((r) => r.foreignCores ?? 0)),
    ...(runs.some((r) => r.redisCpuUsPerRequest !== undefined) ? { redisCpuUsPerRequest: median(runs.map((r) => r.redisCpuUsPerRequest ?? Number.NaN)) } : {}),
  };
}

export type TargetDirection = 'atLeast' | 'atMost';

export interface TargetCheck {
  name: string;
  measured: number;
  target: number;
  direction: TargetDirection;
  met: boolean;
  /** How the goal reads when `≥`/`≤ target` does not say it (e.g. `= 1`). */
  goal?: string;
}

export function checkTarget(name: string, measured: number, direction: TargetDirection, target: number): TargetCheck {
  const met = Number.isFinite(measured) && (direction === 'atLeast' ? measured >= target : measured <= target);
  return { name, measured, target, direction, met };
}

/** `a / b`, NaN when `b` is 0 or either is not a finite number. */
export function ratio(a: number, b: number): number {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN;
}

export interface LinearFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination, 0 when y does not vary. */
  r2: number;
}

/** Ordinary least squares of y on x. Needs two distinct x values. */
export function linearRegression(points: ReadonlyArray<{ x: number; y: number }>): LinearFit {
  const n = points.length;
  if (n < 2) throw new RangeError('a trend needs at least two samples');
  let sx = 0;
  let sy = 0;
  for (const { x, y } of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const { x, y } of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
    syy += (y - my) ** 2;
  }
  if (sxx === 0) throw new RangeError('a trend needs samples at two different times');
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 0 : (sxy * sxy) / (sxx * syy) };
}

export interface RssSample {
  elapsedS: number;
  rssMb: number;
}

export interface RssTrend {
  /** Samples the fit used (after the warm-up share). */
  samples: number;
  /** MB per minute, least squares over the analysed samples. */
  slopeMbPerMin: number;
  /** What the slope adds over the analysed span, in MB. */
  riseMb: number;
  r2: number;
  meanMb: number;
  maxMb: number;
  /**
   * True when the fitted rise over the analysed span is above `max(minRiseMb, minRiseShare × mean)`:
   * allocator and GC noise are a few MB either way, a leak keeps climbing.
   */
  upward: boolean;
}

export interface TrendOptions {
  /** Share of the run (by time) ignored at the start: heaps and pools grow to their working size first. Default 0.2. */
  warmupShare?: number;
  minRiseMb?: number;
  minRiseShare?: number;
}

export function rssTrend(samples: readonly RssSample[], options: TrendOptions = {}): RssTrend {
  const warmupShare = options.warmupShare ?? 0.2;
  const minRiseMb = options.minRiseMb ?? 5;
  const minRiseShare = options.minRiseShare ?? 0.05;
  if (samples.length < 2) throw new RangeError('a trend needs at least two samples');
  const end = samples[samples.length - 1]!.elapsedS;
  const start = samples[0]!.elapsedS;
  const from = start + (end - start) * warmupShare;
  let analysed = samples.filter((s) => s.elapsedS >= from);
  if (analysed.length < 2) analysed = samples.slice(-2);
  const fit = linearRegression(analysed.map((s) => ({ x: s.elapsedS, y: s.rssMb })));
  const span = analysed[analysed.length - 1]!.elapsedS - analysed[0]!.elapsedS;
  const meanMb = analysed.reduce((sum, s) => sum + s.rssMb, 0) / analysed.length;
  const riseMb = fit.slope * span;
  return {
    samples: analysed.length,
    slopeMbPerMin: fit.slope * 60,
    riseMb,
    r2: fit.r2,
    meanMb,
    maxMb: Math.max(...samples.map((s) => s.rssMb)),
    upward: riseMb > Math.max(minRiseMb, minRiseShare * meanMb),
  };
}
