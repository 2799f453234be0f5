/**
 * The Node entry: wires the real dependencies (undici pool, node:crypto, pino to stdout, the
 * built docs portal), listens, and shuts down gracefully.
 *
 * ```ts
 * const running = await startGateway({ config, env: process.env });
 * console.log(running.url);
 * await running.close(); // stop accepting, let in-flight requests finish (bounded), release the pool
 * ```
 */
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { docsDir, docsPages } from '@dingtalk-gateway/docs';
import { type Server, type ServerOptions, ServerResponse, createServer } from 'node:http';
import { type ServerType, getRequestListener } from '@hono/node-server';
import { MemoryQuotaLedger, type QuotaLedger } from '@dingtalk-gateway/call-quota';
import { fileLedgerPersistence } from '@dingtalk-gateway/call-quota/file';
import type { RateLimiter } from '@dingtalk-gateway/rate-limiter';
import { type Logger, pino } from 'pino';
import { secretsFromEnvironment } from '../config/secrets.js';
import type { GatewayConfig } from '../config/schema.js';
import { type Gateway, createGateway, longestRequestMs } from '../create-gateway.js';
import { sha256Hex } from '../keys/api-key.js';
import { turnBatchedDestination } from './log-destination.js';
import { createPrometheusMetrics } from './prometheus-metrics.js';
import { createUndiciUpstream } from '../proxy/undici-upstream.js';
import { answerClientError, answerConnect, answerExpectation, malformedRequestResponse, requireHost } from './protocol-errors.js';
import { cachePlanOf } from '../read-cache/plan.js';
import { createRedisStores } from './redis-stores.js';
import type { Upstream } from '../proxy/upstream.js';
import type { TokenProviderFactory } from '../tokens/registry.js';

/** How long start-up waits for Redis before serving on the fallbacks. */
const REDIS_CONNECT_TIMEOUT_MS = 3_000;

export interface StartGatewayOptions {
  config: GatewayConfig;
  env: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Default: an undici pool to `config.upstream.baseUrl`. */
  upstream?: Upstream;
  limiter?: RateLimiter;
  tokenProviders?: TokenProviderFactory;
  /** Default: in Redis when configured, else in memory kept in `ledger.file`. */
  ledger?: QuotaLedger;
}

export interface RunningGateway {
  url: string;
  metricsUrl: string | undefined;
  gateway: Gateway;
  /** Stops accepting connections, waits for in-flight requests (at most `shutdownGraceMs`), then closes everything. */
  close(): Promise<void>;
}

export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  // Its own logger: to stdout, the lines of each event-loop turn in one write (see log-destination.ts).
  const destination = options.logger === undefined ? turnBatchedDestination() : undefined;
  const logger = options.logger ?? pino({ level: config.observability.logLevel }, destination);
  const upstream =
    options.upstream ??
    createUndiciUpstream({
      baseUrl: config.upstream.baseUrl,
      connections: config.upstream.connections,
      connectTimeoutMs: config.upstream.connectTimeoutMs,
      responseTimeoutMs: config.upstream.responseTimeoutMs,
      maxResponseBytes: config.upstream.maxResponseBytes,
    });
  const metrics = createPrometheusMetrics({ processMetrics: true });
  const secrets = secretsFromEnvironment(config, options.env);
  const stores = config.redis ? createRedisStores(config.redis, options.env, logger, metrics, {
        keepInvalidationsMs: cachePlanOf(config).keepInvalidationsMs,
        // One fetch of a read for all instances, for at most as long as a request can take.
        lockMs: longestRequestMs(config),
      }) : undefined;
  await stores?.connected(REDIS_CONNECT_TIMEOUT_MS);
  const ledger = options.ledger ?? stores?.ledger ?? localLedger(config, logger);
  const gateway = createGateway(config, {
    upstream,
    secrets,
    limiter: options.limiter,
    // Given a limiter of its own (tests), the gateway asks it and an in-memory QPS guard in turn.
    requestLimiter: options.limiter ? undefined : stores?.requestLimiter,
    tokenProviders: options.tokenProviders ?? stores?.tokenProviders,
    ledger,
    ...(stores ? { readCacheStore: stores.readCacheStore, idempotencyStore: stores.idempotencyStore } : {}),
    logger,
    metrics,
    sha256Hex,
    docsPages: loadDocsPages(logger),
  });

  const server = await listen(gateway.app.fetch, config.server.host, config.server.port, {
    headersTimeout: config.server.headersTimeoutMs,
    requestTimeout: config.server.requestTimeoutMs,
    // Node looks for expired requests only this often (30 s by default): a slow client would
    // otherwise hold its socket up to 30 s past its timeout.
    connectionsCheckingInterval: Math.min(1_000, Math.ceil(config.server.headersTimeoutMs / 2)),
    maxHeaderSize: config.server.maxHeaderBytes,
  });
  const metricsServer = config.observability.metrics.enabled
    ? await listen(gateway.metricsApp.fetch, config.observability.metrics.host, config.observability.metrics.port)
    : undefined;

  let closing: Promise<void> | undefined;
  return {
    url: urlOf(server),
    metricsUrl: metricsServer ? `${urlOf(metricsServer)}/metrics` : undefined,
    gateway,
    close() {
      closing ??= (async () => {
        // Requests waiting for a DingTalk QPS slot are answered now (503, send again: another instance serves it).
        gateway.close();
        await drain(server, config.server.shutdownGraceMs, logger);
        if (metricsServer) await drain(metricsServer, 1_000, logger);
        await upstream.close();
        // After the drain: the last calls are settled; then written (file) or added to Redis.
        await ledger.close();
        await stores?.close();
        destination?.close();
      })();
      return closing;
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

function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  hostname: string,
  port: number,
  serverOptions: ServerOptions = {},
): Promise<ServerType> {
  const listener = getRequestListener(fetch, { hostname, errorHandler: malformedRequestResponse });
  // requireHostHeader: Node's own refusal is a bare 400; requireHost answers it in DingTalk's shape.
  const server = createServer({ ...serverOptions, requireHostHeader: false }, requireHost(listener));
  trackConnections(server);
  server.on('clientError', (error, socket) => answerClientError(error, socket as Socket));
  server.on('checkExpectation', answerExpectation);
  server.on('connect', (request, socket) => answerConnect(request, socket as Socket));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => resolve(server));
  });
}

