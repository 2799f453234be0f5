import { DingTalkError } from '@dingtalk-gateway/errors';
import { describe, expect, it } from 'vitest';
import { corpAccessToken, internalAppToken } from './fetchers.js';

function recordingFetch(status: number, body: unknown) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fetch = async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  };
  return { calls, fetch };
}

describe('internalAppToken', () => {
  it('posts the app credentials as JSON to the token endpoint', async () => {
    const { calls, fetch } = recordingFetch(200, { accessToken: 'abc', expireIn: 7200 });
    const token = await internalAppToken({ baseUrl: 'http://127.0.0.1:9', appKey: 'k', appSecret: 's', fetch })();
    expect(token).toEqual({ accessToken: 'abc', expireIn: 7200 });
    expect(calls[0]!.url).toBe('http://127.0.0.1:9/v1.0/oauth2/accessToken');
    expect(calls[0]!.init.method).toBe('POST');
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual({ appKey: 'k', appSecret: 's' });
    expect(new Headers(calls[0]!.init.headers).get('content-type')).toBe('application/json');
  });

  it("throws DingTalk's error", async () => {
    const { fetch } = recordingFetch(400, { code: 'invalidClientIdOrSecret', message: 'bad', requestid: 'r' });
    const error = await internalAppToken({ appKey: 'k', appSecret: 's', fetch })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DingTalkError);
    expect(error).toMatchObject({ status: 400, code: 'invalidClientIdOrSecret' });
  });
});

describe('corpAccessToken', () => {
  it('reads the current suite ticket at every fetch', async () => {
    const { calls, fetch } = recordingFetch(200, { accessToken: 'isv', expireIn: 7200 });
    let ticket = 'ticket-1';
    const fetchToken = corpAccessToken({ suiteKey: 'sk', suiteSecret: 'ss', authCorpId: 'corp', suiteTicket: () => ticket, fetch });
    await fetchToken();
    ticket = 'ticket-2';
    await fetchToken();
    expect(calls.map((c) => JSON.parse(String(c.init.body)).suiteTicket)).toEqual(['ticket-1', 'ticket-2']);
    expect(calls[0]!.url).toBe('https://api.dingtalk.com/v1.0/oauth2/corpAccessToken');
    expect(JSON.parse(String(calls[0]!.init.body))).toMatchObject({ suiteKey: 'sk', suiteSecret: 'ss', authCorpId: 'corp' });
  });
});
