/**
 * OpenTelemetry spans from the gateway as a process on Node, Bun and Deno: each exports the
 * request's span (a child of the caller's) and its children to an OTLP/HTTP collector, and the
 * answer's `traceresponse` names that span.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RunningSandbox, startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mintApiKey } from '@dingtalk-gateway/gateway';
import { type Runtime, startGatewayProcess } from '../processes/index.js';
import { sandboxConfigHead } from '../sandbox-config.js';

vi.setConfig({ testTimeout: 30_000 });

interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string }
const received: OtlpSpan[] = [];
let collector: Server;
let sandbox: RunningSandbox;
const key = mintApiKey();
const caller = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

beforeAll(async () => {
  sandbox = await startSandbox({ qpsLimit: 100_000 });
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += String(chunk)));
    req.on('end', () => {
      for (const resource of (JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> }).resourceSpans) {
        for (const scope of resource.scopeSpans) received.push(...scope.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => collector.close(resolve));
  await sandbox.close();
});

describe.each<Runtime>(['node', 'bun', 'deno'])('spans over OTLP on %s', (runtime) => {
  it("exports the request's span, a child of the caller's, with the limits, the token and the DingTalk call as its children", async () => {
    const config = [
      ...sandboxConfigHead(sandbox.url),
      `  team: { name: Team, app: full, apiKeys: [{ sha256: "${key.sha256}" }], scopes: [Wiki.Workspace.Read], rateLimit: { rate: 100, burst: 100 } }`,
      `observability: { logLevel: warn, metrics: { port: 0 }, tracing: { otlpEndpoint: 'http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces', serviceName: 'gateway-${runtime}' } }`,
    ].join('\n');
    const gateway = await startGatewayProcess({ runtime, config, env: { FULL_SECRET: seeded.apps.full.appSecret } });
    let traceresponse: string | null;
    try {
      const response = await fetch(`${gateway.url}/v2.0/wiki/workspaces?operatorId=${seeded.users.alice.unionId}`, {
        headers: { authorization: `Bearer ${key.key}`, traceparent: `00-${caller.traceId}-${caller.spanId}-01` },
      });
      expect(response.status).toBe(200);
      traceresponse = response.headers.get('traceresponse');
    } finally {
      expect(await gateway.stop()).toBe(0); // the spans still pending are exported at shutdown
    }
    const spanId = traceresponse!.split('-')[2];
    const request = received.find((span) => span.traceId === caller.traceId && span.spanId === spanId);
    expect(request).toMatchObject({ name: 'gateway.request', parentSpanId: caller.spanId });
    const children = received.filter((span) => span.parentSpanId === spanId).map((span) => span.name).sort();
    expect(children).toEqual(['dingtalk.call', 'dingtalk.token', 'gateway.limits']);
  });
});