function urlOf(server: ServerType): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * `close()` stops accepting at once. Busy keep-alive connections become idle after their
 * current response, and a client may keep an idle one open for seconds, so idle connections are
 * closed as they appear. Whatever is still open after the grace period is cut: shutdown is
 * bounded.
 */
function drain(server: ServerType, graceMs: number, logger: Logger): Promise<void> {
  const http = server as Server;
  return new Promise((resolve) => {
    const deadline = setTimeout(() => {
      logger.warn({ graceMs }, 'shutdown grace period over; closing the remaining connections');
      http.closeAllConnections();
      resolve();
    }, graceMs);
    deadline.unref();
    http.close(() => {
      clearTimeout(deadline);
      resolve();
    });
    closeAfterCurrentResponse(http);
  });
}

/**
 * `close()` only stops accepting new connections: Node keeps serving requests that arrive on
 * kept-alive ones, and answers them with `Connection: keep-alive`. Closing those connections
 * from our side while idle would reset a request the client is writing at that moment (a POST
 * it cannot safely retry). Instead every answer from now on, and every one not yet started,
 * says `Connection: close`: each connection ends cleanly after its current request, and the
 * client opens its next one elsewhere.
 */
function closeAfterCurrentResponse(http: Server): void {
  for (const socket of openConnections(http)) {
    const response = servedBy(socket);
    if (response !== undefined && !response.headersSent) response.setHeader('connection', 'close');
  }
  http.on('request', (_request, response: ServerResponse) => response.setHeader('connection', 'close'));
  http.closeIdleConnections();
}

const CONNECTIONS = Symbol('open connections');

/**
 * Tracks open connections (not requests: per-request tracking, a set entry and a `close`
 * listener per response, cost 8–14 µs of CPU per request and ~65 MB of RSS under load, as
 * measured by the benchmark), so a drain can find the response each one is serving.
 */
function trackConnections(http: Server): void {
  const connections = new Set<Socket>();
  (http as Server & { [CONNECTIONS]?: Set<Socket> })[CONNECTIONS] = connections;
  http.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
}

function openConnections(http: Server): Iterable<Socket> {
  return (http as Server & { [CONNECTIONS]?: Set<Socket> })[CONNECTIONS] ?? [];
}

/**
 * The response a connection is serving now. Node keeps it as `socket._httpMessage` (not a
 * documented property, but the one Node's own server uses and graceful-shutdown libraries read);
 * responses to pipelined requests not yet attached are marked as they start (above).
 */
function servedBy(socket: Socket): ServerResponse | undefined {
  const response = (socket as Socket & { _httpMessage?: unknown })._httpMessage;
  return response instanceof ServerResponse ? response : undefined;
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
