/**
 * The gateway's behaviour end to end, in process: gateway → in-process sandbox, no sockets.
 * One test per behaviour of the gateway issue; the sandbox's counters prove what reached
 * DingTalk.
 */
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { describe, expect, it } from 'vitest';
import { createFetchUpstream } from '@dingtalk-gateway/gateway';
import { type Harness, SANDBOX_ORIGIN, createHarness, json, operatorId } from '../in-process.js';

const listPath = `/v2.0/wiki/workspaces?operatorId=${operatorId}`;
const workspacePath = (id: string) => `/v2.0/wiki/workspaces/${id}?operatorId=${operatorId}`;
const handbook = seeded.workspaces.handbook.workspaceId;

const calls = (h: Harness, operationId: string) => h.sandbox.counters.snapshot().byOperation[operationId] ?? 0;
const body = async (response: Response) => (await response.json()) as Record<string, unknown>;

/** Checks a gateway-made error against the contract, and returns its body. */
async function gatewayError(h: Harness, response: Response, operationId?: string) {
  const parsed = await body(response);
  expect(Object.keys(parsed).sort()).toEqual(expect.arrayContaining(['code', 'message', 'requestid']));
  expect(parsed.requestid).toBe(response.headers.get('x-request-id'));
  if (operationId) expect(h.gateway.validator.validateResponse(operationId, response.status, parsed)).toEqual({ ok: true });
  return parsed;
}

describe('authentication', () => {
  it('answers 401 gateway.auth.missingKey without a bearer key', async () => {
    const h = createHarness();
    for (const headers of [{}, { authorization: 'Basic Zm9vOmJhcg==' }, { authorization: 'Bearer' }] as Array<Record<string, string>>) {
      const response = await h.call(listPath, { key: null, headers });
      expect(response.status).toBe(401);
      expect((await gatewayError(h, response)).code).toBe('gateway.auth.missingKey');
    }
    expect(h.sandbox.counters.snapshot().total).toBe(0);
  });

  it('answers unknown and revoked keys alike, with no hint which', async () => {
    const before = createHarness();
    const key = before.keys.other;
    expect((await before.call(listPath, { key })).status).toBe(200);
    // Revoking a key is removing its hash from the config.
    const after = createHarness({ config: { tenants: { other: { apiKeys: [{ sha256: '0'.repeat(64) }] } } } });
    const revoked = await gatewayError(after, await after.call(listPath, { key }));
    const unknown = await gatewayError(after, await after.call(listPath, { key: 'dtg_unknown' }));
    expect(unknown.code).toBe('gateway.auth.invalidKey');
    expect({ ...revoked, requestid: '' }).toEqual({ ...unknown, requestid: '' });
    expect(after.sandbox.counters.snapshot().total).toBe(0);
  });

  it("never sends the caller's key or token header to DingTalk", async () => {
    const h = createHarness();
    const response = await h.call(listPath, { headers: { 'x-acs-dingtalk-access-token': 'callers-own-token' } });
    expect(response.status).toBe(200);
    const sent = h.upstreamRequests.filter((r) => r.path.startsWith('/v2.0/'));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers.get('authorization')).toBeNull();
    expect(sent[0]!.headers.get('x-acs-dingtalk-access-token')).not.toBe('callers-own-token');
    expect(JSON.stringify([...sent[0]!.headers])).not.toContain(h.keys.full);
  });
});

describe('scopes', () => {
  it('refuses an operation outside the tenant scopes with 403, before any upstream call', async () => {
    const h = createHarness();
    const response = await h.call(`/v2.0/wiki/workspaces?operatorId=${operatorId}`, { ...json({ name: 'x' }), key: h.keys.reader });
    expect(response.status).toBe(403);
    const error = await gatewayError(h, response, 'addWorkspace');
    expect(error.code).toBe('gateway.auth.scopeDenied');
    expect(error.accessdenieddetail).toEqual({ requiredScopes: ['Wiki.Workspace.Write'] });
    expect(h.sandbox.counters.snapshot().total).toBe(0);
    expect((await h.call(listPath, { key: h.keys.reader })).status).toBe(200);
  });
});

