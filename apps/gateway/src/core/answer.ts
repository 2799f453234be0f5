/**
 * How the gateway builds its answers: a `Response` whose headers are a plain record, with the
 * headers every answer of the request carries (`x-request-id`, the `RateLimit` fields) merged in.
 *
 * Why not `c.header()`: on Node, a header set that way makes Hono build a Web `Headers` for the
 * answer (every name and value validated, then sorted when @hono/node-server turns it back into
 * Node's header object), which was a measurable share of a request. A plain record is written
 * by @hono/node-server as it is. Names are lower case, as `Headers` would have made them.
 *
 * ```ts
 * addAnswerHeader(c, 'ratelimit', 'limit=10, remaining=9, reset=1');
 * return answer(c, body, 200, { 'content-type': 'application/json' });
 * ```
 */
import type { Context } from 'hono';
import type { GatewayEnv } from './context.js';

export type HeaderRecord = Record<string, string | string[]>;

/**
 * Headers that belong to one request, not to its answer: an answer kept to be given again (the
 * read cache, an Idempotency-Key's replay) leaves them out, and the new request adds its own.
 */
const PER_REQUEST_HEADERS: ReadonlySet<string> = new Set(['x-request-id', 'ratelimit', 'ratelimit-policy', 'retry-after', 'cache-status', 'age', 'date', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'idempotent-replayed']);

/** Whether `name` (lower case) is a header of one request (`PER_REQUEST_HEADERS`), not kept with an answer. */
export const isPerRequestHeader = (name: string): boolean => PER_REQUEST_HEADERS.has(name);
type Body = ConstructorParameters<typeof Response>[0];

/** Adds a header to every answer of this request (the id, the limits it was counted against). */
export function addAnswerHeader(c: Context<GatewayEnv>, name: string, value: string): void {
  const headers = c.get('answerHeaders');
  if (headers === undefined) c.set('answerHeaders', { [name]: value });
  else headers[name] = value;
}

/** Adds a member to a list header of every answer of this request (`ratelimit-policy: "tenant";…, "month";…`). */
export function appendAnswerHeader(c: Context<GatewayEnv>, name: string, value: string): void {
  const headers = c.get('answerHeaders');
  const first = headers?.[name];
  // Runs for every metered request (the month's policy after the tenant's): no array built for the usual single value.
  addAnswerHeader(c, name, first === undefined ? value : `${typeof first === 'string' ? first : first.join(', ')}, ${value}`);
}

/**
 * The answer: `body` with `status`, the request's answer headers, then `headers` (lower-case
 * names). A name in both keeps both values, the request's first, as appending to `Headers` did.
 */
export function answer(c: Context<GatewayEnv>, body: Body, status: number, headers?: HeaderRecord): Response {
  const own = c.get('answerHeaders');
  c.set('answerHeadersSent', true);
  let merged: HeaderRecord;
  if (own === undefined) merged = headers ?? {};
  else {
    // The request's own record, completed in place: it serves this one answer. (Not a copy by
    // spread: V8 makes adding keys to a `{ ...spread }` copy slow, ~1.6 µs here.)
    merged = own;
    for (const name in headers) {
      const value = headers[name]!;
      const first = merged[name];
      merged[name] = first === undefined ? value : combineHeaderValues(name, first, value);
    }
  }
  return new Response(body, { status, headers: hasList(merged) ? asHeaders(merged) : (merged as Record<string, string>) });
}

/**
 * For answers not made by `answer()` (Hono's own, a route of an embedding app): sets the
 * request's answer headers on it, unless it has them. Slower (it builds the answer's `Headers`),
 * and off the hot path.
 */
export function applyAnswerHeaders(c: Context<GatewayEnv>): void {
  const own = c.get('answerHeaders');
  if (own === undefined || c.get('answerHeadersSent')) return;
  const headers = c.res.headers;
  for (const name in own) if (!headers.has(name)) headers.set(name, String(own[name]));
}

function hasList(headers: HeaderRecord): boolean {
  for (const name in headers) if (typeof headers[name] !== 'string') return true;
  return false;
}

/** A repeated header (`set-cookie`): a record cannot say it on every runtime, `Headers` can. */
function asHeaders(record: HeaderRecord): Headers {
  const headers = new Headers();
  for (const name in record) for (const value of [record[name]!].flat()) headers.append(name, value);
  return headers;
}

/** Two values of one header, as `Headers.append` combines them (`set-cookie` stays a list). */
export function combineHeaderValues(name: string, first: string | string[], second: string | string[]): string | string[] {
  if (name === 'set-cookie') return [first, second].flat();
  return `${[first].flat().join(', ')}, ${[second].flat().join(', ')}`;
}
