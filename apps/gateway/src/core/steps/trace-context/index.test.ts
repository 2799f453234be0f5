import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { GatewayEnv } from '../../context.js';
import { assignTraceContext, parseTraceparent, randomHex } from './index.js';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('parseTraceparent', () => {
  it('takes a valid version-00 header, and the first four fields of a later version', () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', flags: '01' });
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-later')).toMatchObject({ flags: '00' });
  });

  it.each([
    ['absent', undefined],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['version 00 with more fields', `${VALID}-extra`],
    ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['an all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['upper case', VALID.toUpperCase()],
    ['a short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['garbage', 'hello'],
  ])('refuses %s (a new trace starts)', (_why, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });
});

function traced(headers: Record<string, string>) {
  const app = new Hono<GatewayEnv>();
  app.get('/', (c) => {
    c.set('answerHeaders', {});
    const trace = assignTraceContext(c);
    return c.json({ trace, answerHeaders: c.get('answerHeaders') });
  });
  return Promise.resolve(app.request('/', { headers })).then((r) => r.json() as Promise<{ trace: Record<string, string>; answerHeaders: Record<string, string> }>);
}

describe('randomHex', () => {
  it('gives lowercase hex of the length asked, different each time, across refills of its pool', () => {
    const ids = Array.from({ length: 1_000 }, () => randomHex(24));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{48}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('assignTraceContext', () => {
  it("continues the caller's trace as a child span, keeping its flags and tracestate", async () => {
    const { trace, answerHeaders } = await traced({ traceparent: VALID, tracestate: 'vendor=abc' });
    expect(trace).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', flags: '01', tracestate: 'vendor=abc' });
    expect(trace.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(trace.spanId).not.toBe('00f067aa0ba902b7');
    expect(answerHeaders.traceresponse).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${trace.spanId}-01`);
  });

  it('starts a new, unsampled trace when the caller sends none or a bad one, ignoring a lone tracestate', async () => {
    const a = await traced({ tracestate: 'vendor=abc' });
    const b = await traced({ traceparent: 'garbage' });
    expect(a.trace.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.trace.traceId).not.toBe(b.trace.traceId);
    expect(a.trace).toMatchObject({ flags: '00' });
    expect(a.trace.tracestate).toBeUndefined();
    expect(a.answerHeaders.traceresponse).toBe(`00-${a.trace.traceId}-${a.trace.spanId}-00`);
  });
});
