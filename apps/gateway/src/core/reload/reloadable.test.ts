import { describe, expect, it } from 'vitest';
import { type GatewayConfig, configSchema } from '../../config/schema.js';
import type { SecretSource } from '../../config/secrets.js';
import { mintApiKey } from '../../adapters/node/api-key.js';
import { type Gateway, createGateway } from '../create-gateway.js';
import { createFetchUpstream } from '../proxy/fetch-upstream.js';
import { reloadableGateway } from './reloadable.js';

const LIST = '/v2.0/wiki/workspaces?operatorId=u';
const alice = mintApiKey();
const bob = mintApiKey();

/** DingTalk as a function: counts token fetches; a read waits for `hold` when one is set. */
function fakeDingTalk() {
  const seen = { tokens: 0, reads: 0 };
  let hold: Promise<void> | undefined;
  const json = (value: unknown) => new Response(JSON.stringify(value), { headers: { 'content-type': 'application/json' } });
  const fetch = async (request: Request) => {
    if (new URL(request.url).pathname === '/v1.0/oauth2/accessToken') {
      seen.tokens += 1;
      return json({ accessToken: `token-${seen.tokens}`, expireIn: 7200 });
    }
    seen.reads += 1;
    await hold;
    return json({ workspaces: [], nextToken: '' });
  };
  return { seen, fetch, holdReads: (until: Promise<void>) => (hold = until) };
}

function configWith(patch: { tenants?: Record<string, unknown>; server?: Record<string, unknown>; appKey?: string } = {}): GatewayConfig {
  return configSchema.parse({
    server: { port: 0, ...patch.server },
    upstream: { baseUrl: 'https://dingtalk.invalid' },
    dingtalk: { qpsLimit: 1000 },
    apps: { full: { type: 'internal', appKey: patch.appKey ?? 'dingapp', appSecretEnv: 'UNUSED' } },
    tenants: patch.tenants ?? {
      alice: { name: 'Alice', app: 'full', apiKeys: [{ sha256: alice.sha256 }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 0.001, burst: 3 } },
    },
    observability: { logLevel: 'silent', metrics: { enabled: false } },
  });
}

const bobTenant = { name: 'Bob', app: 'full', apiKeys: [{ sha256: bob.sha256 }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 100, burst: 100 } };

function harness(config = configWith()) {
  const dingtalk = fakeDingTalk();
  let secret = 'secret-1';
  const secrets: SecretSource = { appSecret: () => secret, suiteTicket: async () => '' };
  const upstream = createFetchUpstream({ baseUrl: 'https://dingtalk.invalid', fetch: dingtalk.fetch, responseTimeoutMs: 5_000, maxResponseBytes: 1 << 20 });
  const gateway = reloadableGateway(config, (next, previous: Gateway | undefined, reloadStatus) => createGateway(next, { upstream, secrets, previous, reloadStatus, retryTiming: { sleep: async () => {} } }));
  const call = (key: string) => Promise.resolve(gateway.fetch(new Request(`http://gateway${LIST}`, { headers: { authorization: `Bearer ${key}` } })));
  return { gateway, dingtalk, call, setSecret: (value: string) => (secret = value) };
}

