/**
 * Gives every request an id: the caller's `x-request-id` when it is a sane token, otherwise a
 * new UUID. Echoed on the answer and used as `requestid` in every error the gateway makes.
 *
 * ```ts
 * app.use('*', requestId());
 * ```
 */
import { createMiddleware } from 'hono/factory';
import { applyAnswerHeaders } from '../../answer.js';
import type { GatewayEnv } from '../../context.js';

export const REQUEST_ID_HEADER = 'x-request-id';

// Short and free of anything that could break a log line or a header.
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(options: { generate?: () => string } = {}) {
  const generate = options.generate ?? (() => crypto.randomUUID());
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const offered = c.req.header(REQUEST_ID_HEADER);
    const id = offered !== undefined && SANE_ID.test(offered) ? offered : generate();
    c.set('requestId', id);
    // On every answer: `answer()` adds it; answers made otherwise get it after the fact.
    c.set('answerHeaders', { [REQUEST_ID_HEADER]: id });
    await next();
    applyAnswerHeaders(c);
  });
}
