/**
 * Plumbing shared by the Redis limiters (GCRA and sliding window): their common options, one Lua
 * script per decision defined as an ioredis command, and the deadline + error mapping that turns
 * every failure into `RateLimiterUnavailableError`. Internal: not exported from the package,
 * except the `RedisLimiterOptions` type their options extend.
 */
import type { Cluster, Redis } from 'ioredis';
import { RateLimiterUnavailableError } from './interface.js';

export interface RedisLimiterOptions {
  /** A connected (or auto-connecting) ioredis client; shared with the rest of the app is fine. */
  redis: Redis | Cluster;
  /** Prepended to every key. The default depends on the limiter. */
  prefix?: string;
  /**
   * Upper bound on one decision's round trip, in ms. Default 50. Past it the call rejects with
   * `RateLimiterUnavailableError('timeout')`; the command may still reach Redis later and be
   * counted, which errs on the strict side.
   */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 50;

/**
 * `lua` as the ioredis custom command `name` on `redis`, defined once per client and bound to it.
 * ioredis sends EVAL the first time on a connection and EVALSHA after that, and resends on
 * NOSCRIPT (after `SCRIPT FLUSH`, a Redis restart or failover), so the script is loaded once per
 * connection. Version `name` with the script, so that a changed script never collides with an
 * older definition on a shared client.
 */
export function defineScript<Command extends (...args: never[]) => Promise<unknown>>(
  redis: Redis | Cluster,
  name: string,
  /** `undefined`: the keys vary per call, and each call passes their number first. */
  numberOfKeys: number | undefined,
  lua: string,
): Command {
  const client = redis as (Redis | Cluster) & Record<string, Command | undefined>;
  if (typeof client[name] !== 'function') redis.defineCommand(name, numberOfKeys === undefined ? { lua } : { numberOfKeys, lua });
  return (client[name] as Command).bind(redis) as Command;
}

/**
 * Run one Redis call with a deadline. Rejects with `RateLimiterUnavailableError`: `timeout` past
 * `timeoutMs`, `error` for anything the call throws or rejects with (connection refused or
 * closed, error replies), with the original as `cause`. `store` names the caller in the message.
 */
export async function callRedis<T>(call: () => Promise<T>, timeoutMs: number, store = 'rate limiter'): Promise<T> {
  try {
    return await withTimeout(call(), timeoutMs, store);
  } catch (err) {
    if (err instanceof RateLimiterUnavailableError) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw new RateLimiterUnavailableError('error', `${store}: Redis call failed: ${detail}`, {
      cause: err,
    });
  }
}

function withTimeout<T>(pending: Promise<T>, timeoutMs: number, store: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    // After an event-loop stall longer than the timeout, timers run before the socket is read:
    // a reply that is already waiting would lose to the timer and a healthy Redis would be taken
    // for an outage. setImmediate runs after the poll phase, so waiting replies are read first.
    timer = setTimeout(() => {
      setImmediate(() =>
        reject(
          new RateLimiterUnavailableError(
            'timeout',
            `${store}: Redis did not answer within ${timeoutMs} ms`,
          ),
        ),
      );
    }, timeoutMs);
  });
  // race() subscribes to `pending`, so a late rejection after the timeout is not unhandled.
  return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
}
