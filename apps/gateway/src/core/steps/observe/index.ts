/**
 * One access-log line and the request metrics per request, whoever answered it.
 *
 * Logged: request id, tenant, operation, method, route, status, latency, DingTalk latency and
 * attempts, whether the token was cached, the gateway's error code. Never a header, a query
 * string, a body, a key or a token.
 *
 * `everyRequest` (steps/every-request.ts) runs it around every route's handler:
 *
 * ```ts
 * const observer = requestObserver({ logger, metrics });
 * const started = observer.start(c);
 * // … the request is answered …
 * observer.finish(c, started, c.res.status);
 * ```
 */
import type { Context } from 'hono';
import type { GatewayLogger } from '../../observability/logger.js';
import type { GatewayEnv, RequestLog } from '../../context.js';
import type { GatewayMetrics } from '../../observability/metrics.js';
import type { TraceContext } from '../trace-context/index.js';

export interface ObserveOptions {
  logger: GatewayLogger;
  metrics: GatewayMetrics;
  now?: () => number;
}

export interface RequestObserver {
  /** Before the request is handled: its log record (filled in by the request path); returns the start time. */
  start(c: Context<GatewayEnv>): number;
  /** Once answered (`status`), or thrown past every handler (`escaped`: the server answers 500). */
  finish(c: Context<GatewayEnv>, started: number, status: number): void;
}

export function requestObserver(options: ObserveOptions): RequestObserver {
  const now = options.now ?? (() => performance.now());
  const { logger, metrics } = options;
  return {
    start(c) {
      // Every field from the start, so each request's record has one shape.
      const log: RequestLog = { upstreamMs: undefined, upstreamAttempts: undefined, tokenCached: undefined, cache: undefined, errorCode: undefined };
      c.set('log', log);
      return now();
    },
    finish(c, started, status) {
      const latencyMs = now() - started;
      const log = c.get('log');
      const trace = c.get('trace') as TraceContext | undefined;
      const tenant = c.get('tenant')?.id ?? '-';
      const operationInfo = c.get('operation');
      const operation = operationInfo?.operationId ?? '-';
      metrics.requests.inc({ tenant, operation, status: String(status) });
      metrics.requestDuration.observe({ operation }, latencyMs / 1000);
      // One fixed shape, no spread (a spread into a literal is a slow path in V8); pino leaves
      // out the fields that are undefined.
      logger.info(
        {
          requestId: c.get('requestId'),
          traceId: trace?.traceId,
          spanId: trace?.spanId,
          tenant,
          operation,
          method: c.req.method,
          route: operationInfo?.pathTemplate ?? '-',
          status,
          latencyMs: round(latencyMs),
          upstreamMs: log.upstreamMs === undefined ? undefined : round(log.upstreamMs),
          upstreamAttempts: log.upstreamAttempts,
          tokenCached: log.tokenCached,
          cache: log.cache,
          errorCode: log.errorCode,
        },
        'request',
      );
    },
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
