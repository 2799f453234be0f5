/**
 * What the core counts, as small interfaces (ports) with nothing of a metrics library in them:
 * prom-client's `Counter`, `Gauge` and `Histogram` fit them as they are (`adapters/node/prometheus-metrics.ts`,
 * the Node adapter's), and `silentMetrics()` keeps nothing, for a runtime that has no scrape
 * endpoint (Workers) or a test that does not look.
 *
 * ```ts
 * metrics.requests.inc({ tenant: 'reporting', operation: 'getWorkspace', status: 200 });
 * const page = await metrics.expose?.(); // Prometheus text, where the implementation keeps one
 * ```
 */
import type { UsageRow } from '../quota/usage-report.js';

export type MetricLabels<L extends string> = Partial<Record<L, string | number>>;

export interface CounterMetric<L extends string = never> {
  inc(labels?: MetricLabels<L>, value?: number): void;
}

export interface GaugeMetric<L extends string = never> {
  set(labels: MetricLabels<L>, value: number): void;
}

export interface HistogramMetric<L extends string = never> {
  /** A duration in seconds, or any other observed value. */
  observe(labels: MetricLabels<L>, value: number): void;
}

export interface GatewayMetrics {
  readonly requests: CounterMetric<'tenant' | 'operation' | 'status'>;
  readonly requestDuration: HistogramMetric<'operation'>;
  readonly upstreamDuration: HistogramMetric<'operation' | 'status'>;
  readonly upstreamRetries: CounterMetric<'operation' | 'reason'>;
  readonly tokenFetches: CounterMetric<'app' | 'result'>;
  readonly rateLimited: CounterMetric<'tenant' | 'limit'>;
  readonly quotaRefused: CounterMetric<'tenant' | 'limit'>;
  readonly qpsWait: HistogramMetric<'operation' | 'outcome'>;
  /** Requests waiting for one of DingTalk's QPS slots now (the gateway sets where to read it). */
  readonly qpsQueued: { source?: () => number };
  readonly redisFallbacks: CounterMetric<'store'>;
  readonly redisUp: GaugeMetric<'store'>;
  /** Reads of cached operations, by what the cache did (hit, miss, collapsed, bypass). */
  readonly cacheRequests: CounterMetric<'tenant' | 'operation' | 'result'>;
  /** DingTalk calls the read cache spared (hits and collapsed requests). */
  readonly cacheCallsSaved: CounterMetric<'tenant' | 'operation'>;
  /** POSTs with an Idempotency-Key, by what became of them (first, replayed, inProgress, keyReused, outcomeUnknown). */
  readonly idempotencyRequests: CounterMetric<'tenant' | 'operation' | 'result'>;
  /** DingTalk's bans of the egress IP, as they start. */
  readonly dingtalkBans: CounterMetric;
  /** Whether DingTalk bans the egress IP now (the gateway sets where to read it). */
  readonly dingtalkBanned: { source?: () => boolean };
  /**
   * Where the month's usage is read at each scrape (set by the gateway): the used and remaining
   * calls per org, per tenant and per pool.
   */
  readonly quotaUsage: { source?: () => Promise<UsageRow[]> };
  /** The config generation in force: 1 at start, +1 per applied reload. */
  readonly configGeneration: GaugeMetric;
  /** Reloads of the config, by outcome (applied, refused). */
  readonly configReloads: CounterMetric<'outcome'>;
  /** When the last reload was attempted, in Unix seconds. */
  readonly configReloadTime: GaugeMetric;
  /** The scrape page (`/metrics` on the metrics listener); absent where nothing is kept. */
  readonly expose?: () => Promise<{ contentType: string; body: string }>;
}

/** Metrics that keep nothing: every port a no-op, no scrape page. */
export function silentMetrics(): GatewayMetrics {
  const counter = { inc() {} };
  const gauge = { set() {} };
  const histogram = { observe() {} };
  return {
    requests: counter,
    requestDuration: histogram,
    upstreamDuration: histogram,
    upstreamRetries: counter,
    tokenFetches: counter,
    rateLimited: counter,
    quotaRefused: counter,
    qpsWait: histogram,
    qpsQueued: {},
    redisFallbacks: counter,
    redisUp: gauge,
    cacheRequests: counter,
    cacheCallsSaved: counter,
    idempotencyRequests: counter,
    dingtalkBans: counter,
    dingtalkBanned: {},
    quotaUsage: {},
    configGeneration: gauge,
    configReloads: counter,
    configReloadTime: gauge,
  };
}
