/**
 * The Deno entry: the same wiring as Node's (`node/wire-gateway.ts`: pino, prom-client, the
 * stores, the docs portal, through Deno's Node compatibility), DingTalk reached with Deno's own
 * `fetch`, and `Deno.serve` as the listener, which answers an HTTP/1.1 request without Host (Deno
 * itself would serve it) in DingTalk's error shape, as Node's entry does.
 *
 * Known differences from Node, where Deno gives no hook: Deno answers other malformed HTTP (a bad
 * request line, oversized headers) itself, not in DingTalk's error shape; its header limit is its
 * own, not `server.maxHeaderBytes`.
 *
 * ```ts
 * const running = await startDenoGateway({ config, env: process.env });
 * ```
 */
import { errorBody } from '@dingtalk-gateway/errors';
import type { RunningGateway, StartGatewayOptions } from '../node/server.js';
import { runtimeFetchUpstream } from '../../core/proxy/fetch-upstream.js';
import { runningGateway, stopWithin, wireGateway } from '../node/wire-gateway.js';

/** The part of Deno's API this file uses (Deno's own types are not part of this TypeScript build). */
interface DenoHttpServer {
  readonly addr: { hostname: string; port: number };
  /** Stops accepting; resolves once the requests in flight are answered. */
  shutdown(): Promise<void>;
}
interface DenoServeOptions {
  hostname: string;
  port: number;
  onListen?(addr: { hostname: string; port: number }): void;
  handler(request: Request, info: unknown): Response | Promise<Response>;
}
declare const Deno: { serve(options: DenoServeOptions): DenoHttpServer };

/** Deno serves an HTTP/1.1 request without Host; Node's entry refuses it, and so does this one. */
export function requireHostHeader(handler: (request: Request) => Response | Promise<Response>) {
  return (request: Request): Response | Promise<Response> => {
    if (request.headers.has('host')) return handler(request);
    const id = crypto.randomUUID();
    return Response.json(errorBody('gateway.request.malformed', 'an HTTP/1.1 request needs a Host header', id), { status: 400, headers: { 'x-request-id': id, connection: 'close' } });
  };
}

export async function startDenoGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const upstream = options.upstream ?? runtimeFetchUpstream(config.upstream);
  const wired = await wireGateway({ ...options, upstream });
  const { gateway, logger } = wired;

  const serve = (handler: (request: Request) => Response | Promise<Response>, hostname: string, port: number) =>
    Deno.serve({ hostname, port, onListen: () => {}, handler: requireHostHeader(handler) });
  const server = serve((request) => gateway.fetch(request), config.server.host, config.server.port);
  const metricsServer = config.observability.metrics.enabled
    ? serve((request) => gateway.metricsFetch(request), config.observability.metrics.host, config.observability.metrics.port)
    : undefined;
  const origin = (s: DenoHttpServer) => `http://${s.addr.hostname.includes(':') ? `[${s.addr.hostname}]` : s.addr.hostname}:${s.addr.port}`;

  return runningGateway(wired, upstream, {
    url: origin(server),
    metricsUrl: metricsServer ? `${origin(metricsServer)}/metrics` : undefined,
    async stop() {
      // Deno has no way to cut its connections: past the grace period the process exits with them.
      await stopWithin(config.server.shutdownGraceMs, () => server.shutdown(), async () => {}, logger);
      await metricsServer?.shutdown();
    },
  });
}
