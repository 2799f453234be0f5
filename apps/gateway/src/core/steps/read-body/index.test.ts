import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { createSpecValidator } from '@dingtalk-gateway/spec-validator';
import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import type { GatewayEnv } from '../../context.js';
import { beforeSteps } from '../before-steps.testing.js';
import { readBody } from './index.js';

const LIMIT = 16;
const validator = createSpecValidator(loadGatewayContract());

function setup(maxBytes = LIMIT) {
  const seen: Array<Uint8Array | undefined> = [];
  const app = new Hono<GatewayEnv>();
  app.use('*', beforeSteps((c) => c.set('operation', validator.operation('addSpace')!)));
  app.use('*', readBody({ maxBytes, validator }));
  app.all('*', (c) => {
    seen.push(c.get('rawBody'));
    return c.text('through');
  });
  return { app, seen };
}

/**
 * A body that produces `chunks` chunks of `size` bytes only when read (no read-ahead), and
 * counts how many were pulled.
 */
function countingStream(chunks: number, size: number) {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled === chunks) return controller.close();
        pulled += 1;
        controller.enqueue(new Uint8Array(size).fill(0x61));
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled };
}

const post = (body: NonNullable<RequestInit['body']>, headers: Record<string, string> = {}) =>
  new Request('http://gateway.test/x', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);

async function expectTooLarge(response: Response, maxBytes = LIMIT) {
  expect(response.status).toBe(413);
  expect(response.headers.get('x-error-code')).toBe('gateway.request.tooLarge');
  expect(await response.json()).toEqual({ code: 'gateway.request.tooLarge', message: `request body is over ${maxBytes} bytes`, requestid: 'r-1' });
}

describe('readBody', () => {
  it('does not touch the request stream of a GET without framing headers', async () => {
    const { app, seen } = setup();
    let bodyReads = 0;
    const request = new Request('http://gateway.test/x');
    Object.defineProperty(request, 'body', {
      get() {
        bodyReads += 1;
        return null;
      },
    });
    const arrayBuffer = vi.spyOn(request, 'arrayBuffer');
    const response = await app.fetch(request);
    expect(response.status).toBe(200);
    expect(seen).toEqual([undefined]);
    expect(bodyReads).toBe(0);
    expect(arrayBuffer).not.toHaveBeenCalled();
  });

  it('does not read a body announced as empty (Content-Length: 0)', async () => {
    const { app, seen } = setup();
    const { stream, pulled } = countingStream(1, 4);
    const response = await app.fetch(post(stream, { 'content-length': '0' }));
    expect(response.status).toBe(200);
    expect(seen).toEqual([undefined]);
    expect(pulled()).toBe(0);
  });

  it('refuses a Content-Length over the limit with 413 before reading a byte', async () => {
    const { app, seen } = setup();
    const { stream, pulled } = countingStream(100, 1024);
    await expectTooLarge(await app.fetch(post(stream, { 'content-length': String(100 * 1024) })));
    expect(pulled()).toBe(0);
    expect(seen).toEqual([]);
  });

  it('refuses a streamed body (no Content-Length) with 413 as soon as it is over the limit', async () => {
    const { app, seen } = setup();
    const { stream, pulled } = countingStream(1000, 5);
    await expectTooLarge(await app.fetch(post(stream)));
    // 16 bytes in 5-byte chunks: the 4th chunk crosses the limit; nothing after it is read.
    expect(pulled()).toBe(4);
    expect(seen).toEqual([]);
  });

  it('refuses a chunked body over the limit with 413', async () => {
    const { app } = setup();
    const { stream } = countingStream(4, 5);
    await expectTooLarge(await app.fetch(post(stream, { 'transfer-encoding': 'chunked' })));
  });

  it('accepts a body of exactly the limit, announced or streamed', async () => {
    const exact = new Uint8Array(LIMIT).fill(0x62);
    const announced = setup();
    expect((await announced.app.fetch(post(exact, { 'content-length': String(LIMIT) }))).status).toBe(200);
    expect(announced.seen).toEqual([exact]);

    const streamed = setup();
    const { stream } = countingStream(4, 4);
    expect((await streamed.app.fetch(post(stream))).status).toBe(200);
    expect(streamed.seen).toEqual([new Uint8Array(LIMIT).fill(0x61)]);

    const overByOne = setup();
    await expectTooLarge(await overByOne.app.fetch(post(new Uint8Array(LIMIT + 1))));
  });

  it('sets rawBody to undefined for an empty body', async () => {
    const { app, seen } = setup();
    expect((await app.fetch(post(''))).status).toBe(200);
    expect((await app.fetch(post(new Uint8Array(0), { 'content-length': '0' }))).status).toBe(200);
    expect(seen).toEqual([undefined, undefined]);
  });

  it('keeps the bytes exactly as sent (no decoding, no re-serialisation)', async () => {
    const { app, seen } = setup(1024);
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x0d, 0x0a, 0x00, 0xff, 0xfe, 0x22, 0x20, 0x20, 0x7d]);
    expect((await app.fetch(post(bytes))).status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(Uint8Array);
    expect([...seen[0]!]).toEqual([...bytes]);

    const text = '{ "name" :\n  "Spaced   out", "n": 1.0e0 }';
    expect((await app.fetch(post(text, { 'content-type': 'application/json' }))).status).toBe(200);
    expect(new TextDecoder().decode(seen[1])).toBe(text);
  });

  it('reads the body of methods other than POST too (a body on a GET-only operation is refused later, by validation)', async () => {
    const { app, seen } = setup();
    const put = new Request('http://gateway.test/x', { method: 'PUT', body: 'abc' });
    expect((await app.fetch(put)).status).toBe(200);
    expect(new TextDecoder().decode(seen[0])).toBe('abc');
  });

  it("answers a body that breaks off with DingTalk's code for the operation's body (AddSpace: param.error)", async () => {
    const { app, seen } = setup(1024);
    const broken = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"name":'));
        controller.error(new Error('connection reset'));
      },
    });
    const response = await app.fetch(new Request('http://gateway.test/x', { method: 'POST', body: broken, duplex: 'half' } as RequestInit));
    expect(response.status).toBe(400);
    expect(response.headers.get('x-error-code')).toBe('param.error');
    expect(await response.json()).toEqual({ code: 'param.error', message: 'the request body could not be read', requestid: 'r-1' });
    expect(seen).toEqual([]);
  });
});
