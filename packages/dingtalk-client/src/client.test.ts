import { describe, expect, it } from 'vitest';
import { DingTalkError, createDirectClient, createGatewayClient, listAllWorkspaces } from './index.js';

type Handler = (request: Request, body: string) => Response | Promise<Response>;

/** A scripted DingTalk: records every request (with its body) and answers with `handler`. */
function fakeDingTalk(handler: Handler) {
  const requests: Array<{ method: string; url: URL; headers: Headers; body: string }> = [];
  const fetch = async (request: Request) => {
    const body = await request.text();
    requests.push({ method: request.method, url: new URL(request.url), headers: request.headers, body });
    return handler(request, body);
  };
  return { fetch, requests, apiCalls: () => requests.filter((r) => !r.url.pathname.startsWith('/v1.0/oauth2/')) };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const workspace = (id: string) => ({ workspaceId: id, corpId: 'ding1', rootNodeId: `root-${id}`, name: id, type: 'TEAM' as const });
const operatorId = 'union-1';

describe('gateway mode', () => {
  it('sends the API key as a bearer token and returns the body', async () => {
    const dingtalk = fakeDingTalk(() => json(200, { workspace: workspace('w1') }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test/', apiKey: 'dtg_secret', fetch: dingtalk.fetch });
    const result = await client.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: 'w 1' }, query: { operatorId } } });
    expect(result.workspace.workspaceId).toBe('w1');
    const [sent] = dingtalk.requests;
    expect(sent!.headers.get('authorization')).toBe('Bearer dtg_secret');
    expect(sent!.headers.get('x-acs-dingtalk-access-token')).toBeNull();
    expect(sent!.url.pathname).toBe('/v2.0/wiki/workspaces/w%201');
    expect(sent!.url.searchParams.get('operatorId')).toBe(operatorId);
  });

  it('throws a DingTalkError for every non-2xx, with the fields of the body', async () => {
    const dingtalk = fakeDingTalk(() => json(429, { code: 'gateway.rateLimit.tenant', message: 'slow down', requestid: 'req-9' }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', apiKey: 'dtg_x', fetch: dingtalk.fetch });
    const error = await client.POST('/v1.0/drive/spaces', { body: { name: 'n', unionId: 'u' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DingTalkError);
    expect(error).toMatchObject({ status: 429, code: 'gateway.rateLimit.tenant', message: 'slow down', requestId: 'req-9' });
  });

  it("never sends a POST again after DingTalk's own error", async () => {
    const dingtalk = fakeDingTalk(() => json(500, { code: 'unknown.error', message: 'Unknown Error', requestid: 'r' }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', apiKey: 'dtg_x', fetch: dingtalk.fetch });
    await expect(client.POST('/v1.0/drive/spaces', { body: { name: 'n', unionId: 'u' } })).rejects.toMatchObject({ code: 'unknown.error' });
    expect(dingtalk.requests).toHaveLength(1);
  });

  it('sends every POST with an Idempotency-Key, the same for its retries, and retries it when the gateway says so', async () => {
    let answers = [json(503, { code: 'gateway.unavailable', message: 'm', requestid: 'r' }), json(409, { code: 'gateway.idempotency.inProgress', message: 'm', requestid: 'r' }), json(200, { workspace: workspace('w1') })];
    const dingtalk = fakeDingTalk(() => {
      const [next, ...rest] = answers;
      answers = rest;
      return new Response(next!.body, { status: next!.status, headers: { 'content-type': 'application/json', 'retry-after': '0' } });
    });
    const client = createGatewayClient({ baseUrl: 'http://gw.test', apiKey: 'dtg_x', fetch: dingtalk.fetch });
    const result = await client.POST('/v2.0/wiki/workspaces', { params: { query: { operatorId } }, body: { name: 'Once' } });
    expect(result.workspace.workspaceId).toBe('w1');
    expect(dingtalk.requests).toHaveLength(3);
    const keys = dingtalk.requests.map((r) => r.headers.get('idempotency-key'));
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(keys).size).toBe(1);
    expect(new Set(dingtalk.requests.map((r) => r.body))).toEqual(new Set(['{"name":"Once"}']));
    // A new call, a new key; a key of the caller's own is kept.
    answers = [json(200, { workspace: workspace('w2') }), json(200, { workspace: workspace('w3') })];
    await client.POST('/v2.0/wiki/workspaces', { params: { query: { operatorId } }, body: { name: 'Twice' } });
    await client.POST('/v2.0/wiki/workspaces', { params: { query: { operatorId }, header: { 'Idempotency-Key': 'mine-1' } }, body: { name: 'Mine' } });
    expect(dingtalk.requests[3]!.headers.get('idempotency-key')).not.toBe(keys[0]);
    expect(dingtalk.requests[4]!.headers.get('idempotency-key')).toBe('mine-1');
  });

  it('sends a GET again after a connection error; a POST without its key only after a 429 with Retry-After', async () => {
    let failures = 1;
    const flaky = fakeDingTalk(() => {
      if (failures-- > 0) throw new TypeError('fetch failed');
      return json(200, { workspace: workspace('w1') });
    });
    const client = createGatewayClient({ baseUrl: 'http://gw.test', apiKey: 'dtg_x', fetch: flaky.fetch, retry: { baseDelayMs: 1 } });
    await client.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: 'w1' }, query: { operatorId } } });
    expect(flaky.requests).toHaveLength(2);

    const unkeyed = fakeDingTalk(() => new Response(JSON.stringify({ code: 'gateway.upstream.timeout', message: 'm', requestid: 'r' }), { status: 504 }));
    const plain = createGatewayClient({ baseUrl: 'http://gw.test', apiKey: 'dtg_x', fetch: unkeyed.fetch, idempotencyKeys: false, retry: { baseDelayMs: 1 } });
    await expect(plain.POST('/v1.0/drive/spaces', { body: { name: 'n', unionId: 'u' } })).rejects.toMatchObject({ code: 'gateway.upstream.timeout' });
    expect(unkeyed.requests).toHaveLength(1);
    expect(unkeyed.requests[0]!.headers.get('idempotency-key')).toBeNull();
  });

  it('gives up when the wait would pass maxWaitMs, and never sends again an outcome the gateway does not know', async () => {
    const later = fakeDingTalk(() => new Response(JSON.stringify({ code: 'gateway.quota.tenant', message: 'next month', requestid: 'r' }), { status: 429, headers: { 'retry-after': '2000000' } }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', apiKey: 'dtg_x', fetch: later.fetch });
    await expect(client.GET('/v2.0/wiki/workspaces', { params: { query: { operatorId } } })).rejects.toMatchObject({ code: 'gateway.quota.tenant' });
    expect(later.requests).toHaveLength(1);
    const unknown = fakeDingTalk(() => new Response(JSON.stringify({ code: 'gateway.idempotency.outcomeUnknown', message: 'check', requestid: 'r' }), { status: 409, headers: { 'retry-after': '1' } }));
    const writer = createGatewayClient({ baseUrl: 'http://gw.test', apiKey: 'dtg_x', fetch: unknown.fetch });
    await expect(writer.POST('/v1.0/drive/spaces', { body: { name: 'n', unionId: 'u' } })).rejects.toMatchObject({ status: 409, code: 'gateway.idempotency.outcomeUnknown' });
    expect(unknown.requests).toHaveLength(1);
  });

  it('lets a read ask the gateway for DingTalk\'s answer now', async () => {
    const dingtalk = fakeDingTalk(() => json(200, { workspace: workspace('w1') }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', apiKey: 'dtg_x', fetch: dingtalk.fetch });
    await client.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: 'w1' }, query: { operatorId }, header: { 'Cache-Control': 'no-cache' } } });
    expect(dingtalk.requests[0]!.headers.get('cache-control')).toBe('no-cache');
  });

  it('refuses to start without an API key', () => {
    expect(() => createGatewayClient({ baseUrl: 'http://gw.test', apiKey: '' })).toThrow(/apiKey is required/);
  });
});

