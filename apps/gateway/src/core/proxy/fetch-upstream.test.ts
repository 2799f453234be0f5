import { describe, expect, it, vi } from 'vitest';
import { createFetchUpstream } from './fetch-upstream.js';
import type { UpstreamRequest } from './upstream.js';
import { upstreamFailure as failure } from './upstream-failure.testing.js';

const request = (overrides: Partial<UpstreamRequest> = {}): UpstreamRequest => ({
  method: 'GET',
  path: '/v2.0/wiki/workspaces?operatorId=u',
  headers: { accept: 'application/json' },
  body: undefined,
  ...overrides,
});

function upstream(fetch: (request: Request) => Response | Promise<Response>, options: { responseTimeoutMs?: number; maxResponseBytes?: number; baseUrl?: string } = {}) {
  return createFetchUpstream({ baseUrl: options.baseUrl ?? 'http://dingtalk.test', fetch, responseTimeoutMs: options.responseTimeoutMs ?? 1_000, maxResponseBytes: options.maxResponseBytes ?? 1024 });
}

describe('createFetchUpstream', () => {
  it('sends method, origin + path and query, headers and the body bytes', async () => {
    const seen: Array<{ method: string; url: string; headers: Record<string, string>; body: Uint8Array }> = [];
    const up = upstream(
      async (r) => {
        seen.push({ method: r.method, url: r.url, headers: Object.fromEntries(r.headers), body: new Uint8Array(await r.arrayBuffer()) });
        return new Response('{}');
      },
      { baseUrl: 'http://dingtalk.test/prefix//' },
    );
    const body = new Uint8Array([0x7b, 0x0a, 0xff, 0x7d]);
    await up.send(request({ method: 'POST', path: '/v1.0/drive/spaces?x=1', headers: { 'content-type': 'application/json', 'x-acs-dingtalk-access-token': 't' }, body }));
    expect(seen).toEqual([
      {
        method: 'POST',
        url: 'http://dingtalk.test/prefix/v1.0/drive/spaces?x=1',
        headers: { 'content-type': 'application/json', 'x-acs-dingtalk-access-token': 't' },
        body,
      },
    ]);
  });

  it('answers status, end-to-end headers and the exact body bytes', async () => {
    const bytes = new Uint8Array([0, 1, 2, 0xfe, 0xff]);
    const headers = new Headers({ 'content-type': 'application/octet-stream', connection: 'x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5', 'x-acs-request-id': 'req-1' });
    headers.append('set-cookie', 'a=1');
    headers.append('set-cookie', 'b=2');
    const up = upstream(() => new Response(bytes, { status: 207, headers }));
    const response = await up.send(request());
    expect(response.status).toBe(207);
    expect(response.body).toEqual(bytes);
    expect(response.headers).toEqual(
      expect.arrayContaining([
        ['content-type', 'application/octet-stream'],
        ['x-acs-request-id', 'req-1'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
      ]),
    );
    for (const dropped of ['connection', 'x-hop', 'keep-alive', 'content-length']) expect(response.headers.some(([name]) => name === dropped), dropped).toBe(false);
  });

  it('passes error statuses through as answers, not failures', async () => {
    const up = upstream(() => new Response('{"code":"InvalidAuthentication"}', { status: 400 }));
    const response = await up.send(request());
    expect(response.status).toBe(400);
    expect(new TextDecoder().decode(response.body)).toBe('{"code":"InvalidAuthentication"}');
  });

  it('times out a fetch that never resolves (even one that ignores the abort signal)', async () => {
    const never = vi.fn(() => new Promise<Response>(() => {}));
    const started = performance.now();
    const error = await failure(upstream(never, { responseTimeoutMs: 30 }).send(request()));
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ failure: 'timeout', mayHaveReachedUpstream: true, message: 'no answer within 30 ms' });
    expect(elapsed).toBeGreaterThanOrEqual(25);
    expect(elapsed).toBeLessThan(1_000);
    expect(never).toHaveBeenCalledTimes(1);
  });

  it("with honoursAbort, leaves the timeout to the fetch's own abort signal, and reports it as a timeout", async () => {
    const honouring = (r: Request) => new Promise<Response>((_, reject) => r.signal.addEventListener('abort', () => reject(r.signal.reason)));
    const up = createFetchUpstream({ baseUrl: 'http://dingtalk.test', fetch: honouring, honoursAbort: true, responseTimeoutMs: 30, maxResponseBytes: 1024 });
    const started = performance.now();
    const error = await failure(up.send(request()));
    expect(error).toMatchObject({ failure: 'timeout', mayHaveReachedUpstream: true, message: 'no answer within 30 ms' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(await createFetchUpstream({ baseUrl: 'http://dingtalk.test', fetch: () => new Response('{"ok":1}'), honoursAbort: true, responseTimeoutMs: 30, maxResponseBytes: 1024 }).send(request())).toMatchObject({ status: 200 });
  });

  it('times out an answer whose body never ends', async () => {
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array([0x7b]));
      },
    });
    const error = await failure(upstream(() => new Response(stalled), { responseTimeoutMs: 30 }).send(request()));
    expect(error).toMatchObject({ failure: 'timeout', mayHaveReachedUpstream: true });
  });

  it('reports a rejected fetch as a reset that may have reached DingTalk, keeping the cause', async () => {
    const cause = new TypeError('fetch failed');
    const error = await failure(upstream(() => Promise.reject(cause)).send(request()));
    expect(error).toMatchObject({ failure: 'reset', mayHaveReachedUpstream: true, message: 'the request failed: fetch failed' });
    expect(error.cause).toBe(cause);
    // A fetch function that throws synchronously is the same failure.
    const sync = await failure(
      upstream(() => {
        throw new Error('sync');
      }).send(request()),
    );
    expect(sync.failure).toBe('reset');
  });

  it('refuses an answer over maxResponseBytes, and accepts one of exactly that size', async () => {
    const tooLarge = await failure(upstream(() => new Response(new Uint8Array(1025))).send(request()));
    expect(tooLarge).toMatchObject({ failure: 'tooLarge', mayHaveReachedUpstream: true, message: 'the answer is over 1024 bytes' });
    const exact = await upstream(() => new Response(new Uint8Array(1024))).send(request());
    expect(exact.body.byteLength).toBe(1024);
  });

  it('closes without error', async () => {
    await expect(upstream(() => new Response('')).close()).resolves.toBeUndefined();
  });
});
