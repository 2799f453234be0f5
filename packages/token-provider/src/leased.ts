/**
 * A token shared by several isolates through one authority they reach asynchronously (on
 * Cloudflare Workers, the gateway's `GatewayState` Durable Object over JS RPC): the same
 * semantics as the Redis provider, with the authority in place of Redis.
 *
 * - `TokenLeases` is the authority's side: per app, the token with its times, the fetch lease
 *   (one fetcher at a time, fenced), and the backoff after failed fetches. It never calls
 *   DingTalk and never sees a secret: it keeps what fetchers report.
 * - `createLeasedTokenProvider` is each isolate's side: it asks the authority for the token;
 *   when the authority hands it the lease, it calls DingTalk itself (through its own fetch, as
 *   every other call of that isolate) and reports the outcome.
 *
 * Why the fetch is the isolate's and not the authority's: the fetch then takes the isolate's
 * way to DingTalk (the egress guard's per-IP window and the ban it learns from answers, the
 * upstream's timeouts, the fetch's log line and metric) and its credentials (the app secret and
 * the ISV suite ticket are the isolate's bindings), exactly as on every other runtime, while the
 * authority stays a small state machine with no secret, no outbound I/O and nothing to log.
 * A fetcher that dies holding the lease only delays the others until the lease ends (`leaseMs`),
 * as the Redis provider's lock does.
 *
 * What the authority decides, per app:
 * - a valid token (before its `expiresAt`) is handed to everyone; from its `refreshAt` on, one
 *   caller also gets a refresh lease and fetches in the background while the token is still
 *   served (refresh ahead);
 * - no valid token: one caller gets the lease and fetches; the others wait in the authority for
 *   its outcome (at most until the lease ends, then one of them takes it over);
 * - a failed fetch starts a backoff (exponential, with jitter, counted across isolates): while
 *   it lasts no lease is given, callers with no valid token fail fast with the failure's reason;
 * - a token DingTalk refused is dropped only if it is still the current one, so that many
 *   callers reporting it cause one refetch in total;
 * - token times are the authority's (the fetch's start: the report's time less the fetch's
 *   duration as the fetcher measured it; `expireIn` clamped by `tokenTimes`), handed out as
 *   durations, so no two clocks are ever compared.
 *
 * Each isolate keeps the token it was handed until its `refreshAt` (a few minutes before expiry):
 * no round trip to the authority per request. From then on it asks again at most once a second
 * per app, serving the still-valid token meanwhile. A token dropped by another isolate is dropped
 * here when DingTalk refuses it to this isolate (the gateway then asks again and sends the request
 * once more with the new token); no fetch is added by that.
 *
 * ```ts
 * // in the authority (a Durable Object): const leases = new TokenLeases();
 * // in an isolate:
 * const tokens = createLeasedTokenProvider({
 *   leases: { acquire: () => stub.tokenAcquire(appId), settle: (f, o) => stub.tokenSettle(appId, f, o), drop: (t) => stub.tokenDrop(appId, t) },
 *   fetchToken,
 * });
 * ```
 */
import { type BackoffPolicy, DEFAULT_BACKOFF, backoffDelay } from './backoff.js';
import { type TokenFetcher, type TokenLease, type TokenProvider, TokenUnavailableError } from './interface.js';
import { DEFAULT_LIFETIME_POLICY, type LifetimePolicy, type TokenTimes, tokenTimes } from './lifetime.js';
import type { TokenFetchEvent } from './memory.js';
import { fetchCheckedToken } from './checked-fetch.js';

/** What the authority answers an isolate asking for the token (plain data: it crosses an RPC). */
export type TokenGrant =
  | {
      kind: 'token';
      token: string;
      /** From now, in the authority's time: when a refresh is due, and when the token is no longer to be sent. */
      refreshInMs: number;
      expiresInMs: number;
      /** The caller waited in the authority for another caller's fetch. */
      waited: boolean;
      /** Present when the token is due: the caller refreshes it in the background under this lease. */
      refreshFence?: string;
    }
  /** No valid token: the caller fetches one under this lease and reports with `settle`. */
  | { kind: 'fetch'; fence: string }
  /** Fetches fail: none is tried before `retryInMs`; `reason` is the last failure's. */
  | { kind: 'unavailable'; reason: string; retryInMs: number };

