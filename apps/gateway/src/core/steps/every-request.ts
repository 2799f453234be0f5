/**
 * What every request goes through, whichever route answers it: its id (`assignRequestId`) and
 * its trace (`assignTraceContext`), then its observation (`requestObserver`: the access-log line and the metrics), with an error
 * thrown by the route answered by the gateway's error handler and observed like any answer.
 *
 * A wrapper around each route's handler rather than two Hono middlewares (performance): Hono
 * calls a request's only matching handler directly, while its middleware composition costs
 * every level an async call, a promise and a `next` closure, and each async middleware a
 * promise of its own. Measured: 7 % less CPU per request (two builds side by side under the
 * same load, docs/BENCHMARKS.md).
 *
 * ```ts
 * const observed = everyRequest({ logger, metrics, onError });
 * app.get('/healthz', observed((c) => answerJson(c, { status: 'ok' }, 200)));
 * app.notFound(observed((c) => gatewayError(c, 404, 'gateway.route.notFound', '…')));
 * ```
 */
import type { Context } from 'hono';
import { applyAnswerHeaders } from '../answer.js';
import type { GatewayEnv, RouteHandler } from '../context.js';
import { type ObserveOptions, requestObserver } from './observe/index.js';
import { assignRequestId, randomRequestId } from './request-id/index.js';
import { assignTraceContext } from './trace-context/index.js';
import type { GatewayTracer } from '../observability/tracing.js';

export interface EveryRequestOptions extends ObserveOptions {
  /** The id of a request that brings no sane one. Default: a random UUID. */
  generateId?: () => string;
  /** Spans per request, when configured. */
  tracer?: GatewayTracer;
  /** Answers an `Error` a route threw (as Hono's `app.onError`). Anything else thrown is not answered here. */
  onError: (error: Error, c: Context<GatewayEnv>) => Response | Promise<Response>;
}

export function everyRequest(options: EveryRequestOptions): (handler: RouteHandler) => RouteHandler {
  const observer = requestObserver(options);
  const generateId = options.generateId ?? randomRequestId;
  const { onError, tracer } = options;
  const endSpan = (c: Context<GatewayEnv>, status: number) =>
    c.get('span')?.end({ 'http.response.status_code': status, 'dingtalk.operation': c.get('operation')?.operationId, 'gateway.tenant': c.get('tenant')?.id, 'gateway.request_id': c.get('requestId') }, status >= 500 ? `status ${status}` : undefined);

  return (handler) => (c) => {
    assignRequestId(c, generateId);
    assignTraceContext(c, undefined, tracer);
    const started = observer.start(c);
    const answered = (response: Response): Response => {
      // The request's headers on answers not built by `answer()` (a no-op on those that were).
      c.res = response;
      applyAnswerHeaders(c);
      observer.finish(c, started, c.res.status);
      if (tracer) endSpan(c, c.res.status);
      return c.res;
    };
    // Thrown past every handler (a non-Error value, or the error handler failing): the server answers 500.
    const escaped = (error: unknown): never => {
      observer.finish(c, started, 500);
      if (tracer) endSpan(c, 500);
      throw error;
    };
    const failed = (error: unknown): Response | Promise<Response> => {
      if (!(error instanceof Error)) return escaped(error);
      let response: Response | Promise<Response>;
      try {
        response = onError(error, c);
      } catch (failure) {
        return escaped(failure);
      }
      return response instanceof Promise ? response.then(answered, escaped) : answered(response);
    };

    let outcome: Response | Promise<Response>;
    try {
      outcome = handler(c);
    } catch (error) {
      return failed(error);
    }
    return outcome instanceof Promise ? outcome.then(answered, failed) : answered(outcome);
  };
}
