/**
 * The leased provider: several providers ("isolates") sharing one `TokenLeases` ("the Durable
 * Object"), each call crossing a copy boundary as JS RPC does. Timers and the clock are faked.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FetchedToken, type TokenProvider, TokenUnavailableError } from './interface.js';
import { type LeasedTokenProviderOptions, type TokenLeaseClient, TokenLeases, createLeasedTokenProvider } from './leased.js';
import { createMemoryTokenProvider } from './memory.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const flush = () => vi.advanceTimersByTimeAsync(0);

/** A token endpoint answered by hand: token-1, token-2, … */
function tokenEndpoint(expireIn: number | undefined = 7200) {
  const pending: Array<{ resolve: (t: FetchedToken) => void; reject: (e: unknown) => void }> = [];
  let issued = 0;
  return {
    fetchToken: () => new Promise<FetchedToken>((resolve, reject) => pending.push({ resolve, reject })),
    get fetches() {
      return pending.length;
    },
    answer: (index = pending.length - 1) => pending[index]!.resolve({ accessToken: `token-${++issued}`, expireIn }),
    fail: (index = pending.length - 1) => pending[index]!.reject(Object.assign(new Error('token endpoint down'), { code: 'system.busy' })),
  };
}

/** The authority as an isolate reaches it: every argument and answer copied, every call a hop. */
function rpc(leases: TokenLeases, app: string, calls: { acquire: number }): TokenLeaseClient {
  return {
    acquire: async () => {
      calls.acquire += 1;
      return structuredClone(await leases.acquire(app));
    },
    settle: async (fence, outcome) => structuredClone(leases.settle(app, fence, structuredClone(outcome))),
    drop: async (token) => leases.drop(app, token),
  };
}

function isolates(count: number, endpoint: ReturnType<typeof tokenEndpoint>, leases = new TokenLeases({ random: () => 0.5 }), overrides: Partial<LeasedTokenProviderOptions> = {}) {
  const calls = { acquire: 0 };
  const providers: TokenProvider[] = Array.from({ length: count }, () => createLeasedTokenProvider({ leases: rpc(leases, 'app', calls), fetchToken: endpoint.fetchToken, ...overrides }));
  return { providers, calls, leases };
}

const all = (providers: TokenProvider[], perProvider: number) => Promise.all(providers.flatMap((p) => Array.from({ length: perProvider }, () => p.getToken())));

