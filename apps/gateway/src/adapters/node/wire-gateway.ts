/**
 * Everything a gateway process needs around the core, on a runtime with Node's modules (Node,
 * and Bun, which runs the same wiring): pino to stdout, prom-client, the secrets from the
 * environment, the Redis stores or the local ledger file, the built docs portal. Each runtime's
 * entry adds only its upstream client, its listener and its shutdown (`node/server.ts`,
 * `bun/server.ts`).
 *
 * ```ts
 * const { gateway, logger, release } = await wireGateway({ config, env: process.env, upstream });
 * // listen with gateway.app.fetch; on shutdown, after the drain:
 * await release();
 * ```
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { MemoryQuotaLedger, type QuotaLedger } from '@dingtalk-gateway/call-quota';
import { fileLedgerPersistence } from '@dingtalk-gateway/call-quota/file';
import { docsDir, docsPages } from '@dingtalk-gateway/docs';
import { type Logger, pino } from 'pino';
import type { GatewayConfig } from '../../config/schema.js';
import { secretsFromEnvironment } from '../../config/secrets.js';
import { type Gateway, createGateway, longestRequestMs } from '../../core/create-gateway.js';
import { sha256Hex } from './api-key.js';
import type { Upstream } from '../../core/proxy/upstream.js';
import { cachePlanOf } from '../../core/read-cache/plan.js';
import { type ReloadOutcome, type ReloadableGateway, reloadableGateway } from '../../core/reload/reloadable.js';
import type { TokenProviderFactory } from '../../core/tokens/registry.js';
import { turnBatchedDestination } from './log-destination.js';
import { type PrometheusMetrics, createPrometheusMetrics } from './prometheus-metrics.js';
import { createRedisStores } from './redis-stores.js';
import { createAuditLog } from './audit.js';
import { createOtelTracer } from './otel-tracer.js';

/** How long start-up waits for Redis before serving on the fallbacks. */
const REDIS_CONNECT_TIMEOUT_MS = 3_000;

export interface WireGatewayOptions {
  config: GatewayConfig;
  env: NodeJS.ProcessEnv;
  upstream: Upstream;
  /** Default: pino to stdout, the lines of each event-loop turn in one write (see log-destination.ts). */
  logger?: Logger;
  tokenProviders?: TokenProviderFactory;
  /** Default: in Redis when configured, else in memory kept in `ledger.file`. */
  ledger?: QuotaLedger;
}

export interface WiredGateway {
  /** The gateway, its config replaceable while it serves (`reload`). */
  gateway: ReloadableGateway<PrometheusMetrics>;
  /** `gateway.reload`, its outcome logged: what changed, or why it was refused. */
  reload(next: GatewayConfig | { error: Error }): ReloadOutcome;
  logger: Logger;
  /** After the listener has drained: the ledger written, the Redis stores closed, the log flushed. */
  release(): Promise<void>;
}

/** What each runtime's entry returns: the gateway behind its listeners. */
export interface RunningGateway {
  url: string;
  metricsUrl: string | undefined;
  /** The gateway in force now (a reload replaces it). */
  readonly gateway: Gateway;
  /** Replaces the config while serving, or refuses it (the last good one stays): see `core/reload/reloadable.ts`. */
  reload(next: GatewayConfig | { error: Error }): ReloadOutcome;
  /** Stops accepting connections, waits for in-flight requests (at most `shutdownGraceMs`), then closes everything. */
  close(): Promise<void>;
}

/**
 * A runtime's running gateway from its wiring and its listeners (`stop`: stop accepting, drain
 * within the grace period): closed once, in order: the requests waiting for a QPS slot answered,
 * the listeners drained, the upstream closed, then the stores and the log.
 */
export function runningGateway(wired: WiredGateway, upstream: Upstream, listening: { url: string; metricsUrl: string | undefined; stop(): Promise<void> }): RunningGateway {
  let closing: Promise<void> | undefined;
  return {
    url: listening.url,
    metricsUrl: listening.metricsUrl,
    get gateway() {
      return wired.gateway.current;
    },
    reload: wired.reload,
    close() {
      closing ??= (async () => {
        // Requests waiting for a DingTalk QPS slot are answered now (503, send again: another instance serves it).
        wired.gateway.current.close();
        await listening.stop();
        await upstream.close();
        await wired.release();
      })();
      return closing;
    },
  };
}

