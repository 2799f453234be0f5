import { describe, expect, it } from 'vitest';
import { HOP_BY_HOP_HEADERS, UpstreamError, endToEndHeaders } from './upstream.js';

describe('endToEndHeaders', () => {
  it('keeps end-to-end headers, in order, including repeated ones', () => {
    const entries: Array<[string, string]> = [
      ['content-type', 'application/json'],
      ['set-cookie', 'a=1'],
      ['x-acs-request-id', 'req-1'],
      ['set-cookie', 'b=2'],
      ['x-acs-trace-id', 'trace-1'],
    ];
    expect(endToEndHeaders(entries)).toEqual(entries);
  });

  it('drops every hop-by-hop header (RFC 9110 7.6.1) and content-length, in any case', () => {
    const entries: Array<[string, string]> = [...HOP_BY_HOP_HEADERS].flatMap((name) => [
      [name, 'x'],
      [name.toUpperCase(), 'x'],
    ]);
    entries.push(['Content-Length', '10'], ['content-length', '10'], ['x-kept', '1']);
    expect(endToEndHeaders(entries)).toEqual([['x-kept', '1']]);
    expect([...HOP_BY_HOP_HEADERS].sort()).toEqual(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
  });

  it('drops the headers any Connection header names, case-insensitively', () => {
    const entries: Array<[string, string]> = [
      ['Connection', 'X-Hop-One'],
      ['connection', ' x-hop-two , close'],
      ['x-hop-one', '1'],
      ['X-HOP-TWO', '2'],
      ['close', 'not really a header'],
      ['x-kept', '3'],
    ];
    expect(endToEndHeaders(entries)).toEqual([['x-kept', '3']]);
  });

  it('accepts any iterable of entries (a Headers object, a generator)', () => {
    const headers = new Headers({ 'content-type': 'text/plain', connection: 'x-hop', 'x-hop': '1' });
    expect(endToEndHeaders(headers)).toEqual([['content-type', 'text/plain']]);
    function* entries(): Generator<[string, string]> {
      yield ['keep-alive', 'timeout=5'];
      yield ['etag', '"v1"'];
    }
    expect(endToEndHeaders(entries())).toEqual([['etag', '"v1"']]);
  });
});

describe('UpstreamError', () => {
  it('carries the kind of failure, whether DingTalk may have seen the request, and the cause', () => {
    const cause = new Error('ECONNREFUSED');
    const error = new UpstreamError('connect', false, 'could not connect', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'UpstreamError', failure: 'connect', mayHaveReachedUpstream: false, message: 'could not connect', cause });
  });
});
