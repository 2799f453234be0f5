/**
 * Soak: the gateway (memory stores, every feature on) under steady load, GET and POST in turn,
 * for a fixed duration. Every few seconds: its RSS, its V8 heap (from its own /metrics), the
 * throughput and p99 of that interval. Written as CSV (one row per sample, plot-friendly) with a
 * summary: the least-squares RSS slope after the warm-up share, and whether it trends upward.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import autocannon from 'autocannon';
import { type ForkedChild, type GatewayChild, rssMb } from '../children.js';
import type { RunContext } from '../context.js';
import { toCsv } from '../csv.js';
import { benchApiKey } from '../gateway-config.js';
import { OPERATIONS, drive, requestHeaders } from '../load.js';
import { type RssSample, type RssTrend, percentile, rssTrend } from '../stats.js';
import { heapMb } from './many-tenants.js';

export interface SoakSample {
  elapsedS: number;
  rssMb: number;
  heapUsedMb: number;
  requestsPerSecond: number;
  p99Ms: number;
  failures: number;
}

export interface SoakResult {
  durationS: number;
  sampleIntervalS: number;
  connections: number;
  requests: number;
  failures: number;
  trend: RssTrend;
  csvFile: string;
}

export const SOAK_COLUMNS = ['elapsed_s', 'rss_mb', 'heap_used_mb', 'requests_per_s', 'p99_ms', 'failures'] as const;

export function soakCsv(samples: readonly SoakSample[]): string {
  const r = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
  return toCsv(
    SOAK_COLUMNS,
    samples.map((s) => [r(s.elapsedS, 1), r(s.rssMb, 1), r(s.heapUsedMb, 1), r(s.requestsPerSecond, 0), r(s.p99Ms, 3), s.failures]),
  );
}

export async function runSoak(ctx: RunContext): Promise<SoakResult> {
  const { options, log } = ctx;
  const started: Array<ForkedChild | GatewayChild> = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    const upstream = await ctx.startUpstream();
    started.push(upstream);
    const gateway = await ctx.startGateway({ name: 'soak', upstreamUrl: upstream.url });
    started.push(gateway);
    const key = benchApiKey(0);
    for (const operation of OPERATIONS) await drive({ url: gateway.url, operation, connections: options.connections, durationS: options.warmupS, apiKey: key });

    const samples: SoakSample[] = [];
    let interval: number[] = [];
    let intervalFailures = 0;
    let total = 0;
    let failures = 0;
    const t0 = performance.now();
    let last = t0;
    const takeSample = async () => {
      const now = performance.now();
      const latencies = Float64Array.from(interval).sort();
      const sample: SoakSample = {
        elapsedS: (now - t0) / 1000,
        rssMb: rssMb(gateway.pid),
        heapUsedMb: (await heapMb(gateway.metricsUrl)).usedMb,
        requestsPerSecond: (latencies.length - intervalFailures) / ((now - last) / 1000),
        p99Ms: percentile(latencies, 99),
        failures: intervalFailures,
      };
      interval = [];
      intervalFailures = 0;
      last = now;
      samples.push(sample);
      log(`  ${sample.elapsedS.toFixed(0).padStart(6)} s  RSS ${sample.rssMb.toFixed(1)} MB  heap ${sample.heapUsedMb.toFixed(1)} MB  ${sample.requestsPerSecond.toFixed(0)} req/s  p99 ${sample.p99Ms.toFixed(2)} ms${sample.failures ? `  failures ${sample.failures}` : ''}`);
    };

    const instance = autocannon({
      url: gateway.url,
      connections: options.connections,
      pipelining: 1,
      duration: options.durationS,
      timeout: 10,
      requests: OPERATIONS.map((operation) => ({ method: operation.method, path: operation.path, body: operation.body, headers: requestHeaders(operation, key) })),
    });
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
      total += 1;
      interval.push(responseTimeMs);
      if (statusCode < 200 || statusCode >= 300) {
        intervalFailures += 1;
        failures += 1;
      }
    });
    timer = setInterval(() => void takeSample(), options.sampleIntervalS * 1000);
    const result = await instance;
    clearInterval(timer);
    failures += result.errors + result.timeouts;

    const csv = soakCsv(samples);
    mkdirSync(options.resultsDir, { recursive: true });
    const csvFile = join(options.resultsDir, 'soak-latest.csv');
    writeFileSync(csvFile, csv);
    const trend = rssTrend(samples.map((s): RssSample => ({ elapsedS: s.elapsedS, rssMb: s.rssMb })));
    // Relative, so the committed summary names no machine's directories.
    return { durationS: options.durationS, sampleIntervalS: options.sampleIntervalS, connections: options.connections, requests: total, failures, trend, csvFile: relative(process.cwd(), csvFile) };
  } finally {
    if (timer) clearInterval(timer);
    for (const child of started.reverse()) await child.stop();
  }
}
