/**
 * The gateway's configuration for a run: its production configuration (every feature on: API
 * keys, scopes, validation, tenant and per-operation limits, DingTalk's QPS guard, access logs at
 * `info`, metrics), with limits far above what a run can reach so none of them ever refuses, and
 * the bench upstream as DingTalk.
 */
import { createHash } from 'node:crypto';

export const BENCH_APP_SECRET_ENV = 'DTG_BENCH_APP_SECRET';

/** The API key of bench tenant `i` (deterministic, so the load generator knows it). */
export function benchApiKey(i: number): string {
  return `dtg_bench_key_${String(i).padStart(6, '0')}_not_for_production`;
}

export interface BenchConfigOptions {
  upstreamUrl: string;
  /** Tenants `t0` … `t{n-1}`, one key each. Default 1. */
  tenants?: number;
  /** Redis stores, the URL read from `REDIS_URL` as in config/production.example.yaml. */
  redis?: { keyPrefix: string };
  /** Keep-alive connections to the upstream (the baseline gets the same). */
  upstreamConnections: number;
  /** The DingTalk app's key (its secret in `BENCH_APP_SECRET_ENV`). Default: the bench upstream's, which takes any. */
  appKey?: string;
  /** The read cache: seconds of life by GET operation. Default: off, as in production's default. */
  cache?: Readonly<Record<string, number>>;
}

/** Far above any rate a run reaches on this machine, so no limit is ever the bottleneck. */
const UNREACHED_RATE = 1_000_000;
/**
 * DingTalk's QPS guard keeps the last `qpsLimit` admissions of each app and operation (8 bytes
 * each, in memory): high enough never to trigger at the rates a run reaches, low enough not to
 * inflate RSS (100 000 → 0.8 MB per operation).
 */
const UNREACHED_QPS = 100_000;
/**
 * DingTalk's per-IP window, kept but never reached: 100,000 calls a second (its log is 0.8 MB in
 * memory, as the QPS guard's; in Redis it holds the last second's calls).
 */
const UNREACHED_IP_WINDOW = '{ limit: 100000, windowMs: 1000 }';
/** More metered calls than any run makes (a comparison makes millions). */
const UNREACHED_MONTHLY_CALLS = 1_000_000_000_000;

export function benchGatewayConfig(options: BenchConfigOptions): string {
  const tenants = options.tenants ?? 1;
  const lines: string[] = [
    '# Written by @dingtalk-gateway/bench for one run: the production configuration, limits out of reach.',
    'server:',
    '  host: 127.0.0.1',
    '  port: 0',
    '  bodyLimitBytes: 1048576',
    '  shutdownGraceMs: 5000',
    'upstream:',
    `  baseUrl: ${options.upstreamUrl}`,
    '  connectTimeoutMs: 3000',
    '  responseTimeoutMs: 10000',
    `  connections: ${options.upstreamConnections}`,
    '  getRetries: 2',
    'dingtalk:',
    `  qpsLimit: ${UNREACHED_QPS}`,
    `  ipWindow: ${UNREACHED_IP_WINDOW}`,
    // The monthly call quota is counted (the ledger is measured) but never reached.
    'orgs:',
    '  bench-org:',
    `    monthlyCallQuota: ${UNREACHED_MONTHLY_CALLS}`,
    'apps:',
    '  bench-app:',
    '    type: internal',
    `    appKey: ${options.appKey ?? 'dingbenchapp'}`,
    `    appSecretEnv: ${BENCH_APP_SECRET_ENV}`,
    'tenants:',
  ];
  for (let i = 0; i < tenants; i++) {
    const sha256 = createHash('sha256').update(benchApiKey(i)).digest('hex');
    lines.push(
      `  t${i}:`,
      `    name: Bench tenant ${i}`,
      '    app: bench-app',
      `    apiKeys: [{ sha256: "${sha256}", label: bench }]`,
      '    scopes: [Wiki.Workspace.Read, Wiki.Workspace.Write, Document.WorkspaceDocument.Write, Drive.Space.Write]',
      `    rateLimit: { rate: ${UNREACHED_RATE}, burst: ${UNREACHED_RATE} }`,
      // As in config/production.example.yaml: a tighter limit on one write operation, so that
      // path (a second limiter decision per POST) is measured too.
      '    operationLimits:',
      `      addWorkspace: { rate: ${UNREACHED_RATE}, burst: ${UNREACHED_RATE} }`,
    );
  }
  if (options.cache) {
    lines.push('cache:', '  operations:', ...Object.entries(options.cache).map(([operationId, ttlSeconds]) => `    ${operationId}: { ttlSeconds: ${ttlSeconds} }`));
  }
  if (options.redis) {
    lines.push('redis:', '  urlEnv: REDIS_URL', `  keyPrefix: '${options.redis.keyPrefix}'`, '  timeoutMs: 50', '  tokenTimeoutMs: 250', '  whenDown: local');
  }
  lines.push('observability:', '  logLevel: info', '  metrics:', '    enabled: true', '    host: 127.0.0.1', '    port: 0');
  return `${lines.join('\n')}\n`;
}
