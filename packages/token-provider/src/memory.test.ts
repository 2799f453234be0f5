import { describe, expect, it } from 'vitest';
import { type FetchedToken, TokenUnavailableError } from './interface.js';
import { createMemoryTokenProvider } from './memory.js';

/** A token endpoint the test answers by hand, and a clock the test moves. */
function harness(options: { expireIn?: number | undefined } = { expireIn: 7200 }) {
  let clock = 1_000_000;
  const pending: Array<{ resolve: (t: FetchedToken) => void; reject: (e: unknown) => void }> = [];
  let issued = 0;
  const provider = createMemoryTokenProvider({
    now: () => clock,
    random: () => 0.5,
    fetchToken: () => new Promise<FetchedToken>((resolve, reject) => pending.push({ resolve, reject })),
  });
  return {
    provider,
    advance: (ms: number) => (clock += ms),
    get fetches() {
      return pending.length;
    },
    answer: (index = pending.length - 1) => pending[index]!.resolve({ accessToken: `token-${++issued}`, expireIn: options.expireIn }),
    fail: (index = pending.length - 1) => pending[index]!.reject(new Error('token endpoint down')),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('createMemoryTokenProvider', () => {
  it('fetches on first use, once, however many callers wait', async () => {
    const h = harness();
    const waiting = Array.from({ length: 500 }, () => h.provider.getToken());
    expect(h.fetches).toBe(1);
    h.answer();
    const leases = await Promise.all(waiting);
    expect(new Set(leases.map((l) => l.token))).toEqual(new Set(['token-1']));
    expect(leases.every((l) => !l.fromCache)).toBe(true);
    expect(await h.provider.getToken()).toEqual({ token: 'token-1', fromCache: true });
    expect(h.fetches).toBe(1);
  });

  it('refreshes ahead of expiry in the background while serving the cached token', async () => {
    const h = harness();
    const first = h.provider.getToken();
    h.answer();
    await first;
    h.advance(7200_000 - 5 * 60_000 - 1);
    await h.provider.getToken();
    expect(h.fetches).toBe(1);
    h.advance(1);
    expect(await h.provider.getToken()).toEqual({ token: 'token-1', fromCache: true });
    expect(h.fetches).toBe(2);
    // still one refresh however many callers pass meanwhile
    await Promise.all(Array.from({ length: 50 }, () => h.provider.getToken()));
    expect(h.fetches).toBe(2);
    h.answer();
    await settle();
    expect(await h.provider.getToken()).toEqual({ token: 'token-2', fromCache: true });
  });

  it('keeps serving the valid token when a refresh fails, and retries with backoff', async () => {
    const h = harness();
    const first = h.provider.getToken();
    h.answer();
    await first;
    h.advance(7200_000 - 5 * 60_000);
    await h.provider.getToken();
    h.fail();
    await settle();
    expect(await h.provider.getToken()).toEqual({ token: 'token-1', fromCache: true });
    expect(h.fetches).toBe(2); // backoff: no new attempt yet
    h.advance(250); // first backoff is 125..250 ms with jitter
    await h.provider.getToken();
    expect(h.fetches).toBe(3);
    h.answer();
    await settle();
    expect((await h.provider.getToken()).token).toBe('token-2');
  });

  it('fails fast while backing off when there is no valid token, then tries again', async () => {
    const h = harness();
    const first = h.provider.getToken();
    h.fail();
    await expect(first).rejects.toBeInstanceOf(TokenUnavailableError);
    await expect(h.provider.getToken()).rejects.toThrow(/token endpoint down/);
    expect(h.fetches).toBe(1);
    h.advance(250);
    const second = h.provider.getToken();
    expect(h.fetches).toBe(2);
    h.answer();
    expect((await second).token).toBe('token-1');
  });

  it('backs off exponentially up to a cap', async () => {
    const h = harness();
    const waits: number[] = [];
    for (let attempt = 0; attempt < 12; attempt++) {
      const pendingToken = h.provider.getToken();
      h.fail();
      const error = (await pendingToken.catch((e: unknown) => e)) as TokenUnavailableError;
      const now = h.advance(0);
      waits.push(error.retryAt - now);
      h.advance(error.retryAt - now);
    }
    // random() is 0.5 in the harness: 3/4 of 250 ms, doubling, capped at 3/4 of 30 s
    expect(waits.slice(0, 4)).toEqual([187.5, 375, 750, 1500]);
    expect(waits.at(-1)).toBe(22_500);
  });

  it.each([0, -5, undefined, Number.NaN])('never loops tightly when expireIn is %s', async (expireIn) => {
    const h = harness({ expireIn });
    const first = h.provider.getToken();
    h.answer();
    await first;
    // 59 s of traffic at 100 req/s: one fetch only (fallback lifetime 60 s)
    for (let i = 0; i < 2_900; i++) {
      h.advance(10);
      await h.provider.getToken();
    }
    expect(h.fetches).toBe(1);
  });

  it('clamps an absurd expireIn to the documented 7200 s', async () => {
    const h = harness({ expireIn: 10 ** 9 });
    const first = h.provider.getToken();
    h.answer();
    await first;
    h.advance(7200_000);
    const next = h.provider.getToken();
    expect(h.fetches).toBe(2);
    h.answer();
    expect((await next).fromCache).toBe(false);
  });

  it('drops a rejected token only if it is still the cached one', async () => {
    const h = harness();
    const first = h.provider.getToken();
    h.answer();
    await first;
    await h.provider.invalidate('token-1');
    const second = h.provider.getToken();
    expect(h.fetches).toBe(2);
    h.answer();
    expect((await second).token).toBe('token-2');
    // late reports about the old token do not drop the new one
    await h.provider.invalidate('token-1');
    expect(await h.provider.getToken()).toEqual({ token: 'token-2', fromCache: true });
    expect(h.fetches).toBe(2);
  });

  it('refuses an answer without an access token', async () => {
    const provider = createMemoryTokenProvider({ fetchToken: async () => ({ accessToken: '', expireIn: 7200 }) });
    await expect(provider.getToken()).rejects.toThrow(/without an accessToken/);
  });
});
