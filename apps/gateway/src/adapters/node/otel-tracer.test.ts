import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { createFetchUpstream } from '../../core/proxy/fetch-upstream.js';
import { mintApiKey } from './api-key.js';
import { startGateway } from './server.js';

interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: Array<{ key: string; value: Record<string, unknown> }> }

/** An OTLP/HTTP collector on loopback: keeps every span it is sent. */
let collector: Server;
const received: OtlpSpan[] = [];
beforeAll(async () => {
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += String(chunk)));
    req.on('end', () => {
      const sent = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
      for (const resource of sent.resourceSpans) for (const scope of resource.scopeSpans) received.push(...scope.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise((resolve) => collector.close(resolve)));

describe('OpenTelemetry spans over OTLP (observability.tracing)', () => {
  it("exports one span per request, a child of the caller's, with children for the limits, the token and the DingTalk call; traceresponse names that span", async () => {
    const key = mintApiKey();
    const json = (value: unknown) => new Response(JSON.stringify(value), { headers: { 'content-type': 'application/json' } });
    const dingtalk = async (request: Request) => (new URL(request.url).pathname === '/v1.0/oauth2/accessToken' ? json({ accessToken: 'token', expireIn: 7200 }) : json({ workspaces: [], nextToken: '' }));
    const config = configSchema.parse({
      server: { port: 0 },
      upstream: { baseUrl: 'https://dingtalk.invalid' },
      apps: { full: { type: 'internal', appKey: 'dingtrace', appSecretEnv: 'S' } },
      tenants: { team: { name: 'Team', app: 'full', apiKeys: [{ sha256: key.sha256 }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 100, burst: 100 } } },
      ledger: { file: join(mkdtempSync(join(tmpdir(), 'dtg-otel-')), 'ledger.json') },
      observability: { logLevel: 'silent', metrics: { enabled: false }, tracing: { otlpEndpoint: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces` } },
    });
    const upstream = createFetchUpstream({ baseUrl: config.upstream.baseUrl, fetch: dingtalk, responseTimeoutMs: 2_000, maxResponseBytes: 1 << 20 });
    const running = await startGateway({ config, env: { S: 'secret' }, logger: pino({ level: 'silent' }), upstream });
    const caller = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    const response = await fetch(`${running.url}/v2.0/wiki/workspaces?operatorId=u`, {
      headers: { authorization: `Bearer ${key.key}`, traceparent: `00-${caller.traceId}-${caller.spanId}-01` },
    });
    expect(response.status).toBe(200);
    const traceresponse = response.headers.get('traceresponse')!;
    await running.close(); // exports what is pending

    const ofTrace = received.filter((span) => span.traceId === caller.traceId);
    const request = ofTrace.find((span) => span.name === 'gateway.request')!;
    expect(request.parentSpanId).toBe(caller.spanId);
    expect(traceresponse).toBe(`00-${caller.traceId}-${request.spanId}-01`);
    const children = ofTrace.filter((span) => span.parentSpanId === request.spanId).map((span) => span.name).sort();
    expect(children).toEqual(['dingtalk.call', 'dingtalk.token', 'gateway.limits']);
    const status = request.attributes?.find((attribute) => attribute.key === 'http.response.status_code')?.value;
    expect(status).toEqual({ intValue: 200 });
    expect(JSON.stringify(received)).not.toContain(key.key);
  });
});
