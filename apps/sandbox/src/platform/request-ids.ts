/**
 * Gives every request DingTalk's two ids and puts them on every response, whatever answers it
 * (a handler, the error handler, the not-found handler, the admin API).
 *
 * ```ts
 * app.use(requestIds());
 * // → x-acs-request-id: 30EE6F4B-2C2B-7F1B-A2B1-6F7C1E2D3A4B, x-acs-trace-id: a256909d956e020a394833a18880de5c
 * ```
 */
import type { MiddlewareHandler } from 'hono';
import { newRequestId, newTraceId } from '../state/ids.js';
import type { SandboxEnv } from './env.js';

export const REQUEST_ID_HEADER = 'x-acs-request-id';
export const TRACE_ID_HEADER = 'x-acs-trace-id';

export const requestIds = (): MiddlewareHandler<SandboxEnv> => async (c, next) => {
  const requestId = newRequestId();
  const traceId = newTraceId();
  c.set('requestId', requestId);
  c.set('traceId', traceId);
  // Headers set on the context before a response exists are copied onto it; the error
  // handler's response is created after the throw, so set them again on whatever came back.
  c.header(REQUEST_ID_HEADER, requestId);
  c.header(TRACE_ID_HEADER, traceId);
  await next();
  c.res.headers.set(REQUEST_ID_HEADER, requestId);
  c.res.headers.set(TRACE_ID_HEADER, traceId);
};