/** What a fetcher reports; `startedAgoMs` is how long before the report its fetch started (a duration: no clock is compared). */
export type TokenFetchOutcome = { ok: true; accessToken: string; expireIn?: number | undefined; startedAgoMs: number } | { ok: false; reason: string };

/** The authority's methods for one app, as an isolate reaches them (each an RPC on Workers). */
export interface TokenLeaseClient {
  acquire(): Promise<TokenGrant>;
  /** Reports a fetch made under `fence`; answers the grant that follows it (the token stored, or the backoff). */
  settle(fence: string, outcome: TokenFetchOutcome): Promise<TokenGrant>;
  /** DingTalk refused `token`: forget it if it is still the current one. */
  drop(token: string): Promise<void>;
}

export interface TokenLeasesOptions {
  lifetime?: Partial<LifetimePolicy>;
  backoff?: Partial<BackoffPolicy>;
  /** How long a lease lasts: longer than a token fetch can take. Default 15 000 ms (the Redis provider's lock). */
  leaseMs?: number;
  now?: () => number;
  random?: () => number;
}

interface AppState {
  token?: TokenTimes & { token: string };
  lease?: { fence: string; until: number };
  failures: number;
  retryAt: number;
  reason: string;
  /** Callers waiting for the lease holder's outcome. */
  waiters: Array<() => void>;
}

/** The authority's side: token, lease and backoff per app, in memory (the Durable Object's). */
export class TokenLeases {
  readonly #apps = new Map<string, AppState>();
  readonly #lifetime: LifetimePolicy;
  readonly #backoff: BackoffPolicy;
  readonly #leaseMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  #fences = 0;

  constructor(options: TokenLeasesOptions = {}) {
    this.#lifetime = { ...DEFAULT_LIFETIME_POLICY, ...options.lifetime };
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  async acquire(app: string): Promise<TokenGrant> {
    const state = this.#state(app);
    let waited = false;
    for (;;) {
      const t = this.#now();
      const current = state.token;
      if (current && t < current.expiresAt) {
        const due = t >= current.refreshAt && !this.#leased(state, t) && t >= state.retryAt;
        return { ...this.#grantOf(current, t, waited), ...(due ? { refreshFence: this.#lease(state, t) } : {}) };
      }
      if (this.#leased(state, t)) {
        // Another caller fetches: wait for its outcome, or for its lease to end.
        waited = true;
        await this.#outcome(state, state.lease!.until - t);
        continue;
      }
      if (state.failures > 0 && t < state.retryAt) return { kind: 'unavailable', reason: state.reason, retryInMs: state.retryAt - t };
      return { kind: 'fetch', fence: this.#lease(state, t) };
    }
  }

  settle(app: string, fence: string, outcome: TokenFetchOutcome): TokenGrant {
    const state = this.#state(app);
    const t = this.#now();
    // A fetcher whose lease ended (it stalled) does not overwrite what came after it.
    const holder = state.lease?.fence === fence;
    if (holder) state.lease = undefined;
    if (outcome.ok) {
      const fetched = { token: outcome.accessToken, ...tokenTimes(t - (Number.isFinite(outcome.startedAgoMs) ? Math.max(0, outcome.startedAgoMs) : 0), outcome.expireIn, this.#lifetime) };
      if (holder) {
        state.token = fetched;
        state.failures = 0;
        state.retryAt = 0;
        state.reason = '';
      }
      this.#wake(state);
      // A stalled fetcher's request uses the token every isolate uses now (its own if there is none).
      return this.#grantOf(holder ? fetched : (state.token && t < state.token.expiresAt ? state.token : fetched), t, false);
    }
    if (holder) {
      state.failures += 1;
      state.retryAt = t + backoffDelay(state.failures, this.#backoff, this.#random);
      state.reason = outcome.reason;
    }
    this.#wake(state);
    if (state.token && t < state.token.expiresAt) return this.#grantOf(state.token, t, false);
    return { kind: 'unavailable', reason: state.reason || outcome.reason, retryInMs: Math.max(0, state.retryAt - t) };
  }

  drop(app: string, token: string): void {
    const state = this.#apps.get(app);
    if (state?.token?.token === token) state.token = undefined;
  }

  #state(app: string): AppState {
    let state = this.#apps.get(app);
    if (!state) this.#apps.set(app, (state = { failures: 0, retryAt: 0, reason: '', waiters: [] }));
    return state;
  }

  #leased(state: AppState, t: number): boolean {
    return state.lease !== undefined && t < state.lease.until;
  }

  #lease(state: AppState, t: number): string {
    const fence = `${t.toString(36)}.${(++this.#fences).toString(36)}.${this.#random().toString(36).slice(2, 8)}`;
    state.lease = { fence, until: t + this.#leaseMs };
    return fence;
  }

  #grantOf(token: TokenTimes & { token: string }, t: number, waited: boolean): TokenGrant {
    return { kind: 'token', token: token.token, refreshInMs: token.refreshAt - t, expiresInMs: token.expiresAt - t, waited };
  }

  /** Resolves at the lease holder's report, or after `ms` (a timer: the wait never depends on a holder that is gone). */
  #outcome(state: AppState, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(1, ms));
      function done() {
        clearTimeout(timer);
        const at = state.waiters.indexOf(done);
        if (at >= 0) state.waiters.splice(at, 1);
        resolve();
      }
      state.waiters.push(done);
    });
  }

