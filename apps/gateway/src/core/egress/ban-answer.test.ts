import { describe, expect, it } from 'vitest';
import type { UpstreamResponse } from '../proxy/upstream.js';
import { banOf } from './ban-answer.js';

const answer = (status: number, contentType: string, body: string): UpstreamResponse => ({
  status,
  headers: [['content-type', contentType]],
  body: new TextEncoder().encode(body),
});
const JSON_TYPE = 'application/json;charset=utf-8';

describe('banOf: DingTalk\'s ban of the egress IP, told from its ordinary answers', () => {
  it("reads the anti-abuse front's JSON, its wait in minutes, whatever the status", () => {
    expect(banOf(answer(403, JSON_TYPE, '{"status":1111,"wait":5,"punish":"deny","msg":"too many requests"}'))).toEqual({ waitMs: 300_000, shape: 'json' });
    expect(banOf(answer(200, JSON_TYPE, ' {"status": 1111, "wait": 2}'))).toEqual({ waitMs: 120_000, shape: 'json' });
    expect(banOf(answer(429, 'text/plain', '{"punish":"deny","status":1111}'))).toEqual({ waitMs: undefined, shape: 'json' });
  });

  it('takes an HTML page for the ban, but for a 5xx (a load balancer\'s error page during an outage)', () => {
    expect(banOf(answer(403, 'text/html; charset=utf-8', '<!DOCTYPE html><html>访问被拒绝</html>'))).toEqual({ waitMs: undefined, shape: 'html' });
    expect(banOf(answer(200, 'text/html', '<html></html>'))).toEqual({ waitMs: undefined, shape: 'html' });
    expect(banOf(answer(502, 'text/html', '<html>502 Bad Gateway</html>'))).toBeUndefined();
  });

  it("leaves DingTalk's own answers alone: errors, results, a status field that is not the front's", () => {
    expect(banOf(answer(403, JSON_TYPE, '{"code":"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi","message":"m","requestid":"r"}'))).toBeUndefined();
    expect(banOf(answer(200, JSON_TYPE, '{"workspace":{"status":1111,"name":"x"}}'))).toBeUndefined();
    expect(banOf(answer(200, JSON_TYPE, '{"status":1,"wait":5}'))).toBeUndefined();
    expect(banOf(answer(400, JSON_TYPE, '{"status":1111'))).toBeUndefined();
    expect(banOf(answer(204, JSON_TYPE, ''))).toBeUndefined();
  });
});
