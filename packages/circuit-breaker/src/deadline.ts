/**
 * The deadline of one call to a backing store: every Redis call of the gateway's stores goes
 * through it, so nothing waits on a dead or hung Redis.
 */

/**
 * Runs `run` one turn of the event loop later, after the I/O already waiting has been read: in
 * Node (and Bun) `setImmediate` runs after the poll phase. Where there is none (Workers, Deno) a
 * zero timeout stands in.
 */
const afterPendingIo: (run: () => void) => void =
  typeof setImmediate === 'function'
    ? (run) => {
        setImmediate(run);
      }
    : (run) => {
        setTimeout(run, 0);
      };

/**
 * `pending`, or a rejection with `timedOut()` when it has not settled within `timeoutMs`.
 *
 * Past the deadline the rejection waits until the I/O already waiting has been read: after a
 * stall of the process's own event loop longer than the deadline (a GC pause, a burst of work,
 * a busy host), Node runs expired timers before it reads sockets, so a reply already in the
 * socket would lose to a bare timer and a healthy store would be taken for an outage.
 * `pending` is subscribed to, so a rejection of it after the deadline is never unhandled.
 *
 * ```ts
 * const value = await withDeadline(redis.get(key), 50, () => new RedisDown('Redis did not answer within 50 ms'));
 * ```
 */
export function withDeadline<T>(pending: Promise<T>, timeoutMs: number, timedOut: () => unknown): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => afterPendingIo(() => reject(timedOut())), timeoutMs);
  });
  return Promise.race([pending, deadline]).finally(() => clearTimeout(timer));
}
