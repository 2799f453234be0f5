/**
 * Child process: the framework floor, what the gateway's stack costs before any of its features.
 * Hono on @hono/node-server, one route that forwards every request through the gateway's own
 * upstream (`createUndiciUpstream`: the undici Pool and buffering handler the gateway uses) with
 * one DingTalk token fetched at start, and answers with DingTalk's status, headers and body. No
 * API keys, routing against the spec, scopes, validation, limits, request ids, logs or metrics.
 *
 * Between the baseline and the gateway: baseline → floor is what the framework and the
 * buffering cost, floor → gateway what the features cost (docs/BENCHMARKS.md, round 6).
 *
 * Started with `fork()`: reports `{ type: 'ready', port }` over IPC and exits when the parent
 * goes away.
 */
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createUndiciUpstream } from '@dingtalk-gateway/gateway';
import { Hono } from 'hono';

const upstreamUrl = process.env.BENCH_UPSTREAM_URL;
if (!upstreamUrl) throw new Error('BENCH_UPSTREAM_URL is not set');
const upstream = createUndiciUpstream({
  baseUrl: upstreamUrl,
  connections: Number(process.env.BENCH_UPSTREAM_CONNECTIONS ?? '128'),
  connectTimeoutMs: 3_000,
  responseTimeoutMs: 10_000,
  maxResponseBytes: 10 * 1024 * 1024,
});

const tokenAnswer = await upstream.send({
  method: 'POST',
  path: '/v1.0/oauth2/accessToken',
  headers: { 'content-type': 'application/json' },
  body: new TextEncoder().encode(JSON.stringify({ appKey: 'dingbenchfloor', appSecret: 'bench' })),
});
const token = (JSON.parse(new TextDecoder().decode(tokenAnswer.body)) as { accessToken: string }).accessToken;

// As the baseline: the caller's headers but this connection's own and the caller's credentials.
const NOT_FORWARDED = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'authorization']);

const app = new Hono<{ Bindings: { incoming: IncomingMessage } }>();
app.all('*', async (c) => {
  const raw = c.env.incoming.rawHeaders;
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!NOT_FORWARDED.has(name)) headers[name] = raw[i + 1]!;
  }
  headers['x-acs-dingtalk-access-token'] = token;
  const url = c.req.url;
  const method = c.req.method;
  const body = method === 'GET' || method === 'HEAD' ? undefined : new Uint8Array(await c.req.arrayBuffer());
  const answer = await upstream.send({ method, path: url.slice(url.indexOf('/', url.indexOf('//') + 2)), headers, body });
  const answerHeaders: Record<string, string> = {};
  for (const [name, value] of answer.headers) answerHeaders[name] = value;
  return c.body(answer.body as Uint8Array<ArrayBuffer>, answer.status as 200, answerHeaders);
});

// As the gateway's Node entry does: Hono's request listener on a node:http server.
const server = createServer({ keepAliveTimeout: 60_000 }, getRequestListener(app.fetch));
server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
// A clean exit on SIGTERM, so a --cpu-prof profile gets written.
process.on('SIGTERM', () => process.exit(0));