export async function wireGateway(options: WireGatewayOptions): Promise<WiredGateway> {
  const { config } = options;
  const destination = options.logger === undefined ? turnBatchedDestination() : undefined;
  const logger = options.logger ?? pino({ level: config.observability.logLevel }, destination);
  const audit = createAuditLog(config, destination ?? logger);
  const tracing = config.observability.tracing ? createOtelTracer({ endpoint: config.observability.tracing.otlpEndpoint, serviceName: config.observability.tracing.serviceName }) : undefined;
  // Revocations are read from Redis before the gateway is built (at connect): the start's config until then.
  let configInForce = () => config;
  const metrics = createPrometheusMetrics({ processMetrics: true });
  const stores = config.redis
    ? createRedisStores(config.redis, options.env, logger, metrics, {
        keepInvalidationsMs: cachePlanOf(config).keepInvalidationsMs,
        // One fetch of a read for all instances, for at most as long as a request can take.
        lockMs: longestRequestMs(config),
      }, (sha256) => audit.record('revocation', { key: sha256.slice(0, 12), tenant: tenantOfKey(configInForce(), sha256) }))
    : undefined;
  await stores?.connected(REDIS_CONNECT_TIMEOUT_MS);
  const ledger = options.ledger ?? stores?.ledger ?? localLedger(config, logger);
  const docsPages = loadDocsPages(logger);
  // Each config's gateway, built at start and on every reload, on the same stores, logger and metrics.
  const build = (next: GatewayConfig, previous: Gateway<PrometheusMetrics> | undefined, reloadStatus: () => ReloadOutcome | undefined) =>
    createGateway(next, {
      upstream: options.upstream,
      secrets: secretsFromEnvironment(next, options.env, (file) => readFile(file, 'utf8')),
      requestLimiter: stores?.requestLimiter,
      // The limits' script reserves the call only in the stores' own ledger.
      limitsWithCall: stores && ledger === stores.ledger ? stores.limitsWithCall : undefined,
      tokenProviders: options.tokenProviders ?? stores?.tokenProviders,
      ledger,
      ...(stores ? { readCacheStore: stores.readCacheStore, idempotencyStore: stores.idempotencyStore } : {}),
      logger,
      metrics,
      sha256Hex,
      docsPages,
      previous,
      reloadStatus,
      ...(stores ? { revokedKeys: stores.revokedKeys } : {}),
      ...(tracing ? { tracer: tracing.tracer } : {}),
    });
  const gateway = reloadableGateway(config, build);
  configInForce = () => gateway.config;
  audit.record('start', { generation: 1, pid: process.pid, apps: Object.keys(config.apps), tenants: Object.keys(config.tenants).length, keys: keyCount(config), redis: config.redis !== undefined });
  return {
    gateway,
    logger,
    reload(next) {
      const before = gateway.config;
      const outcome = gateway.reload(next);
      const { generation, message, changes } = outcome;
      if (outcome.ok) logger.info({ generation, changes }, `config reloaded: ${message}`);
      else logger.error({ generation, reason: message }, 'config reload refused; the last good config stays in force');
      audit.record('reload', { ok: outcome.ok, generation, message, ...(changes ? { tenants: changes.tenants, keys: changes.keys, apps: changes.apps, sections: changes.sections } : {}) });
      // The response timeout and size bound apply to the exchanges that start from now on.
      if (outcome.ok && !('error' in next)) options.upstream.setLimits?.({ responseTimeoutMs: next.upstream.responseTimeoutMs, maxResponseBytes: next.upstream.maxResponseBytes });
      // A key dropped here is revoked on every instance sharing Redis, not only on this one.
      if (outcome.ok && stores && !('error' in next)) {
        const dropped = droppedKeyHashes(before, next);
        if (dropped.length > 0) {
          stores.revoke(dropped).catch((error: unknown) => logger.error({ keys: dropped.map((hash) => hash.slice(0, 12)), error: (error as Error).message }, 'keys dropped by the reload not revoked in Redis: the other instances accept them until their own reload'));
        }
      }
      return outcome;
    },
    async release() {
      // The last calls are settled by now; then written (file) or added to Redis.
      await ledger.close();
      await stores?.close();
      await tracing?.shutdown().catch((error: unknown) => logger.warn({ error: (error as Error).message }, 'spans not exported at shutdown'));
      audit.record('stop', { generation: gateway.generation, pid: process.pid });
      audit.flush();
      destination?.close();
    },
  };
}

/** One instance's ledger: in memory, kept in `ledger.file` (which a config file always has). */
function localLedger(config: GatewayConfig, logger: Logger): QuotaLedger {
  const { file, flushEveryMs } = config.ledger;
  if (file === undefined) {
    logger.warn('no ledger.file: the monthly call counts are kept in memory only and start from zero on every start');
    return new MemoryQuotaLedger();
  }
  return new MemoryQuotaLedger({
    persistence: fileLedgerPersistence(file),
    flushEveryMs,
    onFlushError: (error) => logger.error({ file, error: (error as Error).message }, 'the call ledger could not be written; retrying'),
  });
}

/** As bytes, never as text (memory: two pages of a few MB each, which as strings were only start-up garbage). */
function loadDocsPages(logger: Logger): Map<string, Uint8Array> | undefined {
  const pages = new Map<string, Uint8Array>();
  for (const page of Object.values(docsPages)) {
    const file = new URL(page.file, docsDir);
    if (!existsSync(file)) {
      logger.warn({ file: file.pathname }, 'docs portal not built; /docs is off (run the docs build)');
      return undefined;
    }
    pages.set(page.file, readFileSync(file));
  }
  return pages;
}

/**
 * A listener's graceful stop, bounded: `stop()` (no new connections, in-flight requests finish)
 * for at most `graceMs`; past it, a warning and `cut()` (Bun: close the connections; Deno: exit
 * with them).
 */
export async function stopWithin(graceMs: number, stop: () => Promise<void>, cut: () => Promise<void>, logger: Logger): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const graceOver = new Promise<'over'>((resolve) => (timer = setTimeout(() => resolve('over'), graceMs)));
  try {
    if ((await Promise.race([stop(), graceOver])) === 'over') {
      logger.warn({ graceMs }, 'shutdown grace period over; closing the remaining connections');
      await cut();
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The hashes of the keys in `before` that `after` no longer has. */
function droppedKeyHashes(before: GatewayConfig, after: GatewayConfig): string[] {
  const kept = new Set(Object.values(after.tenants).flatMap((tenant) => tenant.apiKeys.map((key) => key.sha256)));
  return Object.values(before.tenants).flatMap((tenant) => tenant.apiKeys.map((key) => key.sha256)).filter((hash) => !kept.has(hash));
}

const keyCount = (config: GatewayConfig) => Object.values(config.tenants).reduce((sum, tenant) => sum + tenant.apiKeys.length, 0);
/** The tenant whose key has this hash, if the config has it. */
export const tenantOfKey = (config: GatewayConfig, sha256: string): string | undefined => Object.entries(config.tenants).find(([, tenant]) => tenant.apiKeys.some((key) => key.sha256 === sha256))?.[0];
