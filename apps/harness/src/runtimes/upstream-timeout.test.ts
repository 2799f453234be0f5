/**
 * DingTalk stops answering, on every runtime the gateway runs on as a process (Node, Bun, Deno,
 * and Workers on workerd): no answer at all, or an answer whose body stops half-way. The gateway
 * gives up at `upstream.responseTimeoutMs` and answers `504 gateway.upstream.timeout` in
 * DingTalk's error shape. On Bun, Deno and workerd the exchange is the runtime's own `fetch`,
 * ended by its abort signal (no race of our own on top): this is what shows that the signal ends
 * both the wait for the headers and the reading of the body.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mintApiKey } from '@dingtalk-gateway/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Runtime, startGatewayProcess, startWorkerdGateway } from '../processes/index.js';

const key = mintApiKey();
const RESPONSE_TIMEOUT_MS = 400;

/** A DingTalk that hands out tokens, then never answers `/v2.0/wiki/workspaces`, and stops the body of one Knowledge Base half-way. */
async function stallingDingTalk() {
  const held: ServerResponse[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    if (path === '/v1.0/oauth2/accessToken') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accessToken: 'stall-token', expireIn: 7200 }));
    } else if (path.startsWith('/v2.0/wiki/workspaces/')) {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"workspace":{');
      held.push(response);
    } else {
      held.push(response);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The metrics listener is Node's, Bun's and Deno's (the process helper reads it); workerd has none. */
const config = (upstreamUrl: string, metricsListener: boolean) => ({
  server: { port: 0, shutdownGraceMs: 1_000 },
  upstream: { baseUrl: upstreamUrl, responseTimeoutMs: RESPONSE_TIMEOUT_MS, getRetries: 0 },
  apps: { app: { type: 'internal', appKey: 'dingstall', appSecretEnv: 'APP_SECRET' } },
  tenants: { t: { name: 'T', app: 'app', apiKeys: [{ sha256: key.sha256 }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 100, burst: 100 } } },
  observability: { logLevel: 'silent', ...(metricsListener ? { metrics: { port: 0 } } : {}) },
});

/** The gateway on each runtime; on Workers, the bundle served by workerd. */
async function startOn(runtime: Runtime | 'workers', upstreamUrl: string): Promise<{ url: string; stop(): Promise<unknown> }> {
  const env = { APP_SECRET: 'stall-secret' };
  if (runtime === 'workers') return startWorkerdGateway({ config: config(upstreamUrl, false), env });
  return startGatewayProcess({ runtime, config: JSON.stringify(config(upstreamUrl, true)), env });
}

describe.each<Runtime | 'workers'>(['node', 'bun', 'deno', 'workers'])('DingTalk stops answering, the gateway on %s', (runtime) => {
  let dingtalk: Awaited<ReturnType<typeof stallingDingTalk>>;
  let gateway: Awaited<ReturnType<typeof startOn>>;

  beforeAll(async () => {
    dingtalk = await stallingDingTalk();
    gateway = await startOn(runtime, dingtalk.url);
  });
  afterAll(async () => {
    await gateway?.stop();
    await dingtalk?.close();
  });

  const call = async (path: string) => {
    const started = performance.now();
    const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key.key}` }, signal: AbortSignal.timeout(10_000) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, ms: performance.now() - started };
  };

  it('answers 504 gateway.upstream.timeout when no answer comes', async () => {
    const { status, body, ms } = await call('/v2.0/wiki/workspaces?operatorId=u1');
    expect(status).toBe(504);
    expect(body).toMatchObject({ code: 'gateway.upstream.timeout', requestid: expect.any(String) });
    expect(ms).toBeGreaterThanOrEqual(RESPONSE_TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(RESPONSE_TIMEOUT_MS + 3_000);
  });

  it('answers 504 gateway.upstream.timeout when the body stops half-way', async () => {
    const { status, body, ms } = await call('/v2.0/wiki/workspaces/ws1?operatorId=u1');
    expect(status).toBe(504);
    expect(body).toMatchObject({ code: 'gateway.upstream.timeout' });
    expect(ms).toBeLessThan(RESPONSE_TIMEOUT_MS + 3_000);
  });
});