describe('direct mode', () => {
  /** DingTalk with a token endpoint that issues token-1, token-2, ... and APIs that accept only `valid`. */
  function dingtalkWithTokens(options: { valid: () => string; api?: Handler }) {
    let issued = 0;
    return fakeDingTalk((request, body) => {
      const url = new URL(request.url);
      if (url.pathname === '/v1.0/oauth2/accessToken') {
        const { appKey, appSecret } = JSON.parse(body) as { appKey: string; appSecret: string };
        if (appKey !== 'app' || appSecret !== 'secret') return json(400, { code: 'invalidClientIdOrSecret', message: 'bad', requestid: 't' });
        return json(200, { accessToken: `token-${++issued}`, expireIn: 7200 });
      }
      if (request.headers.get('x-acs-dingtalk-access-token') !== options.valid()) {
        return json(400, { code: 'InvalidAuthentication', message: '不合法的access_token', requestid: 'r' });
      }
      return options.api ? options.api(request, body) : json(200, { workspace: workspace('w1') });
    });
  }

  it('fetches one token for many concurrent calls and sends it in the DingTalk header', async () => {
    const dingtalk = dingtalkWithTokens({ valid: () => 'token-1' });
    const client = createDirectClient({ baseUrl: 'http://dt.test', appKey: 'app', appSecret: 'secret', fetch: dingtalk.fetch });
    await Promise.all(Array.from({ length: 20 }, () => client.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: 'w1' }, query: { operatorId } } })));
    const tokenCalls = dingtalk.requests.filter((r) => r.url.pathname === '/v1.0/oauth2/accessToken');
    expect(tokenCalls).toHaveLength(1);
    expect(JSON.parse(tokenCalls[0]!.body)).toEqual({ appKey: 'app', appSecret: 'secret' });
    expect(dingtalk.apiCalls().every((r) => r.headers.get('x-acs-dingtalk-access-token') === 'token-1')).toBe(true);
  });

  it('on InvalidAuthentication refreshes the token once and replays the request once, body included', async () => {
    let valid = 'token-1';
    const dingtalk = dingtalkWithTokens({
      valid: () => valid,
      api: (request, body) =>
        request.method === 'POST'
          ? json(200, { workspaceId: 'w1', nodeId: 'n', docKey: 'k', url: 'u', dentryUuid: JSON.parse(body).name })
          : json(200, { workspace: workspace('w1') }),
    });
    const client = createDirectClient({ baseUrl: 'http://dt.test', appKey: 'app', appSecret: 'secret', fetch: dingtalk.fetch });
    await client.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: 'w1' }, query: { operatorId } } });
    valid = 'token-2'; // DingTalk revoked token-1
    const doc = await client.POST('/v1.0/doc/workspaces/{workspaceId}/docs', {
      params: { path: { workspaceId: 'w1' } },
      body: { name: 'replayed', docType: 'DOC', operatorId },
    });
    expect(doc.dentryUuid).toBe('replayed');
    const posts = dingtalk.apiCalls().filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.headers.get('x-acs-dingtalk-access-token'))).toEqual(['token-1', 'token-2']);
    expect(posts[1]!.body).toBe(posts[0]!.body);
  });

  it('gives up after one refresh when DingTalk still refuses the token', async () => {
    const dingtalk = dingtalkWithTokens({ valid: () => 'never' });
    const client = createDirectClient({ baseUrl: 'http://dt.test', appKey: 'app', appSecret: 'secret', fetch: dingtalk.fetch });
    await expect(client.POST('/v1.0/drive/spaces', { body: { name: 'n', unionId: 'u' } })).rejects.toMatchObject({ status: 400, code: 'InvalidAuthentication' });
    expect(dingtalk.apiCalls()).toHaveLength(2);
  });

  it("surfaces the token endpoint's own error", async () => {
    const dingtalk = dingtalkWithTokens({ valid: () => 'token-1' });
    const client = createDirectClient({ baseUrl: 'http://dt.test', appKey: 'app', appSecret: 'wrong', fetch: dingtalk.fetch });
    await expect(client.GET('/v2.0/wiki/workspaces', { params: { query: { operatorId } } })).rejects.toMatchObject({ status: 400, code: 'invalidClientIdOrSecret' });
    expect(dingtalk.apiCalls()).toHaveLength(0);
  });

  it('does not retry other errors', async () => {
    const dingtalk = dingtalkWithTokens({ valid: () => 'token-1', api: () => json(400, { code: 'paramError.name', message: 'name', requestid: 'r' }) });
    const client = createDirectClient({ baseUrl: 'http://dt.test', appKey: 'app', appSecret: 'secret', fetch: dingtalk.fetch });
    await expect(client.POST('/v2.0/wiki/workspaces', { params: { query: { operatorId } }, body: { name: '' } })).rejects.toMatchObject({ code: 'paramError.name' });
    expect(dingtalk.apiCalls()).toHaveLength(1);
  });
});

