import type { FetchLike, TokenFetchEvent, TokenFetcher, TokenProvider } from '@dingtalk-gateway/token-provider';
import { describe, expect, it, vi } from 'vitest';
import { type GatewayConfig, configSchema } from '../../config/schema.js';
import type { SecretSource } from '../../config/secrets.js';
import { type TokenProviderFactory, createTokenRegistry } from './registry.js';

const tenant = (app: string) => ({ name: app, app, apiKeys: [{ sha256: 'a'.repeat(64) }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 1, burst: 1 } });

function config(baseUrl = 'http://dingtalk.test'): GatewayConfig {
  return configSchema.parse({
    upstream: { baseUrl },
    apps: {
      bot: { type: 'internal', appKey: 'ding-bot-key', appSecretEnv: 'BOT_SECRET' },
      suite: { type: 'isv', suiteKey: 'suite-key', suiteSecretEnv: 'SUITE_SECRET', authCorpId: 'ding-corp', suiteTicket: { env: 'SUITE_TICKET' } },
    },
    tenants: { a: tenant('bot'), b: tenant('suite') },
  });
}

function setup(options: { tickets?: string[]; createProvider?: TokenProviderFactory; baseUrl?: string } = {}) {
  const tickets = [...(options.tickets ?? ['ticket-1'])];
  const secrets: SecretSource = {
    appSecret: vi.fn((appId: string) => `${appId}-secret`),
    suiteTicket: vi.fn(async () => tickets.shift() ?? 'no-more-tickets'),
  };
  const calls: Array<{ url: string; init: RequestInit; body: unknown }> = [];
  let n = 0;
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, init, body: JSON.parse(String(init.body)) });
    n += 1;
    return new Response(JSON.stringify({ accessToken: `token-${n}`, expireIn: 7200 }), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  const events: Array<[string, TokenFetchEvent]> = [];
  const registry = createTokenRegistry({
    config: config(options.baseUrl),
    secrets,
    fetch,
    ...(options.createProvider ? { createProvider: options.createProvider } : {}),
    onFetch: (appId, event) => events.push([appId, event]),
  });
  return { registry, secrets, calls, events };
}

describe('createTokenRegistry', () => {
  it('builds one provider per app of the config, and the same one on every call', () => {
    const { registry } = setup();
    expect(registry.appIds).toEqual(['bot', 'suite']);
    expect(registry.forApp('bot')).toBe(registry.forApp('bot'));
    expect(registry.forApp('bot')).not.toBe(registry.forApp('suite'));
  });

  it('refuses an app the config does not have', () => {
    const { registry } = setup();
    expect(() => registry.forApp('nope')).toThrow('no DingTalk app "nope" in the config');
    expect(() => registry.forApp('constructor')).toThrow(/no DingTalk app/);
  });

  it("fetches an internal app's token with its appKey and appSecret", async () => {
    const { registry, calls, secrets } = setup();
    expect(await registry.forApp('bot').getToken()).toEqual({ token: 'token-1', fromCache: false });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe('http://dingtalk.test/v1.0/oauth2/accessToken');
    expect(calls[0]!.init.method).toBe('POST');
    expect(calls[0]!.body).toEqual({ appKey: 'ding-bot-key', appSecret: 'bot-secret' });
    expect(secrets.appSecret).toHaveBeenCalledWith('bot');
    expect(secrets.suiteTicket).not.toHaveBeenCalled();
    // Cached afterwards.
    expect(await registry.forApp('bot').getToken()).toEqual({ token: 'token-1', fromCache: true });
    expect(calls).toHaveLength(1);
  });

  it("fetches an ISV app's corp token with suiteKey, suiteSecret, authCorpId and the current suite ticket", async () => {
    const { registry, calls } = setup();
    expect((await registry.forApp('suite').getToken()).token).toBe('token-1');
    expect(calls[0]!.url).toBe('http://dingtalk.test/v1.0/oauth2/corpAccessToken');
    expect(calls[0]!.body).toEqual({ suiteKey: 'suite-key', suiteSecret: 'suite-secret', authCorpId: 'ding-corp', suiteTicket: 'ticket-1' });
  });

  it('reads the suite ticket anew at every fetch, so a rotated ticket is used', async () => {
    const fetchers = new Map<string, TokenFetcher>();
    const createProvider: TokenProviderFactory = (appId, fetchToken) => {
      fetchers.set(appId, fetchToken);
      return { getToken: vi.fn(), invalidate: vi.fn() } as unknown as TokenProvider;
    };
    const { calls, secrets } = setup({ tickets: ['ticket-1', 'ticket-2'], createProvider });
    expect(secrets.suiteTicket).not.toHaveBeenCalled();
    await fetchers.get('suite')!();
    await fetchers.get('suite')!();
    expect(calls.map((c) => (c.body as { suiteTicket: string }).suiteTicket)).toEqual(['ticket-1', 'ticket-2']);
    expect(secrets.suiteTicket).toHaveBeenCalledTimes(2);
    expect(secrets.suiteTicket).toHaveBeenCalledWith('suite');
  });

  it('hands the factory each app id with its fetcher, and reports fetches with the app id', async () => {
    const seen: string[] = [];
    const createProvider: TokenProviderFactory = (appId, fetchToken, onFetch) => {
      seen.push(appId);
      return {
        async getToken() {
          const fetched = await fetchToken();
          onFetch({ ok: true, durationMs: 1, background: false });
          return { token: fetched.accessToken, fromCache: false };
        },
        async invalidate() {},
      };
    };
    const { registry, events } = setup({ createProvider });
    expect(seen).toEqual(['bot', 'suite']);
    await registry.forApp('suite').getToken();
    expect(events).toEqual([['suite', { ok: true, durationMs: 1, background: false }]]);
  });

  it('reports fetches of the default in-memory providers, by app', async () => {
    const { registry, events } = setup();
    await registry.forApp('bot').getToken();
    await registry.forApp('suite').getToken();
    expect(events.map(([appId, event]) => [appId, event.ok, event.background])).toEqual([
      ['bot', true, false],
      ['suite', true, false],
    ]);
  });

  it('sends token calls to the configured base URL', async () => {
    const { registry, calls } = setup({ baseUrl: 'http://127.0.0.1:9100' });
    await registry.forApp('bot').getToken();
    expect(calls[0]!.url).toBe('http://127.0.0.1:9100/v1.0/oauth2/accessToken');
  });
});
