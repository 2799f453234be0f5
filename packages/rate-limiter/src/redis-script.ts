/**
 * The plumbing of the Redis stores (the request limits here; the call ledger, the read cache and
 * the Idempotency-Key records elsewhere): one way to define a Lua script as an ioredis command,
 * and one deadline and error mapping per call that turn every failure into
 * `RateLimiterUnavailableError`, which their circuit breakers (or callers) act on. Exported from
 * `@dingtalk-gateway/rate-limiter/redis`.
 */
import { withDeadline } from '@dingtalk-gateway/circuit-breaker';
import type { Cluster, Redis } from 'ioredis';
import { RateLimiterUnavailableError } from './interface.js';

/** A Redis call's deadline unless the store is told otherwise, in ms. */
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
 * Run one Redis call with a deadline (`withDeadline`: a reply already read after an event-loop
 * stall still wins). Rejects with `RateLimiterUnavailableError`: `timeout` past `timeoutMs`,
 * `error` for anything the call throws or rejects with (connection refused or closed, error
 * replies), with the original as `cause`. `store` names the caller in the message. Past the
 * deadline the command may still reach Redis and take effect.
 */
export async function callRedis<T>(call: () => Promise<T>, timeoutMs: number, store = 'rate limiter'): Promise<T> {
  try {
    return await withDeadline(call(), timeoutMs, () => new RateLimiterUnavailableError('timeout', `${store}: Redis did not answer within ${timeoutMs} ms`));
  } catch (err) {
    if (err instanceof RateLimiterUnavailableError) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw new RateLimiterUnavailableError('error', `${store}: Redis call failed: ${detail}`, {
      cause: err,
    });
  }
}
