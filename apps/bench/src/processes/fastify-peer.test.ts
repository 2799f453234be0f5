/**
 * The fastify peer as the harness starts it (the built `dist/processes/fastify-peer.js`, forked,
 * `ready` over IPC), against an upstream in this process that records what reaches it: the
 * peer refuses a request without a valid API key before DingTalk sees it, forwards the rest as
 * the baseline does (with the DingTalk token it fetched, without the caller's key), and keeps
 * each key to its limit.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { benchApiKey } from '../gateway-config.js';
import { OPERATIONS } from '../load.js';

const TOKEN = 'fastify-peer-test-token';
const started: ChildProcess[] = [];

async function start(name: string, env: Record<string, string>): Promise<string> {
  const child = fork(fileURLToPath(new URL(`../../dist/processes/${name}.js`, import.meta.url)), [], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  started.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (message: { type?: string; port?: number }) => message?.type === 'ready' && resolve(message.port!));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return `http://127.0.0.1:${port}`;
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Every request the upstream got but the token fetches; those are in `tokenFetches`. */
let seen: Seen[] = [];
const tokenFetches: string[] = [];
let upstream: Server;
let baseline: string;
let peer: string;
let limitedPeer: string;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (req.url === '/v1.0/oauth2/accessToken') {
        tokenFetches.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accessToken: TOKEN, expireIn: 7200 }));
        return;
      }
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const answer = JSON.stringify({ method: req.method, url: req.url });
      res.writeHead(200, { 'content-type': 'application/json;charset=utf-8', 'x-acs-request-id': 'peer-test' }).end(answer);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const env = { BENCH_UPSTREAM_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, BENCH_UPSTREAM_CONNECTIONS: '4' };
  [baseline, peer, limitedPeer] = await Promise.all([
    start('baseline', env),
    start('fastify-peer', env),
    start('fastify-peer', { ...env, BENCH_TENANTS: '2', BENCH_PEER_RATE_MAX: '3', BENCH_PEER_RATE_WINDOW_MS: '60000' }),
  ]);
}, 20_000);

afterAll(async () => {
  for (const child of started) child.kill('SIGTERM');
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

beforeEach(() => {
  seen = [];
});

async function call(base: string, method: string, path: string, options: { authorization?: string; body?: string } = {}) {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'dtg-bench/0.1' };
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(base + path, { method, body: options.body, headers });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

const bearer = (key: string) => `Bearer ${key}`;

describe('the fastify peer', () => {
  it('fetched one DingTalk token at start, as the baseline does', () => {
    // The baseline's, the peer's and the limited peer's.
    expect(tokenFetches).toHaveLength(3);
    expect(tokenFetches.filter((body) => JSON.parse(body).appKey === 'dingbenchfastify')).toHaveLength(2);
  });

  it('answers 401 without a valid API key, and DingTalk sees nothing of it', async () => {
    const [get, post] = OPERATIONS;
    for (const authorization of [undefined, '', 'Bearer', 'Bearer ', bearer('dtg_not_a_key'), `Basic ${Buffer.from(`x:${benchApiKey(0)}`).toString('base64')}`]) {
      const answer = await call(peer, get!.method, get!.path, { authorization });
      expect(answer.status, `Authorization: ${authorization}`).toBe(401);
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'Unauthorized' });
    }
    expect((await call(peer, post!.method, post!.path, { body: post!.body })).status).toBe(401);
    // A key of a tenant this peer does not have (it was started with one).
    expect((await call(peer, get!.method, get!.path, { authorization: bearer(benchApiKey(1)) })).status).toBe(401);
    expect(seen).toEqual([]);
  });

  it('forwards what the baseline forwards, with the DingTalk token instead of the API key, and answers with what DingTalk answered', async () => {
    for (const operation of OPERATIONS) {
      const viaBaseline = await call(baseline, operation.method, operation.path, { authorization: bearer(benchApiKey(0)), body: operation.body });
      const viaPeer = await call(peer, operation.method, operation.path, { authorization: `bearer ${benchApiKey(0)}`, body: operation.body });
      expect(seen).toHaveLength(2);
      const [toBaseline, toPeer] = seen as [Seen, Seen];
      seen = [];
      expect(toPeer.headers['x-acs-dingtalk-access-token']).toBe(TOKEN);
      expect(toPeer.headers.authorization).toBeUndefined();
      expect({ ...toPeer, headers: undefined }).toEqual({ ...toBaseline, headers: undefined });
      // The same headers as the baseline's, but the caller's key (the baseline passes it on).
      const { authorization: _key, ...baselineHeaders } = toBaseline.headers;
      expect(toPeer.headers).toEqual(baselineHeaders);

      expect(viaPeer.status).toBe(200);
      expect(viaPeer.body).toBe(viaBaseline.body);
      expect(viaPeer.headers.get('content-type')).toBe('application/json;charset=utf-8');
      expect(viaPeer.headers.get('x-acs-request-id')).toBe('peer-test');
    }
  });

  it('keeps each API key to its limit, in memory: beyond it 429, not forwarded', async () => {
    const get = OPERATIONS[0]!;
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(limitedPeer, get.method, get.path, { authorization: bearer(benchApiKey(0)) })).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(seen).toHaveLength(3);
    // Another tenant's key has its own count.
    expect((await call(limitedPeer, get.method, get.path, { authorization: bearer(benchApiKey(1)) })).status).toBe(200);
    // A request without a key is refused for the key, not counted against anyone's limit.
    expect((await call(limitedPeer, get.method, get.path)).status).toBe(401);
    expect(seen).toHaveLength(4);
  });
});
