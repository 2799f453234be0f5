/**
 * Child process: the fastify peer, what a team would build with fastify instead of the gateway.
 * fastify, @fastify/rate-limit and @fastify/http-proxy (@fastify/reply-from on an undici Agent
 * with as many connections to the upstream as the gateway's), plus an API-key check:
 *
 * - `Authorization: Bearer <key>`, the key's SHA-256 looked up in a set of the bench tenants'
 *   key hashes, as the gateway's config stores them (`BENCH_TENANTS`, default 1); no key or an
 *   unknown key is 401. The key is hashed on every request (the gateway remembers keys it has
 *   already found valid; a team's first version would not).
 * - A rate limit per API key, in memory (@fastify/rate-limit's LRU store), checked after the
 *   key: `BENCH_PEER_RATE_MAX` requests per `BENCH_PEER_RATE_WINDOW_MS` (default 1,000,000 per
 *   1,000 ms, as generous as the gateway's bench config, so a run never reaches it). 429 beyond.
 * - Forwarding as the baseline does: one DingTalk token fetched at start and injected as the
 *   token header, the caller's headers passed on (the caller's credentials and this
 *   connection's own headers left behind, as the gateway and the floor do), the answer streamed
 *   back with DingTalk's status, headers and body.
 *
 * No routing against the spec, scopes, validation, per-operation or DingTalk limits, request
 * ids in the answer, access log or metrics: what the issue names for the peer and no more.
 *
 * Started with `fork()`: reports `{ type: 'ready', port }` over IPC and exits when the parent
 * goes away.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import httpProxy from '@fastify/http-proxy';
import rateLimit from '@fastify/rate-limit';
import { fastify } from 'fastify';
import { request } from 'undici';
import { benchApiKey } from '../gateway-config.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The SHA-256 (hex) of the caller's API key, once checked. */
    apiKeyHash: string;
  }
}

const upstreamUrl = process.env.BENCH_UPSTREAM_URL;
if (!upstreamUrl) throw new Error('BENCH_UPSTREAM_URL is not set');
const connections = Number(process.env.BENCH_UPSTREAM_CONNECTIONS ?? '128');
const tenants = Number(process.env.BENCH_TENANTS ?? '1');
const rateMax = Number(process.env.BENCH_PEER_RATE_MAX ?? '1000000');
const rateWindowMs = Number(process.env.BENCH_PEER_RATE_WINDOW_MS ?? '1000');

const TOKEN_HEADER = 'x-acs-dingtalk-access-token';

const tokenAnswer = await request(new URL('/v1.0/oauth2/accessToken', upstreamUrl), {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ appKey: 'dingbenchfastify', appSecret: 'bench' }),
});
const token = ((await tokenAnswer.body.json()) as { accessToken: string }).accessToken;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const keyHashes = new Set(Array.from({ length: tenants }, (_, i) => sha256(benchApiKey(i))));

const app = fastify({ logger: false, keepAliveTimeout: 60_000, bodyLimit: 1_048_576 });
app.decorateRequest('apiKeyHash', '');

// The key first (a hook of the instance), then the limit (@fastify/rate-limit's hook on each
// route, which runs after the instance's hooks), keyed by the key it found.
app.addHook('onRequest', async (req, reply) => {
  const authorization = req.headers.authorization;
  const key = authorization !== undefined && /^bearer /i.test(authorization) ? authorization.slice(7).trim() : '';
  const hash = key === '' ? '' : sha256(key);
  if (!keyHashes.has(hash)) {
    return reply.code(401).send({ code: 'Unauthorized', message: key === '' ? 'an API key is required (Authorization: Bearer <key>)' : 'invalid API key' });
  }
  req.apiKeyHash = hash;
  return undefined;
});

await app.register(rateLimit, { global: true, max: rateMax, timeWindow: rateWindowMs, keyGenerator: (req) => req.apiKeyHash });

await app.register(httpProxy, {
  upstream: upstreamUrl,
  undici: { connections, pipelining: 1, keepAliveTimeout: 30_000 },
  replyOptions: {
    rewriteRequestHeaders: (_req, headers) => {
      delete headers.authorization;
      headers[TOKEN_HEADER] = token;
      return headers;
    },
  },
});

await app.listen({ host: '127.0.0.1', port: 0 });
process.send?.({ type: 'ready', port: (app.server.address() as AddressInfo).port });
process.on('disconnect', () => process.exit(0));
// A clean exit on SIGTERM, so a --cpu-prof profile gets written.
process.on('SIGTERM', () => process.exit(0));
