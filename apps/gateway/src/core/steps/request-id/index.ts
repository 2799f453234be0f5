/**
 * Gives every request an id: the caller's `x-request-id` when it is a sane token, otherwise a
 * new UUID. Echoed on the answer and used as `requestid` in every error the gateway makes.
 *
 * `everyRequest` (steps/every-request.ts) assigns it before every route's handler:
 *
 * ```ts
 * const id = assignRequestId(c);   // the caller's sane id, or a new UUID
 * ```
 */
import type { Context } from 'hono';
import type { GatewayEnv } from '../../context.js';

export const REQUEST_ID_HEADER = 'x-request-id';

// Short and free of anything that could break a log line or a header.
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const randomRequestId = () => crypto.randomUUID();

/** Chooses the request's id and puts it on every answer (`answer()` adds it; `applyAnswerHeaders` on others). */
export function assignRequestId(c: Context<GatewayEnv>, generate: () => string = randomRequestId): string {
  const offered = c.req.header(REQUEST_ID_HEADER);
  const id = offered !== undefined && SANE_ID.test(offered) ? offered : generate();
  c.set('requestId', id);
  c.set('answerHeaders', { [REQUEST_ID_HEADER]: id });
  return id;
}
