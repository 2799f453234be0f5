import { describe, expect, it } from 'vitest';
import { upstreamAsFetch } from './upstream-fetch.js';
import type { Upstream, UpstreamRequest, UpstreamResponse } from './upstream.js';

/** An upstream that records what it was asked and answers `answer`. */
function recording(answer: UpstreamResponse | Error) {
  const sent: UpstreamRequest[] = [];
  const upstream: Upstream = {
    async send(request) {
      sent.push(request);
      if (answer instanceof Error) throw answer;
      return answer;
    },
    async close() {},
  };
  return { fetch: upstreamAsFetch(upstream), sent };
}

const ok: UpstreamResponse = { status: 200, headers: [], body: new Uint8Array() };

describe('upstreamAsFetch', () => {
  it('sends method, path with query (never the origin), headers and the string body as UTF-8 bytes', async () => {
    const { fetch, sent } = recording(ok);
    await fetch('https://api.dingtalk.com/v1.0/oauth2/accessToken?x=1&y=%2F', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', accept: 'application/json' },
      body: '{"appKey":"k","appSecret":"秘密"}',
    });
    expect(sent).toHaveLength(1);
    const request = sent[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/v1.0/oauth2/accessToken?x=1&y=%2F');
    expect(request.headers).toEqual({ 'content-type': 'application/json', accept: 'application/json' });
    expect(request.body).toEqual(new TextEncoder().encode('{"appKey":"k","appSecret":"秘密"}'));
  });

  it('accepts headers as a Headers object or entries, and defaults to GET without a body', async () => {
    const { fetch, sent } = recording(ok);
    await fetch('http://sandbox.test/a', { headers: new Headers({ 'X-One': '1' }) });
    await fetch('http://sandbox.test/b', { headers: [['x-two', '2']] });
    expect(sent.map((r) => [r.method, r.path, r.headers, r.body])).toEqual([
      ['GET', '/a', { 'x-one': '1' }, undefined],
      ['GET', '/b', { 'x-two': '2' }, undefined],
    ]);
  });

  it("answers the upstream's status, headers and body as a Response", async () => {
    const body = new TextEncoder().encode('{"accessToken":"t","expireIn":7200}');
    const { fetch } = recording({
      status: 400,
      headers: [
        ['content-type', 'application/json'],
        ['x-acs-request-id', 'req-1'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
      ],
      body,
    });
    const response = await fetch('http://sandbox.test/v1.0/oauth2/accessToken', { method: 'POST', body: '{}' });
    expect(response.status).toBe(400);
    expect(response.ok).toBe(false);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-acs-request-id')).toBe('req-1');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(body);
  });

  it('rejects with the upstream failure itself', async () => {
    const failure = new Error('connection refused');
    const { fetch } = recording(failure);
    await expect(fetch('http://sandbox.test/x', { method: 'POST', body: '{}' })).rejects.toBe(failure);
  });
});
