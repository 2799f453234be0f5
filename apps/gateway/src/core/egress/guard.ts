/**
 * Every call from the gateway to DingTalk (the API calls and the token fetches) goes through
 * here, for DingTalk's limit per egress IP:
 *
 * - while DingTalk bans this instance's IP (`IpBan`), nothing goes: `EgressRefusedError('banned')`;
 * - the instances that share an egress IP stay under DingTalk's window for it (`ipWindow`, shared
 *   through the same limiter as the rate limits: Redis with several instances), so that the ban
 *   is not earned: over it, `EgressRefusedError('ipWindow')`. A request's first attempt took its
 *   slot with its rate limits; a retry takes one here (`request.ipWindowSlot`); token fetches are
 *   not held back (see `UpstreamRequest.ipWindowSlot`);
 * - an answer that is the ban (`banOf`) starts one, for the length it says or `banMs`, and is
 *   not passed on as an answer: `EgressRefusedError('banned')`.
 *
 * The window fails open: if its store cannot answer (Redis down with `whenDown: closed`), the
 * call goes. It is a guard against a ban that DingTalk announces itself, not a limit of anyone.
 *
 * ```ts
 * const upstream = guardEgress(fetchUpstream, { ban: new IpBan(), banMs: 300_000, window, events });
 * ```
 */
import type { LimitCheck, LimitOutcome, RequestLimiter, WindowPolicy } from '@dingtalk-gateway/rate-limiter';
import type { Upstream, UpstreamRequest, UpstreamResponse } from '../proxy/upstream.js';
import { type BanAnswer, banOf } from './ban-answer.js';
import type { IpBan } from './ip-ban.js';

export class EgressRefusedError extends Error {
  override readonly name = 'EgressRefusedError';
  constructor(
    /** `banned`: DingTalk bans the egress IP; `ipWindow`: the gateway holds the IP under DingTalk's window. */
    readonly reason: 'banned' | 'ipWindow',
    /** When a call may go again. */
    readonly retryAfterMs: number,
    message: string,
  ) {
    super(message);
  }
}

export interface EgressGuardOptions {
  ban: IpBan;
  /** A ban's length when its answer does not say. */
  banMs: number;
  /** DingTalk's window per egress IP, or none. */
  window?: { limits: RequestLimiter; key: string; policy: WindowPolicy };
  /** A ban starts (once per ban) or ends (the probe was answered). */
  events?: { banned?(ban: BanAnswer & { until: number; status: number }): void; lifted?(): void };
}

export function guardEgress(inner: Upstream, options: EgressGuardOptions): Upstream {
  const { ban, events } = options;
  const window: LimitCheck | undefined = options.window && { kind: 'window', key: options.window.key, policy: options.window.policy };
  const refusedForBan = (ms: number) => new EgressRefusedError('banned', ms, `DingTalk bans this instance's egress IP for ${Math.ceil(ms / 1000)} s more`);

  return {
    async send(request: UpstreamRequest): Promise<UpstreamResponse> {
      // Banned: refused before anything else (a refused call takes no slot of the window).
      const wait = ban.waitMs();
      if (wait > 0) throw refusedForBan(wait);
      if (window && request.ipWindowSlot === 'take') {
        const refusal = windowRefusal(options.window!.limits, window);
        const retryAfterMs = refusal instanceof Promise ? await refusal : refusal;
        if (retryAfterMs !== undefined) {
          throw new EgressRefusedError('ipWindow', retryAfterMs, `the egress IP is at DingTalk's limit of ${options.window!.policy.limit} calls in ${options.window!.policy.windowMs / 1000} s`);
        }
      }
      const entry = ban.enter();
      if (!entry.allowed) throw refusedForBan(entry.retryAfterMs);

      let response: UpstreamResponse;
      try {
        response = await inner.send(request);
      } catch (error) {
        if (ban.answered(entry) === 'lifted') events?.lifted?.();
        throw error;
      }
      const banned = banOf(response);
      if (banned) {
        const ms = banned.waitMs ?? options.banMs;
        if (ban.banned(ms) === 'banned') events?.banned?.({ ...banned, until: ban.until!, status: response.status });
        throw refusedForBan(ms);
      }
      if (ban.answered(entry) === 'lifted') events?.lifted?.();
      return response;
    },
    close: () => inner.close(),
  };
}

/**
 * The window's wait when it refuses; undefined when the call may go (or the window cannot
 * answer). At once when the limiter is in memory (no promise on the request path).
 */
function windowRefusal(limits: RequestLimiter, check: LimitCheck): number | undefined | Promise<number | undefined> {
  const waitOf = (outcomes: LimitOutcome[]) => (outcomes[0]!.decision.allowed ? undefined : outcomes[0]!.decision.retryAfterMs);
  try {
    const outcomes = limits.check([check]);
    return outcomes instanceof Promise ? outcomes.then(waitOf, () => undefined) : waitOf(outcomes);
  } catch {
    return undefined;
  }
}
