import { Writable } from 'node:stream';
import type { OperationInfo } from '@dingtalk-gateway/spec-validator';
import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { GatewayEnv } from '../../context.js';
import { gatewayError } from '../../errors.js';
import { createPrometheusMetrics } from '../../../adapters/node/prometheus-metrics.js';
import type { Tenant } from '../../tenants.js';
import { everyRequest } from '../every-request.js';

const tenant: Tenant = { id: 'team', name: 'Team', appId: 'app', scopes: new Set(), rateLimit: { rate: 1, burst: 1 }, operationLimits: new Map(), account: { org: 'default', quota: 10_000, tenant: 'team', allocation: undefined, pool: 10_000 } };
const operation: OperationInfo = {
  operationId: 'getWorkspace',
  method: 'GET',
  pathTemplate: '/v2.0/wiki/workspaces/{workspaceId}',
  permission: 'Wiki.Workspace.Read',
  hasBody: false,
  bodyRequired: false,
  metered: true,
};

/**
 * The observation `everyRequest` makes (`requestObserver`), on a clock that advances by `stepMs`
 * per reading, with the log captured. Routes:
 * `/ok/:id` (proxied: tenant, operation, upstream timings), `/denied` (an early 401),
 * `/throws` (an Error), `/http-exception` (Hono's 418).
 */
function setup(stepMs = 12.3456) {
  let raw = '';
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _encoding, done) {
        raw += String(chunk);
        done();
      },
    }),
  );
  const metrics = createPrometheusMetrics();
  let clock = 0;
  const now = () => {
    const value = clock;
    clock += stepMs;
    return value;
  };
  // As the gateway's error handler: answer, do not print.
  const onError = (error: Error, c: Context<GatewayEnv>) => (error instanceof HTTPException ? error.getResponse() : c.json({ code: 'gateway.internalError' }, 500));
  const observed = everyRequest({ logger, metrics, now, generateId: () => 'r-1', onError });
  const app = new Hono<GatewayEnv>();
  app.get(
    '/ok/:id',
    observed((c) => {
      c.set('tenant', tenant);
      c.set('operation', operation);
      Object.assign(c.get('log'), { upstreamMs: 3.14159, upstreamAttempts: 2, tokenCached: true });
      return c.json({ ok: true });
    }),
  );
  app.get(
    '/denied',
    observed((c) => gatewayError(c, 401, 'gateway.auth.invalidKey', 'the API key is not valid')),
  );
  app.get(
    '/throws',
    observed((c) => {
      c.set('tenant', tenant);
      throw new Error('boom');
    }),
  );
  app.get(
    '/http-exception',
    observed(() => {
      throw new HTTPException(418, { message: 'teapot' });
    }),
  );
  app.notFound(observed((c) => c.text('404 Not Found', 404)));
  return {
    app,
    metrics,
    raw: () => raw,
    lines: () =>
      raw
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('requestObserver, as everyRequest runs it', () => {
  it('writes one access-log line with the request fields, rounded timings and what the request path recorded', async () => {
    const h = setup();
    const response = await h.app.request('/ok/ws-1');
    expect(response.status).toBe(200);
    const lines = h.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'request',
      level: 30,
      requestId: 'r-1',
      tenant: 'team',
      operation: 'getWorkspace',
      method: 'GET',
      route: '/v2.0/wiki/workspaces/{workspaceId}',
      status: 200,
      latencyMs: 12.35,
      upstreamMs: 3.14,
      upstreamAttempts: 2,
      tokenCached: true,
    });
    expect(lines[0]).not.toHaveProperty('errorCode');
  });

  it('logs requests answered early (401) with "-" for what was never known, and the error code', async () => {
    const h = setup();
    expect((await h.app.request('/denied')).status).toBe(401);
    const [line] = h.lines();
    expect(line).toMatchObject({ requestId: 'r-1', tenant: '-', operation: '-', route: '-', method: 'GET', status: 401, errorCode: 'gateway.auth.invalidKey' });
    expect(h.lines()).toHaveLength(1);
  });

  it('logs a request whose handler threw, with the status the error handler answered', async () => {
    const h = setup();
    expect((await h.app.request('/throws')).status).toBe(500);
    expect((await h.app.request('/http-exception')).status).toBe(418);
    const lines = h.lines();
    expect(lines.map((l) => [l.status, l.tenant])).toEqual([
      [500, 'team'],
      [418, '-'],
    ]);
  });

  it('logs requests no route answers (404)', async () => {
    const h = setup();
    expect((await h.app.request('/nowhere')).status).toBe(404);
    expect(h.lines()).toMatchObject([{ status: 404, tenant: '-', operation: '-' }]);
  });

  it('counts requests by tenant, operation and status, and observes their duration by operation', async () => {
    const h = setup(250);
    await h.app.request('/ok/a');
    await h.app.request('/ok/b');
    await h.app.request('/denied');
    const requests = (await h.metrics.requests.get()).values.map((v) => [v.labels, v.value]);
    expect(requests).toEqual(
      expect.arrayContaining([
        [{ tenant: 'team', operation: 'getWorkspace', status: '200' }, 2],
        [{ tenant: '-', operation: '-', status: '401' }, 1],
      ]),
    );
    expect(requests).toHaveLength(2);
    const duration = (await h.metrics.requestDuration.get()).values;
    const sum = (operationLabel: string) => duration.find((v) => v.metricName === 'dtg_request_duration_seconds_sum' && v.labels.operation === operationLabel)?.value;
    const count = (operationLabel: string) => duration.find((v) => v.metricName === 'dtg_request_duration_seconds_count' && v.labels.operation === operationLabel)?.value;
    // Each request takes one clock step (250 ms), recorded in seconds.
    expect(sum('getWorkspace')).toBeCloseTo(0.5, 9);
    expect(count('getWorkspace')).toBe(2);
    expect(sum('-')).toBeCloseTo(0.25, 9);
  });

  it('never logs a header, the query string, the path, or a body', async () => {
    const h = setup();
    await h.app.request('/ok/ws-secret-id?access_token=s3cr3t-query-value&operatorId=u', {
      headers: { authorization: 'Bearer dtg_s3cr3t-key', cookie: 'session=s3cr3t-cookie', 'x-acs-dingtalk-access-token': 's3cr3t-token', 'user-agent': 'agent-s3cr3t' },
    });
    const raw = h.raw();
    expect(h.lines()).toHaveLength(1);
    for (const secret of ['s3cr3t', 'access_token', 'operatorId', 'ws-secret-id', 'dtg_', 'session', 'agent-']) expect(raw).not.toContain(secret);
    const fields = Object.keys(h.lines()[0]!).sort();
    expect(fields).toEqual(
      ['hostname', 'latencyMs', 'level', 'method', 'msg', 'operation', 'pid', 'requestId', 'route', 'spanId', 'status', 'tenant', 'time', 'tokenCached', 'traceId', 'upstreamAttempts', 'upstreamMs'].sort(),
    );
  });

  it("logs the request's trace: the caller's trace id, or a new one", async () => {
    const h = setup();
    await h.app.request('/ok/a', { headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
    await h.app.request('/ok/a');
    const [continued, started] = h.lines();
    expect(continued).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(started!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(started!.traceId).not.toBe(continued!.traceId);
  });
});
