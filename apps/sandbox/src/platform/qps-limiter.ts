/**
 * DingTalk's per-app, per-API limit: at most `limit` calls in each one-second window (20 on the
 * standard edition), else `403 Forbidden.AccessDenied.QpsLimitForAppkeyAndApi`. Windows are
 * fixed and aligned to the clock's seconds, like a counter keyed by `appKey:api:second`.
 * Refused calls do not count towards the window.
 *
 * ```ts
 * const limiter = new QpsLimiter({ limit: 20, now: Date.now });
 * app.get('/v2.0/wiki/workspaces', authenticate(...), authorize(), qpsLimit(limiter), handler);
 * ```
 */
import type { MiddlewareHandler } from 'hono';
import type { SandboxEnv } from './env.js';
import { DingTalkError } from './errors.js';

export const QPS_LIMIT_MESSAGE = '当前应用调用该接口的QPS已超过限制';

export class QpsLimiter {
  /** Calls allowed per app, per API, per second; changeable while running. */
  limit: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, { second: number; count: number }>();

  constructor(options: { limit: number; now: () => number }) {
    this.limit = options.limit;
    this.#now = options.now;
  }

  /** Counts a call; false when the window is already full. */
  take(appKey: string, api: string): boolean {
    if (this.limit < 1) return false;
    const second = Math.floor(this.#now() / 1000);
    const key = `${appKey}\u0000${api}`;
    const window = this.#windows.get(key);
    if (!window || window.second !== second) {
      this.#windows.set(key, { second, count: 1 });
      return true;
    }
    if (window.count >= this.limit) return false;
    window.count++;
    return true;
  }

  reset(): void {
    this.#windows.clear();
  }
}

export const qpsLimit =
  (limiter: QpsLimiter): MiddlewareHandler<SandboxEnv> =>
  async (c, next) => {
    if (!limiter.take(c.get('principal').appKey, c.get('operation').operationId)) {
      throw new DingTalkError(403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', QPS_LIMIT_MESSAGE);
    }
    await next();
  };
