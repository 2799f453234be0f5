/**
 * Direct mode's manners with DingTalk's per-app, per-API QPS limit (20 a second on the standard
 * edition; `Forbidden.AccessDenied.QpsLimitForAppkeyAndApi` beyond it), as the gateway has them:
 *
 * - calls are paced, not refused: per operation (method and path template), at most `qpsLimit`
 *   in any window of a little over a second; a call over it waits for its turn (first come,
 *   first served);
 * - a QPS refusal all the same (something else shares the app: `QpsLimitForAppkeyAndApi`; the
 *   platform throttles the API: `QpsLimitForApi`) means DingTalk did not process the call: it is
 *   sent again, POSTs included, after DingTalk's one-second window (plus jitter), at most
 *   `throttleRetries` times.
 *
 * ```ts
 * const client = createThrowingClient({ baseUrl, fetch, wrap: dingtalkLimits({ qpsLimit: 20, throttleRetries: 2 }) });
 * ```
 */
import type { CallWrapper } from './client.js';

/** DingTalk's one-second window, with a margin for the clocks' and the network's differences. */
export const QPS_WINDOW_MS = 1_050;
const THROTTLES = new Set(['Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', 'Forbidden.AccessDenied.QpsLimitForApi']);

export interface DingTalkLimitsOptions {
  /** Calls per operation in any window (DingTalk's per-app, per-API QPS). Default 20. */
  qpsLimit?: number;
  /** How many more times a call DingTalk refused for QPS is sent. Default 2. */
  throttleRetries?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export function dingtalkLimits(options: DingTalkLimitsOptions = {}): CallWrapper {
  const limit = options.qpsLimit ?? 20;
  const retries = options.throttleRetries ?? 2;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const now = options.now ?? (() => performance.now());
  const pacer = new QpsPacer(limit, QPS_WINDOW_MS, now, sleep);

  return async (method, template, send) => {
    const key = `${method} ${template}`;
    for (let retry = 0; ; retry++) {
      await pacer.slot(key);
      const result = await send();
      const code = (result.error as { code?: unknown } | undefined)?.code;
      if (result.response.status !== 403 || typeof code !== 'string' || !THROTTLES.has(code) || retry >= retries) return result;
      await sleep(1_000 * (1 + (code.endsWith('QpsLimitForApi') ? 1 : 0.25) * random()));
    }
  };
}

/** Per key, at most `limit` slots in any `windowMs`; the calls over it wait in line. */
class QpsPacer {
  readonly #times = new Map<string, number[]>();
  readonly #lines = new Map<string, Promise<void>>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  /** Resolves when the call may go (its slot taken). */
  slot(key: string): Promise<void> {
    const turn = (this.#lines.get(key) ?? Promise.resolve()).then(() => this.#take(key));
    this.#lines.set(key, turn);
    return turn;
  }

  async #take(key: string): Promise<void> {
    const times = this.#times.get(key) ?? [];
    this.#times.set(key, times);
    for (;;) {
      const now = this.now();
      while (times.length > 0 && times[0]! <= now - this.windowMs) times.shift();
      if (times.length < this.limit) {
        times.push(now);
        return;
      }
      await this.sleep(times[0]! + this.windowMs - now);
    }
  }
}