describe('validation against the spec', () => {
  it.each([
    ['GET', `/v2.0/wiki/workspaces?operatorId=${operatorId}&maxResults=31`, undefined, /maxResults.*30/, 'listWorkspaces', 'paramError'],
    ['GET', '/v2.0/wiki/workspaces', undefined, /operatorId/, 'listWorkspaces', 'paramError'],
    ['GET', `/v2.0/wiki/workspaces?operatorId=${operatorId}&orderBy=NAME`, undefined, /orderBy/, 'listWorkspaces', 'paramError.orderBy'],
    ['POST', `/v1.0/doc/workspaces/${handbook}/docs`, { name: 'n', docType: 'PDF', operatorId }, /docType/, 'createWorkspaceDoc', 'invalidRequest.inputArgs.invalid'],
    ['POST', '/v1.0/drive/spaces', { name: '', unionId: operatorId }, /name/, 'addSpace', 'name.invalid'],
    ['POST', '/v1.0/drive/spaces', { unionId: operatorId }, /name/, 'addSpace', 'param.error'],
    ['POST', `/v2.0/wiki/workspaces?operatorId=${operatorId}`, { option: {} }, /name/, 'addWorkspace', 'paramError.name'],
  ])("%s %s → 400 with DingTalk's own code, the message naming the field", async (method, path, payload, field, operationId, code) => {
    const h = createHarness();
    const response = await h.call(path, payload ? json(payload) : { method });
    expect(response.status).toBe(400);
    const error = await gatewayError(h, response, operationId);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(field);
    // DingTalk never saw it: no DingTalk request id on the answer.
    expect(response.headers.get('x-acs-request-id')).toBeNull();
    expect(h.sandbox.counters.snapshot().total).toBe(0);
  });

  it("answers malformed JSON and invalid UTF-8 with the operation's code for a body it cannot read", async () => {
    const h = createHarness();
    const malformed = await h.call('/v1.0/drive/spaces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": ' });
    expect(malformed.status).toBe(400);
    expect(await gatewayError(h, malformed, 'addSpace')).toMatchObject({ code: 'param.error', message: expect.stringMatching(/not valid JSON/) });
    const badUtf8 = await h.call('/v1.0/drive/spaces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]) });
    expect(await gatewayError(h, badUtf8, 'addSpace')).toMatchObject({ code: 'param.error', message: expect.stringMatching(/UTF-8/) });
    expect(h.sandbox.counters.snapshot().total).toBe(0);
  });

  it('answers unknown paths and wrong methods as DingTalk does, 404 InvalidAction.NotFound', async () => {
    const h = createHarness();
    const missing = await h.call('/v2.0/wiki/nothing');
    expect(missing.status).toBe(404);
    expect((await gatewayError(h, missing)).code).toBe('InvalidAction.NotFound');
    const wrongMethod = await h.call(workspacePath(handbook), { method: 'DELETE' });
    expect(wrongMethod.status).toBe(404);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
    expect((await gatewayError(h, wrongMethod)).code).toBe('InvalidAction.NotFound');
    expect((await h.call('/v1.0/oauth2/accessToken', json({ appKey: 'a', appSecret: 'b' }))).status).toBe(404);
    expect(h.sandbox.counters.snapshot().total).toBe(0);
  });

  it('passes every field of a DingTalk error body on unchanged, byte for byte, accessdenieddetail included', async () => {
    // The tenant's app is the read-only one: DingTalk itself refuses AddSpace with its 403 and accessdenieddetail.
    const answered: string[] = [];
    let h: Harness | undefined;
    const upstream = createFetchUpstream({
      baseUrl: SANDBOX_ORIGIN,
      responseTimeoutMs: 2_000,
      maxResponseBytes: 1024 * 1024,
      fetch: async (request) => {
        const response = await h!.sandbox.app.fetch(request);
        if (!new URL(request.url).pathname.startsWith('/v1.0/oauth2/')) answered.push(await response.clone().text());
        return response;
      },
    });
    h = createHarness({
      config: { apps: { full: { appKey: seeded.apps.readOnly.appKey } } },
      deps: { upstream, secrets: { appSecret: () => seeded.apps.readOnly.appSecret, suiteTicket: async () => seeded.suites.isv.suiteTicket } },
    });
    const response = await h.call('/v1.0/drive/spaces', json({ name: 'Space', unionId: operatorId }));
    expect(response.status).toBe(403);
    const text = await response.text();
    expect(answered).toEqual([text]);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(parsed).toMatchObject({ code: 'Forbidden.AccessDenied.AccessTokenPermissionDenied', accessdenieddetail: { requiredScopes: ['Drive.Space.Write'] } });
    expect(parsed.requestid).toBe(response.headers.get('x-acs-request-id'));
  });

  it('refuses a body over the limit with 413', async () => {
    const h = createHarness({ config: { server: { bodyLimitBytes: 1024 } } });
    const response = await h.call('/v1.0/drive/spaces', json({ name: 'x'.repeat(2000), unionId: operatorId }));
    expect(response.status).toBe(413);
    expect((await gatewayError(h, response, 'addSpace')).code).toBe('gateway.request.tooLarge');
    expect(h.sandbox.counters.snapshot().total).toBe(0);
  });

  it('forwards the body exactly as sent', async () => {
    const h = createHarness();
    const text = '{ "unionId": "' + operatorId + '",\n  "name": "Spaced   out" }';
    const response = await h.call('/v1.0/drive/spaces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
    expect(response.status).toBe(200);
    expect(h.upstreamRequests.find((r) => r.path === '/v1.0/drive/spaces')!.body).toBe(text);
  });
});

describe('token cache', () => {
  it('fetches one token for 500 concurrent cold requests', async () => {
    const h = createHarness();
    const responses = await Promise.all(Array.from({ length: 500 }, () => h.call(workspacePath(handbook))));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(calls(h, 'getAccessToken')).toBe(1);
    expect(calls(h, 'getWorkspace')).toBe(500);
  });

  it('refreshes ahead of expiry while serving the cached token', async () => {
    const h = createHarness({ sandbox: { tokenLifetimeSeconds: 60 } });
    await h.call(listPath);
    h.advance(31_000); // past half of a 60 s lifetime: refresh in the background
    expect((await h.call(listPath)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls(h, 'getAccessToken')).toBe(2);
    h.advance(25_000);
    expect((await h.call(listPath)).status).toBe(200);
    expect(calls(h, 'getAccessToken')).toBe(2);
  });

  it('keeps serving the valid token when a refresh fails', async () => {
    const h = createHarness({ sandbox: { tokenLifetimeSeconds: 60 } });
    await h.call(listPath);
    h.sandbox.faults.set({ getAccessToken: { error: { status: 500, code: 'system.busy' } } });
    h.advance(31_000);
    for (let i = 0; i < 20; i++) expect((await h.call(listPath)).status).toBe(200);
    expect(calls(h, 'getAccessToken')).toBe(2); // one failed refresh, then backoff
  });

  it('answers 503 gateway.token.unavailable when the token endpoint is down and no token is valid', async () => {
    const h = createHarness({ sandbox: { faults: { getAccessToken: { error: { status: 500, code: 'system.busy' } } } } });
    const response = await h.call(listPath);
    expect(response.status).toBe(503);
    const error = await gatewayError(h, response, 'listWorkspaces');
    expect(error.code).toBe('gateway.token.unavailable');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(calls(h, 'listWorkspaces')).toBe(0);
  });

  it('says when to come back (Retry-After) when DingTalk refuses the token and no new one can be had', async () => {
    const h = createHarness();
    expect((await h.call(listPath)).status).toBe(200);
    h.sandbox.revokeTokens(seeded.apps.full.appKey);
    h.sandbox.faults.set({ getAccessToken: { error: { status: 500, code: 'system.busy' } } });
    const answers = [await h.call(listPath), await h.call(listPath)];
    for (const response of answers) {
      expect(response.status).toBe(503);
      expect((await body(response)).code).toBe('gateway.token.unavailable');
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });

  it('on InvalidAuthentication drops the token, fetches a fresh one and retries once, invisibly', async () => {
    const h = createHarness();
    expect((await h.call(listPath)).status).toBe(200);
    h.sandbox.revokeTokens(seeded.apps.full.appKey);
    const created = await h.call(`/v2.0/wiki/workspaces?operatorId=${operatorId}`, json({ name: 'After revoke' }));
    expect(created.status).toBe(200);
    expect(calls(h, 'getAccessToken')).toBe(2);
    expect(calls(h, 'addWorkspace')).toBe(2); // the refused one and the replay
    const names = h.sandbox.state.workspaces ? [...h.sandbox.state.workspaces.values()].map((w: { name: string }) => w.name) : [];
    expect(names.filter((n) => n === 'After revoke')).toHaveLength(1);
  });

  it('passes InvalidAuthentication through when the fresh token is refused too', async () => {
    const h = createHarness({ sandbox: { faults: { listWorkspaces: { error: { status: 400, code: 'InvalidAuthentication' } } } } });
    const response = await h.call(listPath);
    expect(response.status).toBe(400);
    expect((await body(response)).code).toBe('InvalidAuthentication');
    expect(calls(h, 'listWorkspaces')).toBe(2);
  });

  it('fetches ISV tokens with the current suite ticket', async () => {
    const h = createHarness();
    expect((await h.call(listPath, { key: h.keys.isv })).status).toBe(200);
    expect(calls(h, 'getCorpAccessToken')).toBe(1);
    const tokenCall = h.upstreamRequests.find((r) => r.path === '/v1.0/oauth2/corpAccessToken')!;
    expect(JSON.parse(tokenCall.body)).toMatchObject({ suiteTicket: seeded.suites.isv.suiteTicket, authCorpId: seeded.orgs.sandbox.corpId });
  });
});

describe('rate limits', () => {
  it('limits a tenant to its burst, with RateLimit headers and Retry-After', async () => {
    const h = createHarness({ config: { tenants: { full: { rateLimit: { rate: 1, burst: 3 } } } } });
    const responses = [];
    for (let i = 0; i < 4; i++) responses.push(await h.call(listPath));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    // Beside the rate, the tenant's part of the org's month (a pool of 10,000 here: the month policy's own tests are in quota.test.ts).
    expect(responses[0]!.headers.get('ratelimit-policy')).toMatch(/^"tenant";q=3;w=3, "month";q=10000;w=\d+$/);
    expect(responses[0]!.headers.get('ratelimit')).toMatch(/^"tenant";r=2;t=1, "month";r=9999;t=\d+$/);
    const limited = responses[3]!;
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await gatewayError(h, limited, 'listWorkspaces')).code).toBe('gateway.rateLimit.tenant');
    expect(calls(h, 'listWorkspaces')).toBe(3);
  });

  it('does not let one tenant at its limit slow another', async () => {
    const h = createHarness({ config: { tenants: { full: { rateLimit: { rate: 1, burst: 1 } } } } });
    await h.call(listPath);
    expect((await h.call(listPath)).status).toBe(429);
    const others = await Promise.all(Array.from({ length: 20 }, () => h.call(listPath, { key: h.keys.other })));
    expect(others.every((r) => r.status === 200)).toBe(true);
  });

  it('applies per-operation limits', async () => {
    const h = createHarness({ config: { tenants: { full: { operationLimits: { addSpace: { rate: 1, burst: 1 } } } } } });
    const first = await h.call('/v1.0/drive/spaces', json({ name: 'One', unionId: operatorId }));
    const second = await h.call('/v1.0/drive/spaces', json({ name: 'Two', unionId: operatorId }));
    expect([first.status, second.status]).toEqual([200, 429]);
    expect((await h.call(listPath)).status).toBe(200);
  });

  it("makes requests over DingTalk's QPS limit wait for a slot, so DingTalk never answers QpsLimitForAppkeyAndApi", async () => {
    // 60 at once against 20 a second, waiting at most 1.5 s: 20 now, 20 when the window frees
    // them (1.05 s), and the last 20 would need 2.1 s, so they are refused at 1.5 s.
    // Both windows on the real clock: the wait is real.
    const h = createHarness({ config: { dingtalk: { qpsLimit: 20, qpsMaxWaitMs: 1_500 } }, sandbox: { qpsLimit: 20, now: () => Date.now() } });
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) => h.call(workspacePath(handbook), { key: i % 2 ? h.keys.full : h.keys.other })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(40);
    const refused = responses.filter((r) => r.status === 429);
    expect(refused).toHaveLength(20);
    for (const r of refused) expect((await body(r)).code).toBe('gateway.rateLimit.dingtalkQps');
    expect(h.sandbox.counters.snapshot().byStatus.getWorkspace?.['403'] ?? 0).toBe(0);
  });
});

