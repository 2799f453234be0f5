/**
 * The token fetchers speak `fetch`; this lets them use the gateway's upstream, so token calls
 * share its pool, timeouts and (in tests) its in-process sandbox.
 */
import type { FetchLike } from '@dingtalk-gateway/token-provider';
import { NULL_BODY_STATUSES, type Upstream } from './upstream.js';

export function upstreamAsFetch(upstream: Upstream): FetchLike {
  return async (url, init) => {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    if (init.body != null && typeof init.body !== 'string') throw new TypeError('upstreamAsFetch sends string bodies only');
    const body = typeof init.body === 'string' ? new TextEncoder().encode(init.body) : undefined;
    const response = await upstream.send({ method: init.method ?? 'GET', path: target.pathname + target.search, headers, body });
    const answer = NULL_BODY_STATUSES.has(response.status) ? null : (response.body as Uint8Array<ArrayBuffer>);
    return new Response(answer, { status: response.status, headers: response.headers });
  };
}
