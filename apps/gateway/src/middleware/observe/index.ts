/**
 * One access-log line and the request metrics per request, whoever answered it.
 *
 * Logged: request id, tenant, operation, method, route, status, latency, DingTalk latency and
 * attempts, whether the token was cached, the gateway's error code. Never a header, a query
 * string, a body, a key or a token.
 *
 * ```ts
 * app.use('*', observe({ logger, metrics }));
 * ```
 */
import { createMiddleware } from 'hono/factory';
import type { Logger } from 'pino';
import type { GatewayEnv, RequestLog } from '../../context.js';
import type { GatewayMetrics } from '../../observability/metrics.js';

export function observe(options: { logger: Logger; metrics: GatewayMetrics; now?: () => number }) {
  const now = options.now ?? (() => performance.now());
  const { logger, metrics } = options;
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const started = now();
    // Every field from the start, so each request's record has one shape.
    const log: RequestLog = { upstreamMs: undefined, upstreamAttempts: undefined, tokenCached: undefined, errorCode: undefined };
    c.set('log', log);
    let escaped = false;
    try {
      await next();
    } catch (error) {
      escaped = true;
      throw error;
    } finally {
      const latencyMs = now() - started;
      const tenant = c.get('tenant')?.id ?? '-';
      const operation = c.get('operation')?.operationId ?? '-';
      // Thrown past every handler (a non-Error value, or onError itself failing): the server answers 500.
      const status = escaped ? 500 : c.res.status;
      metrics.requests.inc({ tenant, operation, status: String(status) });
      metrics.requestDuration.observe({ operation }, latencyMs / 1000);
      // One fixed shape, no spread (a spread into a literal is a slow path in V8); pino leaves
      // out the fields that are undefined.
      logger.info(
        {
          requestId: c.get('requestId'),
          tenant,
          operation,
          method: c.req.method,
          route: c.get('operation')?.pathTemplate ?? '-',
          status,
          latencyMs: round(latencyMs),
          upstreamMs: log.upstreamMs === undefined ? undefined : round(log.upstreamMs),
          upstreamAttempts: log.upstreamAttempts,
          tokenCached: log.tokenCached,
          errorCode: log.errorCode,
        },
        'request',
      );
    }
  });
}

const round = (ms: number) => Math.round(ms * 100) / 100;
