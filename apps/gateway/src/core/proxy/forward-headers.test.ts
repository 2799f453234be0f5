import { describe, expect, it } from 'vitest';
import { ACCESS_TOKEN_HEADER, forwardedRawRequestHeaders, forwardedRequestHeaders } from './forward-headers.js';
import { HOP_BY_HOP_HEADERS } from './upstream.js';

describe('forwardedRequestHeaders', () => {
  it('keeps what DingTalk needs to read the request: content type, accept, user agent, SDK headers', () => {
    const kept = {
      'content-type': 'application/json; charset=utf-8',
      accept: 'application/json',
      'accept-language': 'zh-CN',
      'user-agent': 'my-service/1.2',
      'x-acs-dingtalk-sdk': 'java/1.0',
      'x-acs-version': '2023-01-01',
      'x-acs-action': 'ListWorkspaces',
      'x-custom': 'a, b',
    };
    expect(forwardedRequestHeaders(new Headers(kept))).toEqual({ ...kept, 'accept-encoding': 'identity' });
  });

  it.each([
    ['authorization', 'Bearer dtg_the_callers_api_key'],
    ['host', 'gateway.internal'],
    [ACCESS_TOKEN_HEADER, 'callers-own-token'],
    ['cookie', 'session=1'],
    ['content-length', '12'],
    ['expect', '100-continue'],
    ['forwarded', 'for=10.0.0.1'],
    ['x-forwarded-for', '10.0.0.1'],
    ['x-forwarded-host', 'gateway.internal'],
    ['x-forwarded-proto', 'https'],
    ['x-real-ip', '10.0.0.1'],
    ['x-forwarded-port', '443'],
    ['x-forwarded-client-cert', 'By=spiffe://cluster/ns/a'],
    ['via', '1.1 lb'],
    ['x-client-ip', '10.0.0.1'],
    ['true-client-ip', '10.0.0.1'],
    ['cf-connecting-ip', '10.0.0.1'],
    ['proxy-authorization', 'Basic abc'],
    ...[...HOP_BY_HOP_HEADERS].map((name) => [name, 'x'] as [string, string]),
  ])('never forwards %s', (name, value) => {
    const headers = new Headers({ 'content-type': 'application/json' });
    headers.set(name, value);
    expect(forwardedRequestHeaders(headers)).toEqual({ 'content-type': 'application/json', 'accept-encoding': 'identity' });
  });

  it('asks DingTalk for an uncompressed answer whatever the caller accepts (the gateway reads error bodies)', () => {
    expect(forwardedRequestHeaders(new Headers({ 'accept-encoding': 'gzip, br' }))['accept-encoding']).toBe('identity');
  });

  it('never forwards a header the Connection header names, whatever its case and spacing', () => {
    const headers = new Headers({
      connection: 'keep-alive, X-Secret-Hop ,x-other-hop,,  UPGRADE',
      'x-secret-hop': '1',
      'x-other-hop': '2',
      'x-kept': '3',
    });
    expect(forwardedRequestHeaders(headers)).toEqual({ 'x-kept': '3', 'accept-encoding': 'identity' });
  });

  it('cannot be tricked by Connection into dropping nothing or everything', () => {
    expect(forwardedRequestHeaders(new Headers({ connection: '', accept: 'application/json' }))).toEqual({ accept: 'application/json', 'accept-encoding': 'identity' });
    // Naming a header that must go anyway changes nothing.
    expect(forwardedRequestHeaders(new Headers({ connection: 'authorization', authorization: 'Bearer k', accept: '*/*' }))).toEqual({ accept: '*/*', 'accept-encoding': 'identity' });
  });

  it('returns lower-case names and keeps combined values as one', () => {
    const headers = new Headers();
    headers.append('Accept', 'application/json');
    headers.append('Accept', 'text/plain');
    headers.append('X-ACS-Trace', 'abc');
    expect(forwardedRequestHeaders(headers)).toEqual({ accept: 'application/json, text/plain', 'x-acs-trace': 'abc', 'accept-encoding': 'identity' });
  });
});

describe('forwardedRawRequestHeaders (Node raw header list)', () => {
  /** The Web Headers @hono/node-server builds from the same raw list. */
  const asHeaders = (raw: string[]) => {
    const headers = new Headers();
    for (let i = 0; i < raw.length; i += 2) if (!raw[i]!.startsWith(':')) headers.append(raw[i]!, raw[i + 1]!);
    return headers;
  };

  it.each<[string, string[]]>([
    ['a typical call', ['Host', 'gw:8787', 'Authorization', 'Bearer dtg_x', 'Accept', 'application/json', 'User-Agent', 'svc/1', 'Content-Type', 'application/json', 'Content-Length', '12']],
    ['repeated headers, mixed case', ['Accept', 'application/json', 'X-ACS-Trace', 'abc', 'accept', 'text/plain', 'X-Custom', 'a, b', 'x-custom', 'c']],
    ['Connection naming headers', ['Connection', 'keep-alive, X-Secret-Hop ,x-other-hop,,  UPGRADE', 'X-Secret-Hop', '1', 'x-other-hop', '2', 'x-kept', '3', 'Connection', 'x-late']],
    ['an empty Connection', ['connection', '', 'accept', '*/*']],
    ['proxies and the caller network', ['X-Forwarded-For', '10.0.0.1', 'x-forwarded-proto', 'https', 'Forwarded', 'for=1', 'Via', '1.1 lb', 'X-Real-IP', '1', 'Cookie', 'a=1', 'Cookie', 'b=2', 'x-keep', 'y']],
    ['the caller token and encodings', [ACCESS_TOKEN_HEADER, 'callers-token', 'Accept-Encoding', 'gzip, br', 'Expect', '100-continue', 'TE', 'trailers']],
    ['repeated set-cookie', ['set-cookie', 'a=1', 'Set-Cookie', 'b=2', 'x', '1']],
    ['values with surrounding whitespace', ['x-padded', ' \t value \t', 'x-inner', 'a  b']],
    ['HTTP/2 pseudo-headers', [':method', 'GET', ':path', '/x', ':authority', 'gw', 'accept', '*/*']],
    ['no headers', []],
  ])('selects exactly what the Web Headers version selects: %s', (_what, raw) => {
    expect(forwardedRawRequestHeaders(raw)).toEqual(forwardedRequestHeaders(asHeaders(raw)));
  });

  it('combines repeated headers as one value, in order, and lower-cases names', () => {
    expect(forwardedRawRequestHeaders(['Accept', 'application/json', 'ACCEPT', 'text/plain', 'X-ACS-Trace', 'abc'])).toEqual({
      accept: 'application/json, text/plain',
      'x-acs-trace': 'abc',
      'accept-encoding': 'identity',
    });
  });
});
