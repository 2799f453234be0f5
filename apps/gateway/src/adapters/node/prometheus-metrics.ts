/**
 * The gateway's metrics on prom-client, for runtimes with Node's modules (Node, and Bun and Deno
 * through their Node compatibility): one registry per gateway instance (several can live in one
 * process, e.g. in tests), served as Prometheus text by `expose`.
 *
 * ```ts
 * const metrics = createPrometheusMetrics({ processMetrics: true });
 * const gateway = createGateway(config, { ...deps, metrics });
 * ```
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { GatewayMetrics } from '../../core/observability/metrics.js';
import type { UsageRow } from '../../core/quota/usage-report.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createPrometheusMetrics(options: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'dtg_' });
  const quotaUsage: GatewayMetrics['quotaUsage'] = {};
  const qpsQueued: GatewayMetrics['qpsQueued'] = {};
  const dingtalkBanned: GatewayMetrics['dingtalkBanned'] = {};
  new Gauge({
    name: 'dtg_dingtalk_banned',
    help: "1 while DingTalk bans this instance's egress IP (nothing is sent to DingTalk), else 0.",
    registers: [registry],
    collect() {
      this.set(dingtalkBanned.source?.() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'dtg_qps_queued_requests',
    help: "Requests waiting now for a slot of DingTalk's per-app, per-API QPS limit.",
    registers: [registry],
    collect() {
      this.set(qpsQueued.source?.() ?? 0);
    },
  });
  // Both gauges of one scrape read the ledger once.
  let read: { at: number; rows: Promise<UsageRow[]> } | undefined;
  const rows = () => {
    if (!quotaUsage.source) return Promise.resolve([]);
    if (read === undefined || performance.now() - read.at > 1_000) read = { at: performance.now(), rows: quotaUsage.source() };
    return read.rows;
  };
  const labelsOf = (row: UsageRow) => ({ org: row.org, tenant: row.kind === 'org' ? '' : row.kind === 'pool' ? '(pool)' : row.tenant! });
  const metrics = {
    quotaUsage,
    qpsQueued,
    dingtalkBanned,
    expose: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    cacheRequests: new Counter({ name: 'dtg_cache_requests_total', help: 'Reads of cached operations, by tenant, operation and what the cache did: hit, miss, collapsed (shared an identical request under way), bypass (Cache-Control).', labelNames: ['tenant', 'operation', 'result'], registers: [registry] }),
    cacheCallsSaved: new Counter({ name: 'dtg_cache_dingtalk_calls_saved_total', help: 'DingTalk calls the read cache spared (hits and collapsed requests): neither a QPS slot nor a call of the month.', labelNames: ['tenant', 'operation'], registers: [registry] }),
    idempotencyRequests: new Counter({ name: 'dtg_idempotency_requests_total', help: 'POSTs with an Idempotency-Key, by tenant, operation and what became of them: first (sent), replayed (the kept answer, no DingTalk call), inProgress, keyReused, outcomeUnknown.', labelNames: ['tenant', 'operation', 'result'], registers: [registry] }),
    dingtalkBans: new Counter({ name: 'dtg_dingtalk_bans_total', help: "Bans of this instance's egress IP by DingTalk (its per-IP limit), as they start.", registers: [registry] }),
    qpsWait: new Histogram({
      name: 'dtg_qps_wait_seconds',
      help: "How long requests over DingTalk's QPS limit waited for a slot, by operation and outcome (admitted, timeout, full, gone, closed).",
      labelNames: ['operation', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5],
      registers: [registry],
    }),
    registry,
    requests: new Counter({ name: 'dtg_requests_total', help: 'Requests answered, by tenant, operation and status.', labelNames: ['tenant', 'operation', 'status'], registers: [registry] }),
    requestDuration: new Histogram({ name: 'dtg_request_duration_seconds', help: 'Time to answer a request, gateway and DingTalk together.', labelNames: ['operation'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    upstreamDuration: new Histogram({ name: 'dtg_upstream_duration_seconds', help: 'Time DingTalk took per attempt.', labelNames: ['operation', 'status'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    upstreamRetries: new Counter({ name: 'dtg_upstream_retries_total', help: 'Requests sent to DingTalk again, by reason.', labelNames: ['operation', 'reason'], registers: [registry] }),
    tokenFetches: new Counter({ name: 'dtg_token_fetches_total', help: 'DingTalk access token fetches, by app and result.', labelNames: ['app', 'result'], registers: [registry] }),
    rateLimited: new Counter({ name: 'dtg_rate_limited_total', help: 'Requests refused by a rate limit, by tenant and limit.', labelNames: ['tenant', 'limit'], registers: [registry] }),
    quotaRefused: new Counter({ name: 'dtg_quota_refused_total', help: "Requests refused because a monthly call limit is spent, by tenant and limit (tenant: its allocation, pool, org: the org's quota).", labelNames: ['tenant', 'limit'], registers: [registry] }),
    redisFallbacks: new Counter({ name: 'dtg_redis_fallbacks_total', help: 'Times a shared store lost Redis and switched to its fallback.', labelNames: ['store'], registers: [registry] }),
    configGeneration: new Gauge({ name: 'dtg_config_generation', help: 'The config generation in force: 1 at start, +1 per applied reload (SIGHUP).', registers: [registry] }),
    configReloads: new Counter({ name: 'dtg_config_reloads_total', help: 'Reloads of the config file, by outcome: applied, refused (the last good config stays in force).', labelNames: ['outcome'], registers: [registry] }),
    configReloadTime: new Gauge({ name: 'dtg_config_last_reload_timestamp_seconds', help: 'When the config was last reloaded or a reload refused (Unix time).', registers: [registry] }),
    redisUp: new Gauge({ name: 'dtg_redis_up', help: '1 while a shared store uses Redis, 0 while it runs on its fallback.', labelNames: ['store'], registers: [registry] }),
    quotaUsed: new Gauge({
      name: 'dtg_quota_used_calls',
      help: 'Metered calls this month (China Standard Time), per org (tenant=""), per tenant and per pool (tenant="(pool)").',
      labelNames: ['org', 'tenant'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await rows()) this.set(labelsOf(row), row.used);
      },
    }),
    quotaRemaining: new Gauge({
      name: 'dtg_quota_remaining_calls',
      help: "Metered calls left this month: an org's, a tenant's (its allocation, or its pool's), a pool's.",
      labelNames: ['org', 'tenant'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await rows()) this.set(labelsOf(row), row.left);
      },
    }),
  };
  return metrics satisfies GatewayMetrics;
}

export type PrometheusMetrics = ReturnType<typeof createPrometheusMetrics>;
