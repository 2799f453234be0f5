/**
 * An `Upstream` over any `fetch`: Web-standard, for tests (e.g. the sandbox's `app.fetch`,
 * with no socket at all) and runtimes without undici.
 */
import type { GatewayConfig } from '../../config/schema.js';
import { type Upstream, UpstreamError, type UpstreamResponse, endToEndHeaders } from './upstream.js';

export interface FetchUpstreamOptions {
  baseUrl: string;
  fetch: (request: Request) => Response | Promise<Response>;
  responseTimeoutMs: number;
  maxResponseBytes: number;
  /**
   * Whether `fetch` ends the exchange when the request's signal aborts, as the runtimes' own
   * `fetch` does (the answer, or the reading of its body, rejects). Default false: the timeout
   * is then also raced against the exchange, for an in-process `fetch` that may ignore the
   * signal. Set it for the runtime's `fetch`: on Bun the race cost 5–14 % of a request's CPU
   * (measured side by side, docs/BENCHMARKS.md).
   */
  honoursAbort?: boolean;
}

export function createFetchUpstream(given: FetchUpstreamOptions): Upstream {
  // Its own copy: `setLimits` changes it for the exchanges that start afterwards.
  const options = { ...given };
  const origin = options.baseUrl.replace(/\/+$/, '');
  return {
    setLimits(limits) {
      options.responseTimeoutMs = limits.responseTimeoutMs;
      options.maxResponseBytes = limits.maxResponseBytes;
    },
    async send(request): Promise<UpstreamResponse> {
      const signal = AbortSignal.timeout(options.responseTimeoutMs);
      let response: Response;
      let body: ArrayBuffer;
      try {
        const outgoing = new Request(origin + request.path, { method: request.method, headers: request.headers, body: request.body, signal });
        if (options.honoursAbort) {
          response = await options.fetch(outgoing);
          body = await response.arrayBuffer();
        } else {
          response = await withSignal(Promise.resolve(options.fetch(outgoing)), signal);
          body = await withSignal(response.arrayBuffer(), signal);
        }
      } catch (error) {
        if (signal.aborted) throw new UpstreamError('timeout', true, `no answer within ${options.responseTimeoutMs} ms`, { cause: error });
        throw new UpstreamError('reset', true, `the request failed: ${(error as Error).message}`, { cause: error });
      }
      if (body.byteLength > options.maxResponseBytes) {
        throw new UpstreamError('tooLarge', true, `the answer is over ${options.maxResponseBytes} bytes`);
      }
      return { status: response.status, headers: endToEndHeaders(response.headers), body: new Uint8Array(body) };
    },
    async close() {},
  };
}

/**
 * DingTalk through the runtime's own `fetch` (Bun, Deno, Workers: pooled keep-alive connections of
 * their own), which ends the exchange when its abort signal fires.
 */
export function runtimeFetchUpstream(upstream: GatewayConfig['upstream']): Upstream {
  return createFetchUpstream({
    baseUrl: upstream.baseUrl,
    fetch: (request) => fetch(request),
    honoursAbort: true,
    responseTimeoutMs: upstream.responseTimeoutMs,
    maxResponseBytes: upstream.maxResponseBytes,
  });
}

/** An in-process fetch may ignore the signal; the timeout must hold anyway. */
function withSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