describe("direct mode: DingTalk's QPS limit", () => {
  /** DingTalk allowing `limit` calls of an API in any second, refusing the rest as it does. */
  function qpsLimitedDingTalk(limit: number) {
    const admitted = new Map<string, number[]>();
    let refused = 0;
    const dingtalk = fakeDingTalk((request) => {
      const url = new URL(request.url);
      if (url.pathname === '/v1.0/oauth2/accessToken') return json(200, { accessToken: 'token', expireIn: 7200 });
      const api = `${request.method} ${url.pathname.replace(/\/w[^/]*$/, '/{id}')}`;
      const now = performance.now();
      const times = (admitted.get(api) ?? []).filter((at) => at > now - 1_000);
      admitted.set(api, times);
      if (times.length >= limit) {
        refused += 1;
        return json(403, { code: 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', message: 'qps', requestid: 'r' });
      }
      times.push(now);
      return json(200, { workspace: workspace('w1') });
    });
    return { ...dingtalk, refused: () => refused };
  }

  it('tried as a new user would: 20 reads at once and one more within the second; the 21st waits its turn instead of failing', async () => {
    const dingtalk = qpsLimitedDingTalk(20);
    const client = createDirectClient({ baseUrl: 'http://dt.test', appKey: 'app', appSecret: 'secret', fetch: dingtalk.fetch });
    const read = () => client.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: 'w1' }, query: { operatorId } } });
    const started = performance.now();
    const twenty = await Promise.all(Array.from({ length: 20 }, read));
    expect(twenty).toHaveLength(20);
    const twentyFirst = await read();
    expect(twentyFirst.workspace.workspaceId).toBe('w1');
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(dingtalk.refused()).toBe(0);
  });

  it("paces each operation apart, and waits out DingTalk's QPS refusal, a POST too", async () => {
    let refusals = 1;
    const waits: number[] = [];
    const dingtalk = fakeDingTalk((request) => {
      const url = new URL(request.url);
      if (url.pathname === '/v1.0/oauth2/accessToken') return json(200, { accessToken: 'token', expireIn: 7200 });
      if (request.method === 'POST' && refusals-- > 0) return json(403, { code: 'Forbidden.AccessDenied.QpsLimitForApi', message: 'busy', requestid: 'r' });
      return request.method === 'POST' ? json(200, { spaceId: 's1' }) : json(200, { workspace: workspace('w1') });
    });
    const client = createDirectClient({
      baseUrl: 'http://dt.test',
      appKey: 'app',
      appSecret: 'secret',
      fetch: dingtalk.fetch,
      // A clock the waits move: nothing is slept.
      limits: { qpsLimit: 1, now: () => clock, sleep: async (ms) => void (waits.push(ms), (clock += ms)), random: () => 0.5 },
    });
    let clock = 0;
    await client.POST('/v1.0/drive/spaces', { body: { name: 'n', unionId: 'u' } });
    expect(dingtalk.apiCalls().map((r) => r.method)).toEqual(['POST', 'POST']);
    expect(waits).toEqual([1_500]); // DingTalk's second, and up to one more for the platform's limit
    // Another operation has slots of its own: not held back by the POST's.
    await client.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: 'w1' }, query: { operatorId } } });
    expect(waits).toEqual([1_500]);
    // The same operation again within the window: it waits for its slot (1 a window here).
    await client.POST('/v1.0/drive/spaces', { body: { name: 'm', unionId: 'u' } });
    expect(waits).toEqual([1_500, 1_050]);
  });
});