describe('reloading the config while serving', () => {
  it('applies tenants and keys added and removed to the next request', async () => {
    const h = harness();
    expect((await h.call(bob.key)).status).toBe(401);
    const added = h.gateway.reload(configWith({ tenants: { ...configWith().tenants, bob: bobTenant } }));
    expect(added).toMatchObject({ ok: true, generation: 2 });
    expect(added.message).toContain('tenants added: bob');
    expect(added.message).toContain(`keys added: bob:${bob.sha256.slice(0, 12)}`);
    expect(added.message).not.toContain(bob.key);
    expect((await h.call(bob.key)).status).toBe(200);

    const removed = h.gateway.reload(configWith({ tenants: { bob: bobTenant } }));
    expect(removed).toMatchObject({ ok: true, generation: 3 });
    expect((await h.call(alice.key)).status).toBe(401);
    expect((await h.call(bob.key)).status).toBe(200);
  });

  it('keeps the limits spent and the token: a reload gives no fresh burst and fetches no token', async () => {
    const h = harness();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await h.call(alice.key)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(h.dingtalk.seen.tokens).toBe(1);
    expect(h.gateway.reload(configWith({ tenants: { ...configWith().tenants, bob: bobTenant } })).ok).toBe(true);
    expect((await h.call(alice.key)).status).toBe(429);
    expect((await h.call(bob.key)).status).toBe(200);
    expect(h.dingtalk.seen.tokens).toBe(1);
  });

  it("drops an app's token when its secret or settings change", async () => {
    const h = harness();
    expect((await h.call(alice.key)).status).toBe(200);
    h.setSecret('secret-2');
    expect(h.gateway.reload(configWith()).ok).toBe(true);
    expect((await h.call(alice.key)).status).toBe(200);
    expect(h.dingtalk.seen.tokens).toBe(2);
    expect(h.gateway.reload(configWith({ appKey: 'dingother' })).message).toContain('apps changed: full');
    expect((await h.call(alice.key)).status).toBe(200);
    expect(h.dingtalk.seen.tokens).toBe(3);
  });

  it('refuses a config file that does not load, with its own error, and keeps the last good one', async () => {
    const h = harness();
    const outcome = h.gateway.reload({ error: new Error('gateway.yaml: tenants.alice.scopes: expected an array') });
    expect(outcome).toMatchObject({ ok: false, generation: 1, message: 'gateway.yaml: tenants.alice.scopes: expected an array' });
    expect(h.gateway.lastReload).toBe(outcome);
    expect((await h.call(alice.key)).status).toBe(200);
  });

  it('refuses a config that cannot be built (a secret missing), and keeps the last good one', async () => {
    const h = harness();
    h.setSecret('secret-1');
    const failing = reloadableGateway(configWith(), (next, previous: Gateway | undefined) => {
      if (previous) throw new Error('apps.full.appSecretEnv: environment variable UNUSED is not set');
      return h.gateway.current;
    });
    expect(failing.reload(configWith({ tenants: { bob: bobTenant } }))).toMatchObject({ ok: false, generation: 1, message: expect.stringContaining('UNUSED is not set') });
    expect(failing.current).toBe(h.gateway.current);
  });

  it('refuses what only a restart applies, naming it', async () => {
    const h = harness();
    const outcome = h.gateway.reload(configWith({ server: { port: 9999 } }));
    expect(outcome).toMatchObject({ ok: false, generation: 1, message: 'needs a restart, not a reload: server.port changed' });
    expect((await h.call(alice.key)).status).toBe(200);
  });

  it("applies the upstream's response timeout and size bound, and refuses its address or pool size", () => {
    const h = harness();
    const base = configWith();
    const withUpstream = (upstream: Record<string, unknown>) => configSchema.parse({ ...base, upstream: { ...base.upstream, ...upstream } });
    expect(h.gateway.reload(withUpstream({ responseTimeoutMs: 1_234, maxResponseBytes: 65_536, getRetries: 0 }))).toMatchObject({ ok: true, message: 'sections changed: upstream' });
    expect(h.gateway.reload(withUpstream({ baseUrl: 'https://elsewhere.invalid' }))).toMatchObject({ ok: false, message: 'needs a restart, not a reload: upstream.baseUrl changed' });
    expect(h.gateway.reload(withUpstream({ connections: 7, connectTimeoutMs: 999 }))).toMatchObject({ ok: false, message: 'needs a restart, not a reload: upstream.connections, upstream.connectTimeoutMs changed' });
  });

  it('lets a request in flight finish under the config it started with', async () => {
    const h = harness();
    let release!: () => void;
    h.dingtalk.holdReads(new Promise<void>((resolve) => (release = resolve)));
    const inFlight = h.call(alice.key);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(h.gateway.reload(configWith({ tenants: { bob: bobTenant } })).ok).toBe(true);
    expect((await h.call(alice.key)).status).toBe(401);
    release();
    expect((await inFlight).status).toBe(200);
  });

  it("shows the last reload on the metrics listener's /readyz", async () => {
    const h = harness();
    h.gateway.reload(configWith({ server: { port: 9999 } }));
    const readyz = await (await h.gateway.metricsFetch(new Request('http://metrics/readyz'))).json();
    expect(readyz).toMatchObject({ lastReload: { generation: 1, ok: false, message: expect.stringContaining('server.port') } });
  });
});
