import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createUndiciUpstream } from './undici-upstream.js';
import type { Upstream, UpstreamRequest } from '../../core/proxy/upstream.js';
import { upstreamFailure as failure } from '../../core/proxy/upstream-failure.testing.js';

interface TestServer {
  origin: string;
  port: number;
  /** TCP connections accepted so far. */
  connections: () => number;
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }>;
  close: () => Promise<void>;
}

const opened: Array<{ close: () => Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

/** A real HTTP server on 127.0.0.1, closed after the test with every connection it holds. */
async function startServer(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<TestServer> {
  let connections = 0;
  const requests: TestServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  const handle = { origin: `http://127.0.0.1:${port}`, port, connections: () => connections, requests, close };
  opened.push(handle);
  return handle;
}

function upstreamTo(baseUrl: string, options: { responseTimeoutMs?: number; maxResponseBytes?: number } = {}): Upstream {
  const upstream = createUndiciUpstream({
    baseUrl,
    connections: 4,
    connectTimeoutMs: 1_000,
    responseTimeoutMs: options.responseTimeoutMs ?? 2_000,
    maxResponseBytes: options.maxResponseBytes ?? 1024,
  });
  opened.push(upstream);
  return upstream;
}

const get = (path = '/v2.0/wiki/workspaces?operatorId=u'): UpstreamRequest => ({ method: 'GET', path, headers: { accept: 'application/json' }, body: undefined });

describe('createUndiciUpstream', () => {
  it('sends the request as given and answers status, end-to-end headers and body bytes', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(201, [
        ['content-type', 'application/json'],
        ['x-acs-request-id', 'req-1'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
        ['connection', 'keep-alive, x-hop'],
        ['x-hop', '1'],
        ['keep-alive', 'timeout=30'],
      ] as unknown as Record<string, string>);
      res.end(Buffer.from([0x7b, 0xff, 0x00, 0x7d]));
    });
    const body = new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x7d]);
    const response = await upstreamTo(server.origin).send({
      method: 'POST',
      path: '/v1.0/drive/spaces?x=1&y=%2F',
      headers: { 'content-type': 'application/json', 'x-acs-dingtalk-access-token': 'token-1' },
      body,
    });
    expect(server.requests).toHaveLength(1);
    const seen = server.requests[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/v1.0/drive/spaces?x=1&y=%2F');
    expect(seen.headers).toMatchObject({ 'content-type': 'application/json', 'x-acs-dingtalk-access-token': 'token-1', 'content-length': '5' });
    expect([...seen.body]).toEqual([...body]);

    expect(response.status).toBe(201);
    expect([...response.body]).toEqual([0x7b, 0xff, 0x00, 0x7d]);
    expect(response.headers).toEqual(
      expect.arrayContaining([
        ['content-type', 'application/json'],
        ['x-acs-request-id', 'req-1'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
      ]),
    );
    const names = response.headers.map(([name]) => name);
    for (const dropped of ['connection', 'x-hop', 'keep-alive', 'content-length']) expect(names).not.toContain(dropped);
  });

  it('keeps the connection alive: sequential requests share one TCP connection', async () => {
    const server = await startServer((_req, res) => res.end('{}'));
    const upstream = upstreamTo(server.origin);
    for (let i = 0; i < 5; i++) {
      expect((await upstream.send(get())).status).toBe(200);
      // Let undici mark the connection idle, as it is between two callers' requests.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.requests).toHaveLength(5);
    expect(server.connections()).toBe(1);
  });

  it('reuses connections even for back-to-back requests (no connection per request)', async () => {
    const server = await startServer((_req, res) => res.end('{}'));
    const upstream = upstreamTo(server.origin);
    for (let i = 0; i < 20; i++) await upstream.send(get());
    // undici may open a second connection when a request follows the previous answer within
    // the same tick; never one per request.
    expect(server.connections()).toBeLessThanOrEqual(2);
  });

  it('honours a path prefix in the base URL', async () => {
    const server = await startServer((_req, res) => res.end('{}'));
    await upstreamTo(`${server.origin}/dingtalk/`).send(get('/v1.0/x?a=1'));
    await upstreamTo(`${server.origin}/dingtalk`).send(get('/v1.0/y'));
    expect(server.requests.map((r) => r.url)).toEqual(['/dingtalk/v1.0/x?a=1', '/dingtalk/v1.0/y']);
  });

  it("reports a refused connection as 'connect', certainly not reaching DingTalk", async () => {
    const server = await startServer((_req, res) => res.end());
    await server.close();
    const error = await failure(upstreamTo(server.origin).send({ ...get(), method: 'POST', body: new Uint8Array([1]) }));
    expect(error).toMatchObject({ failure: 'connect', mayHaveReachedUpstream: false, message: 'could not connect: ECONNREFUSED' });
  });

  it("reports a server that never answers as 'timeout' within responseTimeoutMs", async () => {
    const server = await startServer(() => {});
    const started = performance.now();
    const error = await failure(upstreamTo(server.origin, { responseTimeoutMs: 100 }).send(get()));
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ failure: 'timeout', mayHaveReachedUpstream: true, message: 'no answer within 100 ms' });
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(1_000);
    expect(server.requests).toHaveLength(1);
  });

  it('applies new limits (a reload) to the exchanges that start afterwards: a longer timeout lets a slow answer through, a smaller bound refuses a large one', async () => {
    const server = await startServer((_req, res) => setTimeout(() => res.end('x'.repeat(600)), 250));
    const upstream = upstreamTo(server.origin, { responseTimeoutMs: 100 });
    expect(await failure(upstream.send(get()))).toMatchObject({ failure: 'timeout', message: 'no answer within 100 ms' });
    upstream.setLimits!({ responseTimeoutMs: 2_000, maxResponseBytes: 1024 });
    expect((await upstream.send(get())).status).toBe(200);
    upstream.setLimits!({ responseTimeoutMs: 2_000, maxResponseBytes: 500 });
    expect(await failure(upstream.send(get()))).toMatchObject({ failure: 'tooLarge' });
  });

  it("bounds a request still waiting for a connection too: 'timeout' within responseTimeoutMs", async () => {
    const server = await startServer(() => {});
    const upstream = createUndiciUpstream({ baseUrl: server.origin, connections: 1, connectTimeoutMs: 1_000, responseTimeoutMs: 150, maxResponseBytes: 1024 });
    opened.push(upstream);
    const started = performance.now();
    // One connection: the second request queues behind the first, which never gets an answer.
    const [first, second] = await Promise.all([failure(upstream.send(get('/first'))), failure(upstream.send(get('/second')))]);
    expect(first).toMatchObject({ failure: 'timeout', message: 'no answer within 150 ms' });
    expect(second).toMatchObject({ failure: 'timeout', message: 'no answer within 150 ms' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("reports an answer whose body stalls as 'timeout'", async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    });
    const started = performance.now();
    const error = await failure(upstreamTo(server.origin, { responseTimeoutMs: 100 }).send(get()));
    expect(error).toMatchObject({ failure: 'timeout', mayHaveReachedUpstream: true });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("reports a connection destroyed mid-request as 'reset' that may have reached DingTalk", async () => {
    const server = await startServer((req) => req.socket.destroy());
    const error = await failure(upstreamTo(server.origin).send({ ...get(), method: 'POST', body: new Uint8Array([1, 2, 3]) }));
    expect(error).toMatchObject({ failure: 'reset', mayHaveReachedUpstream: true });
    expect(server.requests).toHaveLength(1);
  });

  it("reports a connection destroyed mid-answer as 'reset'", async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"cut":', () => res.destroy());
    });
    const error = await failure(upstreamTo(server.origin).send(get()));
    expect(error).toMatchObject({ failure: 'reset', mayHaveReachedUpstream: true });
  });

  it("refuses an answer over maxResponseBytes as 'tooLarge', accepts exactly the limit, and stays usable", async () => {
    const server = await startServer((req, res) => res.end(Buffer.alloc(req.url === '/big' ? 1025 : 1024, 0x61)));
    const upstream = upstreamTo(server.origin, { maxResponseBytes: 1024 });
    const error = await failure(upstream.send(get('/big')));
    expect(error).toMatchObject({ failure: 'tooLarge', mayHaveReachedUpstream: true, message: 'the answer is over 1024 bytes' });
    const exact = await upstream.send(get('/exact'));
    expect(exact.body.byteLength).toBe(1024);
  });

  it('refuses a large chunked answer without waiting for all of it', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(2048));
      // Never ends: only the size check can finish this request before the timeout.
    });
    const started = performance.now();
    const error = await failure(upstreamTo(server.origin, { maxResponseBytes: 1024, responseTimeoutMs: 2_000 }).send(get()));
    expect(error.failure).toBe('tooLarge');
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