describe('proxying', () => {
  it('strips hop-by-hop headers and those the Connection header names', async () => {
    const h = createHarness();
    await h.call(listPath, { headers: { connection: 'x-secret-hop', 'x-secret-hop': '1', 'keep-alive': 'timeout=5', te: 'trailers', 'x-forwarded-for': '10.0.0.1' } });
    const sent = h.upstreamRequests.find((r) => r.path.startsWith('/v2.0/'))!.headers;
    for (const name of ['connection', 'x-secret-hop', 'keep-alive', 'te', 'x-forwarded-for', 'host']) expect(sent.get(name)).toBeNull();
  });

  it("accepts or generates x-request-id and passes DingTalk's request and trace ids back", async () => {
    const h = createHarness();
    const mine = await h.call(listPath, { headers: { 'x-request-id': 'caller-42' } });
    expect(mine.headers.get('x-request-id')).toBe('caller-42');
    expect(mine.headers.get('x-acs-request-id')).toBeTruthy();
    expect(mine.headers.get('x-acs-trace-id')).toBeTruthy();
    const generated = await h.call(listPath, { headers: { 'x-request-id': 'bad id with spaces\r\n' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("passes DingTalk's own errors through unchanged", async () => {
    const h = createHarness();
    const response = await h.call(workspacePath('no-such-workspace'));
    expect(response.status).toBe(404);
    const parsed = await body(response);
    expect(parsed.code).toBe('workspaceNotExist');
    expect(parsed.requestid).toBe(response.headers.get('x-acs-request-id'));
  });

  it('answers 504 when DingTalk is slower than the response timeout', async () => {
    const h = createHarness({ config: { upstream: { responseTimeoutMs: 50, getRetries: 0 } }, sandbox: { faults: { listWorkspaces: { latencyMs: 1000 } } } });
    const response = await h.call(listPath);
    expect(response.status).toBe(504);
    expect((await gatewayError(h, response, 'listWorkspaces')).code).toBe('gateway.upstream.timeout');
  });

  it('retries a GET after a connection failure or a 5xx, with a bound', async () => {
    const h = createHarness({ sandbox: { faults: { getWorkspace: { dropConnection: { times: 1 }, error: { status: 500, code: 'systemError', times: 1 } } } } });
    const response = await h.call(workspacePath(handbook));
    expect(response.status).toBe(200);
    const always = createHarness({ sandbox: { faults: { getWorkspace: { error: { status: 500, code: 'systemError' } } } } });
    const failing = await always.call(workspacePath(handbook));
    expect(failing.status).toBe(500);
    expect((await body(failing)).code).toBe('systemError');
    expect(calls(always, 'getWorkspace')).toBe(3); // 1 + getRetries (2)
  });

  it('never replays a POST that may have reached DingTalk', async () => {
    const h = createHarness({ sandbox: { faults: { addSpace: { dropConnection: true }, addWorkspace: { error: { status: 500, code: 'systemError' } } } } });
    const dropped = await h.call('/v1.0/drive/spaces', json({ name: 'Once', unionId: operatorId }));
    expect(dropped.status).toBe(502);
    expect((await gatewayError(h, dropped, 'addSpace')).code).toBe('gateway.upstream.unreachable');
    expect(h.upstreamRequests.filter((r) => r.path === '/v1.0/drive/spaces')).toHaveLength(1);
    const failed = await h.call(`/v2.0/wiki/workspaces?operatorId=${operatorId}`, json({ name: 'Once' }));
    expect(failed.status).toBe(500);
    expect(calls(h, 'addWorkspace')).toBe(1);
  });
});

describe('observability', () => {
  it('writes one access-log line per request with the fields operators need, and no secret', async () => {
    const h = createHarness();
    await h.call(listPath, { headers: { 'x-request-id': 'log-me' } });
    await h.call(listPath, { key: 'dtg_not_a_key' });
    const lines = h.logs.filter((l) => l.msg === 'request');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ requestId: 'log-me', tenant: 'full', operation: 'listWorkspaces', status: 200, tokenCached: false, upstreamAttempts: 1 });
    expect(typeof lines[0]!.latencyMs).toBe('number');
    expect(typeof lines[0]!.upstreamMs).toBe('number');
    expect(lines[1]).toMatchObject({ tenant: '-', status: 401, errorCode: 'gateway.auth.invalidKey' });
    const raw = h.rawLogs();
    const token = h.upstreamRequests.find((r) => r.path.startsWith('/v2.0/'))!.headers.get('x-acs-dingtalk-access-token')!;
    for (const secret of [seeded.apps.full.appSecret, seeded.suites.isv.suiteSecret, token, h.keys.full, 'dtg_not_a_key']) expect(raw).not.toContain(secret);
  });

  it('exposes Prometheus metrics on the metrics app only', async () => {
    const h = createHarness();
    await h.call(listPath);
    await h.call(listPath, { key: null });
    const text = await (await h.gateway.metricsApp.request('/metrics')).text();
    expect(text).toMatch(/dtg_requests_total\{tenant="full",operation="listWorkspaces",status="200"\} 1/);
    expect(text).toMatch(/dtg_token_fetches_total\{app="full",result="ok"\} 1/);
    expect(text).toMatch(/dtg_upstream_duration_seconds_bucket/);
    expect((await h.call('/metrics')).status).toBe(404);
    expect((await h.call('/metrics', { key: null })).status).toBe(401);
  });

  it('answers /healthz, and /readyz by whether every app can get a token', async () => {
    const h = createHarness();
    expect(await (await h.call('/healthz', { key: null })).json()).toEqual({ status: 'ok' });
    const ready = await h.call('/readyz', { key: null });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    // Operators see which app, on the metrics listener.
    expect(await (await h.gateway.metricsApp.request('/readyz')).json()).toEqual({ status: 'ready', apps: { full: 'ok', isv: 'ok' } });

    const down = createHarness({ sandbox: { faults: { getCorpAccessToken: { error: { status: 400, code: 'invalidSuiteTicket' } } } } });
    const notReady = await down.call('/readyz', { key: null });
    expect(notReady.status).toBe(503);
    const error = await gatewayError(down, notReady);
    expect(error.code).toBe('gateway.unavailable');
    expect(error.message).not.toMatch(/isv|invalidSuiteTicket/); // no app ids or DingTalk reasons in public
    const detail = await down.gateway.metricsApp.request('/readyz');
    expect(detail.status).toBe(503);
    expect(((await detail.json()) as { apps: Record<string, string> }).apps.isv).toMatch(/invalidSuiteTicket/);
  });
});

describe('portal', () => {
  it('serves the contract as JSON and YAML without a key', async () => {
    const h = createHarness();
    const contract = (await (await h.call('/openapi.json', { key: null })).json()) as { info: { title: string }; paths: Record<string, unknown> };
    expect(contract.info.title).toBe('DingTalk Gateway API');
    expect(Object.keys(contract.paths)).not.toContain('/v1.0/oauth2/accessToken');
    const yaml = await h.call('/openapi.yaml', { key: null });
    expect(yaml.headers.get('content-type')).toMatch(/yaml/);
    expect(await yaml.text()).toMatch(/^openapi: 3\.1\.0/);
  });

  it('serves the docs pages under /docs/', async () => {
    const h = createHarness({ deps: { docsPages: new Map([['index.html', '<h1>gateway</h1>'], ['dingtalk.html', '<h1>dingtalk</h1>']]) } });
    expect((await h.call('/docs', { key: null })).headers.get('location')).toBe('/docs/');
    expect(await (await h.call('/docs/', { key: null })).text()).toBe('<h1>gateway</h1>');
    expect(await (await h.call('/docs/dingtalk.html', { key: null })).text()).toBe('<h1>dingtalk</h1>');
    expect((await h.call('/docs/../openapi.json', { key: null })).status).not.toBe(500);
    expect((await h.call('/docs/nope.html', { key: null })).status).toBe(404);
  });

  it('serves docs pages given as UTF-8 bytes (as the Node entry reads them) byte for byte', async () => {
    const page = '<h1>钉钉 gateway</h1>';
    const h = createHarness({ deps: { docsPages: new Map([['index.html', new TextEncoder().encode(page)]]) } });
    const response = await h.call('/docs/', { key: null });
    expect(response.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(await response.text()).toBe(page);
  });

  it("keeps Hono on its RegExpRouter (a pattern it cannot compile would move every request to the slower TrieRouter)", async () => {
    const h = createHarness({ deps: { docsPages: new Map([['index.html', '<h1>gateway</h1>']]) } });
    await h.call('/healthz', { key: null });
    expect((h.gateway.app.router as unknown as { activeRouter: { name: string } }).activeRouter.name).toBe('RegExpRouter');
  });
});