describe('listAllWorkspaces', () => {
  it('follows nextToken across pages', async () => {
    const pages: Record<string, unknown> = {
      '': { workspaces: [workspace('a'), workspace('b')], nextToken: 'p2' },
      p2: { workspaces: [workspace('c')], nextToken: 'p3' },
      p3: { workspaces: [workspace('d')], nextToken: '' },
    };
    const dingtalk = fakeDingTalk((request) => json(200, pages[new URL(request.url).searchParams.get('nextToken') ?? '']));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', apiKey: 'dtg_x', fetch: dingtalk.fetch });
    const names: string[] = [];
    for await (const ws of listAllWorkspaces(client, { operatorId, maxResults: 2, teamId: 'team-1' })) names.push(ws.name);
    expect(names).toEqual(['a', 'b', 'c', 'd']);
    expect(dingtalk.requests.map((r) => r.url.searchParams.get('nextToken'))).toEqual([null, 'p2', 'p3']);
    expect(dingtalk.requests.every((r) => r.url.searchParams.get('teamId') === 'team-1')).toBe(true);
  });

  it('stops with an error instead of looping when a cursor repeats', async () => {
    const dingtalk = fakeDingTalk(() => json(200, { workspaces: [workspace('a')], nextToken: 'same' }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', apiKey: 'dtg_x', fetch: dingtalk.fetch });
    const consume = async () => {
      for await (const _ of listAllWorkspaces(client, { operatorId })) void _;
    };
    await expect(consume()).rejects.toThrow(/nextToken same twice/);
    expect(dingtalk.requests.length).toBe(2);
  });
});