  #wake(state: AppState): void {
    for (const waiter of state.waiters.splice(0)) waiter();
  }
}

export interface LeasedTokenProviderOptions {
  leases: TokenLeaseClient;
  /** DingTalk's token endpoint, called by this isolate when the authority hands it the lease. */
  fetchToken: TokenFetcher;
  /** Serves while the authority cannot be reached (an RPC that throws): tokens still flow, fetched per isolate. */
  fallback?: TokenProvider;
  /** While the token is due, how often this isolate asks the authority again. Default 1000 ms. */
  recheckMs?: number;
  /**
   * A question to the authority (with the fetch it may hand over) not settled after this long is
   * given up, and the next caller asks again: a request's I/O that its runtime cancelled must not
   * hold every later request of the isolate. Longer than a lease and a fetch. Default 30 000 ms.
   */
  stuckMs?: number;
  now?: () => number;
  onFetch?: (event: TokenFetchEvent) => void;
  /** The authority failed (`error`, the fallback serves) or answers again (`recovered`). */
  onAuthorityState?: (state: 'error' | 'recovered', error?: unknown) => void;
}

/** The token as this isolate keeps it, on its own clock. */
interface Memo {
  token: string;
  refreshAt: number;
  expiresAt: number;
}

/** The isolate's side: a memo of the authority's token, and the fetch when the authority says so. */
export function createLeasedTokenProvider(options: LeasedTokenProviderOptions): TokenProvider {
  const now = options.now ?? Date.now;
  const recheckMs = options.recheckMs ?? 1_000;
  const stuckMs = options.stuckMs ?? 30_000;
  const { leases } = options;

  let memo: Memo | undefined;
  /** The one question to the authority under way in this isolate, and since when. */
  let inFlight: { promise: Promise<TokenLease>; since: number } | undefined;
  /** Background work under way (a recheck, a refresh), and when the next recheck may go. */
  let busy = 0;
  let recheckAt = 0;
  let authorityDown = false;

  /** The grant's token as this isolate's memo (the authority's durations on this isolate's clock). */
  function remember(grant: Extract<TokenGrant, { kind: 'token' }>): void {
    const t = now();
    memo = { token: grant.token, refreshAt: t + grant.refreshInMs, expiresAt: t + grant.expiresInMs };
  }

  async function fetchUnderLease(fence: string, background: boolean): Promise<Extract<TokenGrant, { kind: 'token' }>> {
    const startedAt = now();
    let fetched;
    try {
      fetched = await fetchCheckedToken(options.fetchToken);
    } catch (error) {
      options.onFetch?.({ ok: false, durationMs: now() - startedAt, background, error });
      const grant = await leases.settle(fence, { ok: false, reason: describe(error) });
      if (grant.kind === 'token') return grant; // a token still valid (a refresh failed)
      // The fetch's own error (an egress refusal is answered as such by the gateway), and when to try again.
      throw new TokenUnavailableError(error, now() + (grant.kind === 'unavailable' ? grant.retryInMs : 0));
    }
    options.onFetch?.({ ok: true, durationMs: now() - startedAt, background });
    const grant = await leases.settle(fence, { ok: true, accessToken: fetched.accessToken, expireIn: fetched.expireIn, startedAgoMs: now() - startedAt });
    if (grant.kind !== 'token') throw new TokenUnavailableError(new Error('the token was not kept'), now());
    return grant;
  }

  /** Runs `work` in the background: the valid token keeps being served, the authority's backoff spaces the attempts. */
  function background(work: Promise<unknown>): void {
    busy += 1;
    work
      .catch(() => {})
      .finally(() => {
        busy -= 1;
        recheckAt = now() + recheckMs;
      });
  }

  const refresh = (fence: string) => fetchUnderLease(fence, true).then(remember);

  /** The token is due: ask the authority (at most once per `recheckMs`) for a newer one, or for the refresh. */
  function recheck(): void {
    if (busy > 0 || now() < recheckAt) return;
    background(
      leases.acquire().then((grant) => {
        if (grant.kind !== 'token') return;
        remember(grant);
        if (grant.refreshFence !== undefined) return refresh(grant.refreshFence);
      }),
    );
  }

  /** The token from the authority, fetched by this isolate if the authority hands it the lease. */
  async function resolve(): Promise<TokenLease> {
    const grant = await leases.acquire();
    if (grant.kind === 'unavailable') throw new TokenUnavailableError(new Error(grant.reason || 'the token endpoint is failing'), now() + grant.retryInMs);
    if (grant.kind === 'token') {
      remember(grant);
      if (grant.refreshFence !== undefined) background(refresh(grant.refreshFence));
      return { token: grant.token, fromCache: !grant.waited };
    }
    const fetched = await fetchUnderLease(grant.fence, false);
    remember(fetched);
    return { token: fetched.token, fromCache: false };
  }

  return {
    async getToken(): Promise<TokenLease> {
      const t = now();
      if (memo && t < memo.expiresAt) {
        if (t >= memo.refreshAt) recheck();
        return { token: memo.token, fromCache: true };
      }
      try {
        if (!inFlight || t - inFlight.since > stuckMs) {
          const entry: { promise: Promise<TokenLease>; since: number } = { promise: resolve(), since: t };
          entry.promise = entry.promise.finally(() => {
            if (inFlight === entry) inFlight = undefined;
          });
          inFlight = entry;
        }
        const lease = await inFlight.promise;
        if (authorityDown) {
          authorityDown = false;
          options.onAuthorityState?.('recovered');
        }
        return lease;
      } catch (error) {
        // DingTalk's failures are answered as such; only an authority that cannot be reached falls back.
        if (error instanceof TokenUnavailableError || !options.fallback) throw error;
        if (!authorityDown) options.onAuthorityState?.('error', error);
        authorityDown = true;
        return options.fallback.getToken();
      }
    },

    async invalidate(token: string): Promise<void> {
      if (memo?.token === token) memo = undefined;
      await options.fallback?.invalidate(token);
      try {
        await leases.drop(token);
      } catch (error) {
        if (!options.fallback) throw error;
      }
    },
  };
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && code !== message ? `${code}: ${message}` : message;
}
