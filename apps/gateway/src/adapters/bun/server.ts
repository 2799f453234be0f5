/**
 * The Bun entry: the same wiring as Node's (`node/wire-gateway.ts`: pino, prom-client, the
 * stores, the docs portal, all of which run on Bun), DingTalk reached with Bun's own `fetch`
 * (pooled keep-alive connections), and `Bun.serve` as the listener.
 *
 * Known differences from Node, where Bun gives no hook: Bun answers malformed HTTP (a bad request
 * line, headers over its limit, no Host) itself, with an empty body rather than DingTalk's error
 * shape, and `server.maxHeaderBytes` is Bun's own limit (16 KiB), not the config's.
 *
 * ```ts
 * const running = await startBunGateway({ config, env: process.env });
 * ```
 */
import { longestRequestMs } from '../../core/create-gateway.js';
import type { RunningGateway, StartGatewayOptions } from '../node/server.js';
import { runtimeFetchUpstream } from '../../core/proxy/fetch-upstream.js';
import { runningGateway, stopWithin, wireGateway } from '../node/wire-gateway.js';

/** The part of Bun's API this file uses (Bun's type package would declare its globals for every file of the package). */
interface BunServer {
  readonly url: URL;
  stop(closeActiveConnections?: boolean): Promise<void>;
}
interface BunServeOptions {
  hostname: string;
  port: number;
  fetch(request: Request): Response | Promise<Response>;
  /** Seconds a connection may stay silent, at most 255. */
  idleTimeout?: number;
  maxRequestBodySize?: number;
}
declare const Bun: { serve(options: BunServeOptions): BunServer; version: string };

export async function startBunGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const upstream = options.upstream ?? runtimeFetchUpstream(config.upstream);
  const wired = await wireGateway({ ...options, upstream });
  const { gateway, logger } = wired;

  const serve = (fetchHandler: BunServeOptions['fetch'], hostname: string, port: number) =>
    Bun.serve({
      hostname,
      port,
      fetch: fetchHandler,
      // A request may wait for a QPS slot and DingTalk's retries: the connection must outlive it.
      idleTimeout: Math.min(255, Math.ceil(longestRequestMs(config) / 1_000) + 5),
      // The core answers a body over `server.bodyLimitBytes` in DingTalk's shape; Bun's own limit stays above it.
      maxRequestBodySize: config.server.bodyLimitBytes * 2 + 65_536,
    });
  const server = serve((request) => gateway.fetch(request), config.server.host, config.server.port);
  const metricsServer = config.observability.metrics.enabled
    ? serve((request) => gateway.metricsFetch(request), config.observability.metrics.host, config.observability.metrics.port)
    : undefined;
  const origin = (url: URL) => url.origin;

  return runningGateway(wired, upstream, {
    url: origin(server.url),
    metricsUrl: metricsServer ? `${origin(metricsServer.url)}/metrics` : undefined,
    async stop() {
      await stopWithin(config.server.shutdownGraceMs, () => server.stop(), () => server.stop(true), logger);
      await metricsServer?.stop(true);
    },
  });
}
