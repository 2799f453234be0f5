/**
 * Gateway mode's retries, as a `fetch` in front of the gateway:
 *
 * - Every POST carries an `Idempotency-Key` (a new UUID per call, the same for its retries)
 *   unless the caller gave one or turned them off, so the gateway sends it to DingTalk at most
 *   once however often it is retried.
 * - A call is sent again after a connection error, a 502, 503 or 504, a 429 with `Retry-After`
 *   and a `409 gateway.idempotency.inProgress`: a GET always, a POST when it has its key (without
 *   one, only after a 429: the gateway refused it before DingTalk). The wait is the answer's
 *   `Retry-After`, else a jittered backoff (`baseDelayMs` doubling); at most `maxAttempts` in all,
 *   and never a wait past `maxWaitMs` in total (the last answer is then the result).
 *
 * ```ts
 * const fetch = retryingFetch(globalThis.fetch, { retry: { maxAttempts: 3, maxWaitMs: 10_000, baseDelayMs: 200 }, idempotencyKeys: true });
 * ```
 */
import type { FetchFn } from './client.js';

export interface RetryPolicy {
  /** Attempts per call, the first included. Default 3; 1: no retries. */
  maxAttempts?: number;
  /** The longest a call waits between its attempts, in all. Default 10 s. */
  maxWaitMs?: number;
  /** The first backoff when the answer gives no `Retry-After`; it doubles, ±50 % jitter. Default 200 ms. */
  baseDelayMs?: number;
}

export const DEFAULT_RETRY: Required<RetryPolicy> = { maxAttempts: 3, maxWaitMs: 10_000, baseDelayMs: 200 };

export interface RetryingFetchOptions {
  retry: Required<RetryPolicy>;
  /** Whether POSTs get an `Idempotency-Key` of their own. */
  idempotencyKeys: boolean;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  newKey?: () => string;
}

const IDEMPOTENCY_KEY = 'idempotency-key';
const IN_PROGRESS = 'gateway.idempotency.inProgress';

export function retryingFetch(send: FetchFn, options: RetryingFetchOptions): FetchFn {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const newKey = options.newKey ?? (() => crypto.randomUUID());
  const { maxAttempts, maxWaitMs, baseDelayMs } = options.retry;

  return async (request) => {
    if (request.method === 'POST' && options.idempotencyKeys && !request.headers.has(IDEMPOTENCY_KEY)) request.headers.set(IDEMPOTENCY_KEY, newKey());
    const replayable = request.method === 'GET' || request.headers.has(IDEMPOTENCY_KEY);
    // Each attempt sends a copy: a body can be read once.
    const original = maxAttempts > 1 ? request.clone() : request;
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= maxAttempts;
      const backoff = baseDelayMs * 2 ** (attempt - 1) * (0.5 + random());
      let response: Response;
      try {
        response = await send(last ? original : original.clone());
      } catch (error) {
        // No answer: it may have reached the gateway. Sent again only when that is safe.
        if (last || !replayable || waited + backoff > maxWaitMs) throw error;
        await sleep(backoff);
        waited += backoff;
        continue;
      }
      const wait = last ? undefined : await retryWait(response, replayable, backoff);
      if (wait === undefined || waited + wait > maxWaitMs) return response;
      await response.body?.cancel();
      await sleep(wait);
      waited += wait;
    }
  };
}

/** How long to wait before sending the call again after `response`; undefined: it is the answer. */
async function retryWait(response: Response, replayable: boolean, backoff: number): Promise<number | undefined> {
  const retryAfter = retryAfterMs(response.headers.get('retry-after'));
  switch (response.status) {
    case 429:
      // Refused before it was carried out; without Retry-After there is no telling when to come back.
      return retryAfter;
    case 409:
      return replayable && (await codeOf(response)) === IN_PROGRESS ? (retryAfter ?? backoff) : undefined;
    case 502:
    case 503:
    case 504:
      return replayable ? (retryAfter ?? backoff) : undefined;
    default:
      return undefined;
  }
}

/** `Retry-After` in seconds (the gateway's form) as milliseconds. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

async function codeOf(response: Response): Promise<string | undefined> {
  try {
    const code = ((await response.clone().json()) as { code?: unknown } | null)?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}
