/**
 * DingTalk's limit per egress IP: at most `limit` calls in any `windowMs` (10,000 in 20 s) over
 * every API, then a ban of `banMs` (5 minutes) during which every call from the IP is answered
 * not in DingTalk's JSON error shape but with the anti-abuse front's own answer: JSON
 * `{"status":1111,"wait":5,"punish":"deny",...}` (`wait` in minutes) or an HTML page, as set.
 * Banned calls are not DingTalk's answers: they reach no API and count for nothing. The caller's
 * IP is the socket's remote address (`in-process` for `app.fetch()`).
 *
 * ```ts
 * const window = new IpWindow({ limit: 10_000, windowMs: 20_000, banMs: 300_000, answer: 'json', now });
 * app.on('GET', '/v2.0/wiki/workspaces', ipWindow(window, counters), ...);
 * ```
 */
import type { MiddlewareHandler } from 'hono';
import type { CallCounters } from '../counters.js';
import type { SandboxEnv } from './env.js';

export interface IpWindowSettings {
  /** Calls from one IP in any window before the ban. */
  limit: number;
  windowMs: number;
  /** How long a ban lasts. */
  banMs: number;
  /** What a banned call gets: the JSON of the anti-abuse front, or its HTML page. */
  answer: 'json' | 'html';
}

export const IP_WINDOW_DEFAULTS: IpWindowSettings = { limit: 10_000, windowMs: 20_000, banMs: 5 * 60_000, answer: 'json' };

export class IpWindow {
  settings: IpWindowSettings;
  readonly #now: () => number;
  /** Per IP: the times of its calls, oldest first, from `head` on (older ones are spent). */
  readonly #calls = new Map<string, { times: number[]; head: number }>();
  readonly #bannedUntil = new Map<string, number>();

  constructor(settings: IpWindowSettings, now: () => number) {
    this.settings = { ...settings };
    this.#now = now;
  }

  /** Counts a call from `ip`; when it is (or now becomes) banned, how long the ban has left, in ms. */
  enter(ip: string): number | undefined {
    const now = this.#now();
    const until = this.#bannedUntil.get(ip);
    if (until !== undefined && until > now) return until - now;
    // A queue per IP: the calls that left the window are dropped from its head (amortised O(1)
    // per call, whatever the limit: load tests run the sandbox at thousands of calls a second).
    let calls = this.#calls.get(ip);
    if (!calls) this.#calls.set(ip, (calls = { times: [], head: 0 }));
    while (calls.head < calls.times.length && calls.times[calls.head]! <= now - this.settings.windowMs) calls.head++;
    if (calls.head > 1024 && calls.head * 2 > calls.times.length) {
      calls.times = calls.times.slice(calls.head);
      calls.head = 0;
    }
    calls.times.push(now);
    if (calls.times.length - calls.head <= this.settings.limit) return undefined;
    this.#bannedUntil.set(ip, now + this.settings.banMs);
    this.#calls.delete(ip);
    return this.settings.banMs;
  }

  /** IPs banned now, and until when (epoch ms). */
  bans(): Record<string, number> {
    const now = this.#now();
    return Object.fromEntries([...this.#bannedUntil].filter(([, until]) => until > now));
  }

  reset(settings: IpWindowSettings): void {
    this.settings = { ...settings };
    this.#calls.clear();
    this.#bannedUntil.clear();
  }
}

const BAN_PAGE = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>403 Forbidden</title></head>
<body><h1>访问被拒绝 (Access denied)</h1><p>您的访问过于频繁，请稍后再试。Too many requests from your IP; try again later.</p></body></html>
`;

export const ipWindow =
  (window: IpWindow, counters: CallCounters): MiddlewareHandler<SandboxEnv> =>
  async (c, next) => {
    const ip = c.env?.incoming?.socket?.remoteAddress ?? 'in-process';
    const leftMs = window.enter(ip);
    if (leftMs === undefined) return next();
    counters.banned();
    if (window.settings.answer === 'html') return c.body(BAN_PAGE, 403, { 'content-type': 'text/html; charset=utf-8' });
    // `wait` is in minutes, rounded up.
    const body = { status: 1111, wait: Math.max(1, Math.ceil(leftMs / 60_000)), punish: 'deny', msg: 'too many requests from this IP' };
    return c.body(JSON.stringify(body), 403, { 'content-type': 'application/json;charset=utf-8' });
  };