describe('createLeasedTokenProvider with TokenLeases', () => {
  it('fetches once for every isolate and caller, then serves from each isolate without asking the authority', async () => {
    const endpoint = tokenEndpoint();
    const { providers, calls } = isolates(3, endpoint);
    const waiting = all(providers, 50);
    await flush();
    expect(endpoint.fetches).toBe(1);
    endpoint.answer();
    const leases = await waiting;
    expect(new Set(leases.map((l) => l.token))).toEqual(new Set(['token-1']));
    // One fetch: the fetcher and the isolates that waited for it say so.
    expect(leases.filter((l) => l.fromCache)).toEqual([]);
    const asked = calls.acquire;
    expect(asked).toBe(3); // one in-flight question per isolate
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(await all(providers, 10)).toEqual(Array(30).fill({ token: 'token-1', fromCache: true }));
    expect(calls.acquire).toBe(asked);
    expect(endpoint.fetches).toBe(1);
  });

  it('refreshes ahead of expiry once across isolates, serving the valid token meanwhile', async () => {
    const endpoint = tokenEndpoint();
    const { providers } = isolates(3, endpoint);
    const first = all(providers, 1);
    await flush();
    endpoint.answer();
    await first;
    await vi.advanceTimersByTimeAsync(7200_000 - 5 * 60_000 - 1);
    await all(providers, 5);
    await flush();
    expect(endpoint.fetches).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await all(providers, 5)).toEqual(Array(15).fill({ token: 'token-1', fromCache: true }));
    await flush();
    expect(endpoint.fetches).toBe(2);
    // Each isolate asks again at most once a second; none starts another fetch.
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      await all(providers, 5);
    }
    expect(endpoint.fetches).toBe(2);
    endpoint.answer();
    await flush();
    await vi.advanceTimersByTimeAsync(1_000);
    await all(providers, 1); // the others learn the new token at their next question
    await flush();
    expect(await all(providers, 1)).toEqual(Array(3).fill({ token: 'token-2', fromCache: true }));
    expect(endpoint.fetches).toBe(2);
  });

  it('keeps serving the valid token when a refresh fails, and tries again after the backoff', async () => {
    const endpoint = tokenEndpoint();
    const { providers } = isolates(2, endpoint);
    const first = all(providers, 1);
    await flush();
    endpoint.answer();
    await first;
    await vi.advanceTimersByTimeAsync(7200_000 - 5 * 60_000);
    await all(providers, 1);
    await flush();
    expect(endpoint.fetches).toBe(2);
    endpoint.fail();
    await flush();
    await vi.advanceTimersByTimeAsync(200); // within the first backoff (125..250 ms), and under a second
    expect(await all(providers, 3)).toEqual(Array(6).fill({ token: 'token-1', fromCache: true }));
    await flush();
    expect(endpoint.fetches).toBe(2);
    await vi.advanceTimersByTimeAsync(1_000);
    await all(providers, 1);
    await flush();
    expect(endpoint.fetches).toBe(3);
    endpoint.answer();
    await flush();
    await vi.advanceTimersByTimeAsync(1_000);
    await all(providers, 1);
    await flush();
    expect((await all(providers, 1)).map((l) => l.token)).toEqual(['token-2', 'token-2']);
  });

  it('with no valid token and a failing endpoint: the fetch error, then every isolate fails fast until the backoff allows one more try', async () => {
    const endpoint = tokenEndpoint();
    const { providers } = isolates(3, endpoint);
    const waiting = providers.flatMap((p) => Array.from({ length: 4 }, () => p.getToken().then(() => undefined, (error: unknown) => error as TokenUnavailableError)));
    await flush();
    expect(endpoint.fetches).toBe(1);
    endpoint.fail();
    const errors = await Promise.all(waiting);
    expect(errors.every((error) => error instanceof TokenUnavailableError)).toBe(true);
    // The fetcher's callers get the fetch's own error as the cause (the gateway tells an egress refusal by it);
    // those that waited in the authority, its reason.
    expect(errors.filter((error) => (error!.cause as { code?: string }).code === 'system.busy')).toHaveLength(4);
    expect(errors.every((error) => (error!.cause as Error).message.includes('token endpoint down'))).toBe(true);
    const fastFailure = (await providers[1]!.getToken().catch((e: unknown) => e)) as TokenUnavailableError;
    expect(fastFailure).toBeInstanceOf(TokenUnavailableError);
    expect(fastFailure.message).toContain('system.busy: token endpoint down');
    expect(fastFailure.retryAt).toBeGreaterThan(Date.now());
    expect(fastFailure.retryAt).toBeLessThanOrEqual(Date.now() + 250);
    expect(endpoint.fetches).toBe(1);
    await vi.advanceTimersByTimeAsync(250);
    const again = all(providers, 2);
    await flush();
    expect(endpoint.fetches).toBe(2);
    endpoint.answer();
    expect(new Set((await again).map((l) => l.token))).toEqual(new Set(['token-1']));
  });

  it('grows the backoff with failures counted across isolates', async () => {
    const endpoint = tokenEndpoint();
    const { providers } = isolates(2, endpoint);
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const attempt = providers[i % 2]!.getToken().catch((e: unknown) => e as TokenUnavailableError);
      await flush();
      endpoint.fail();
      const error = (await attempt) as TokenUnavailableError;
      delays.push(error.retryAt - Date.now());
      await vi.advanceTimersByTimeAsync(Math.ceil(error.retryAt - Date.now()));
    }
    // random 0.5: 3/4 of 250, 500, 1000, 2000 ms
    expect(delays).toEqual([187.5, 375, 750, 1500]);
    expect(endpoint.fetches).toBe(4);
  });

  it('a token DingTalk refused: dropped for every isolate, refetched once in total', async () => {
    const endpoint = tokenEndpoint();
    const { providers } = isolates(3, endpoint);
    const first = all(providers, 1);
    await flush();
    endpoint.answer();
    await first;
    // Every request that got token-1 refused reports it, then asks again.
    const replays = Promise.all(
      providers.flatMap((p) =>
        Array.from({ length: 5 }, async () => {
          await p.invalidate('token-1');
          return p.getToken();
        }),
      ),
    );
    await flush();
    expect(endpoint.fetches).toBe(2);
    endpoint.answer();
    expect(new Set((await replays).map((l) => l.token))).toEqual(new Set(['token-2']));
    // A late report of the old token drops nothing.
    await providers[0]!.invalidate('token-1');
    expect((await providers[0]!.getToken()).token).toBe('token-2');
    expect(endpoint.fetches).toBe(2);
  });

  it('a fetcher that never reports: the others wait until its lease ends, then one fetches; its late report overwrites nothing', async () => {
    const endpoint = tokenEndpoint();
    const leases = new TokenLeases({ random: () => 0.5, leaseMs: 15_000 });
    const [stalled, other] = isolates(2, endpoint, leases).providers;
    const stalledLease = stalled!.getToken();
    await flush();
    expect(endpoint.fetches).toBe(1);
    const waiting = other!.getToken();
    await vi.advanceTimersByTimeAsync(14_999);
    expect(endpoint.fetches).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(endpoint.fetches).toBe(2);
    endpoint.answer(1);
    expect(await waiting).toEqual({ token: 'token-1', fromCache: false });
    endpoint.answer(0);
    // The stalled fetcher's report changes nothing: its request uses the token every isolate uses.
    expect((await stalledLease).token).toBe('token-1');
    expect(await leases.acquire('app')).toMatchObject({ kind: 'token', token: 'token-1' });
  });

  it("clamps DingTalk's expireIn: missing or 0 is a 60 s token, refreshed after 30 s, not a refetch loop", async () => {
    const endpoint = tokenEndpoint(0);
    const { providers, leases } = isolates(2, endpoint);
    const first = all(providers, 3);
    await flush();
    endpoint.answer();
    await first;
    const grant = await leases.acquire('app');
    expect(grant).toMatchObject({ kind: 'token', refreshInMs: 30_000, expiresInMs: 54_000 });
    await all(providers, 10);
    await flush();
    expect(endpoint.fetches).toBe(1);
    await vi.advanceTimersByTimeAsync(30_000);
    await all(providers, 10);
    await flush();
    expect(endpoint.fetches).toBe(2);
  });

  it('an authority that cannot be reached: the fallback serves, and the authority again once it answers', async () => {
    const endpoint = tokenEndpoint();
    const leases = new TokenLeases();
    let reachable = false;
    const states: string[] = [];
    const client: TokenLeaseClient = {
      acquire: async () => {
        if (!reachable) throw new Error('Durable Object reset');
        return leases.acquire('app');
      },
      settle: async (fence, outcome) => leases.settle('app', fence, outcome),
      drop: async (token) => leases.drop('app', token),
    };
    const fallbackEndpoint = { fetchToken: async () => ({ accessToken: 'own-token', expireIn: 7200 }) };
    const provider = createLeasedTokenProvider({
      leases: client,
      fetchToken: endpoint.fetchToken,
      fallback: createMemoryTokenProvider(fallbackEndpoint),
      onAuthorityState: (state) => states.push(state),
    });
    expect((await provider.getToken()).token).toBe('own-token');
    reachable = true;
    const shared = provider.getToken();
    await flush();
    endpoint.answer();
    expect((await shared).token).toBe('token-1');
    expect(states).toEqual(['error', 'recovered']);
  });

  it('a question to the authority that never settles (its request cancelled) holds the isolate for stuckMs at most', async () => {
    const endpoint = tokenEndpoint();
    const leases = new TokenLeases();
    let first = true;
    const client: TokenLeaseClient = {
      acquire: () => {
        if (first) {
          first = false;
          return new Promise(() => {});
        }
        return leases.acquire('app');
      },
      settle: async (fence, outcome) => leases.settle('app', fence, outcome),
      drop: async (token) => leases.drop('app', token),
    };
    const provider = createLeasedTokenProvider({ leases: client, fetchToken: endpoint.fetchToken, stuckMs: 30_000 });
    void provider.getToken();
    await vi.advanceTimersByTimeAsync(29_000);
    void provider.getToken(); // still waits for the first question
    await flush();
    expect(endpoint.fetches).toBe(0);
    await vi.advanceTimersByTimeAsync(1_001);
    const next = provider.getToken();
    await flush();
    expect(endpoint.fetches).toBe(1);
    endpoint.answer();
    expect(await next).toEqual({ token: 'token-1', fromCache: false });
  });

  it('hands the authority no secret: only the token, its lifetime and a failure reason cross', async () => {
    const endpoint = tokenEndpoint();
    const leases = new TokenLeases();
    const sent: unknown[] = [];
    const client: TokenLeaseClient = {
      acquire: () => leases.acquire('app'),
      settle: async (fence, outcome) => {
        sent.push(outcome);
        return leases.settle('app', fence, outcome);
      },
      drop: async (token) => leases.drop('app', token),
    };
    const provider = createLeasedTokenProvider({ leases: client, fetchToken: endpoint.fetchToken });
    const failing = provider.getToken().catch(() => {});
    await flush();
    endpoint.fail();
    await failing;
    await vi.advanceTimersByTimeAsync(1_000);
    const ok = provider.getToken();
    await flush();
    endpoint.answer();
    await ok;
    expect(sent).toEqual([
      { ok: false, reason: 'system.busy: token endpoint down' },
      { ok: true, accessToken: 'token-1', expireIn: 7200, startedAgoMs: 0 },
    ]);
  });
});
