/**
 * The Node entry: the wiring of `wire-gateway.ts` (pino, prom-client, stores, docs), an undici
 * pool to DingTalk, node:http with DingTalk-shaped answers to malformed HTTP, and a graceful
 * shutdown.
 *
 * ```ts
 * const running = await startGateway({ config, env: process.env });
 * console.log(running.url);
 * await running.close(); // stop accepting, let in-flight requests finish (bounded), release the pool
 * ```
 */
import type { AddressInfo, Socket } from 'node:net';
import { type Server, type ServerOptions, ServerResponse, createServer } from 'node:http';
import { type ServerType, getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import { createUndiciUpstream } from './undici-upstream.js';
import type { Upstream } from '../../core/proxy/upstream.js';
import { answerClientError, answerConnect, answerExpectation, malformedRequestResponse, requireHost } from './protocol-errors.js';
import { type RunningGateway, type WireGatewayOptions, runningGateway, wireGateway } from './wire-gateway.js';

export interface StartGatewayOptions extends Omit<WireGatewayOptions, 'upstream'> {
  /** Default: an undici pool to `config.upstream.baseUrl`. */
  upstream?: Upstream;
}

export type { RunningGateway } from './wire-gateway.js';

export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const upstream =
    options.upstream ??
    createUndiciUpstream({
      baseUrl: config.upstream.baseUrl,
      connections: config.upstream.connections,
      connectTimeoutMs: config.upstream.connectTimeoutMs,
      responseTimeoutMs: config.upstream.responseTimeoutMs,
      maxResponseBytes: config.upstream.maxResponseBytes,
    });
  const wired = await wireGateway({ ...options, upstream });
  const { gateway, logger } = wired;

  const server = await listen(gateway.fetch, config.server.host, config.server.port, {
    headersTimeout: config.server.headersTimeoutMs,
    requestTimeout: config.server.requestTimeoutMs,
    // Node looks for expired requests only this often (30 s by default): a slow client would
    // otherwise hold its socket up to 30 s past its timeout.
    connectionsCheckingInterval: Math.min(1_000, Math.ceil(config.server.headersTimeoutMs / 2)),
    maxHeaderSize: config.server.maxHeaderBytes,
  });
  const metricsServer = config.observability.metrics.enabled
    ? await listen(gateway.metricsFetch, config.observability.metrics.host, config.observability.metrics.port)
    : undefined;

  return runningGateway(wired, upstream, {
    url: urlOf(server),
    metricsUrl: metricsServer ? `${urlOf(metricsServer)}/metrics` : undefined,
    async stop() {
      await drain(server, config.server.shutdownGraceMs, logger);
      if (metricsServer) await drain(metricsServer, 1_000, logger);
    },
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
