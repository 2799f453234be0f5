import { Writable } from 'node:stream';
import { Hono } from 'hono';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { GatewayEnv } from '../context.js';
import { answerJson, gatewayError } from '../errors.js';
import { createPrometheusMetrics } from '../../adapters/node/prometheus-metrics.js';
import { everyRequest } from './every-request.js';

/**
 * An app whose routes each run inside `everyRequest`, with the access log captured. Routes:
 * `/ok` (answer()), `/plain` (Hono's c.text, not built by answer()), `/denied` (an early 401),
 * `/throws`, `/rejects` (an Error, thrown or as a rejection), `/throws-string` (not an Error).
 * The wrapper's error handler answers 500 `gateway.internalError`, or fails itself for
 * `/handler-fails`; the app's own onError (Hono's) answers 599 for what escapes the wrapper.
 */
function setup() {
  let raw = '';
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _encoding, done) => ((raw += String(chunk)), done()) }));
  const metrics = createPrometheusMetrics();
  let ids = 0;
  const observed = everyRequest({
    logger,
    metrics,
    generateId: () => `gen-${++ids}`,
    onError: (error, c) => {
      if (c.req.path === '/handler-fails') throw new Error(`the error handler failed too: ${error.message}`);
      return gatewayError(c, 500, 'gateway.internalError', 'internal error; report it with the request id');
    },
  });
  const app = new Hono<GatewayEnv>();
  app.get('/ok', observed((c) => answerJson(c, { seen: c.get('requestId') }, 200)));
  app.get('/plain', observed((c) => c.text('plain')));
  app.get('/denied', observed((c) => gatewayError(c, 401, 'gateway.auth.invalidKey', 'the API key is not valid')));
  const fail = (c: { req: { path: string } }) => {
    throw new Error(`boom at ${c.req.path}`);
  };
  app.get('/throws', observed(fail));
  app.get('/handler-fails', observed(fail));
  app.get('/rejects', observed(async () => Promise.reject(new Error('async boom'))));
  app.get(
    '/throws-string',
    observed(() => {
      throw 'not an error';
    }),
  );
  app.onError((_error, c) => c.json({ escaped: true }, 599 as 500));
  const lines = () =>
    raw
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { app, metrics, lines };
}

describe('everyRequest', () => {
  it('gives the request its id (the caller\'s when sane), echoes it, and logs one line', async () => {
    const h = setup();
    const mine = await h.app.request('/ok', { headers: { 'x-request-id': 'caller-7' } });
    expect(mine.headers.get('x-request-id')).toBe('caller-7');
    expect(await mine.json()).toEqual({ seen: 'caller-7' });
    const generated = await h.app.request('/ok', { headers: { 'x-request-id': 'not sane' } });
    expect(generated.headers.get('x-request-id')).toBe('gen-1');
    expect(h.lines()).toMatchObject([
      { msg: 'request', requestId: 'caller-7', status: 200, method: 'GET', tenant: '-', operation: '-' },
      { msg: 'request', requestId: 'gen-1', status: 200 },
    ]);
  });

  it('puts the id on answers not built by answer() too', async () => {
    const h = setup();
    const response = await h.app.request('/plain');
    expect(await response.text()).toBe('plain');
    expect(response.headers.get('x-request-id')).toBe('gen-1');
    expect(h.lines()).toMatchObject([{ requestId: 'gen-1', status: 200 }]);
  });

  it('logs an early refusal with its error code', async () => {
    const h = setup();
    expect((await h.app.request('/denied')).status).toBe(401);
    expect(h.lines()).toMatchObject([{ status: 401, errorCode: 'gateway.auth.invalidKey' }]);
  });

  it.each(['/throws', '/rejects'])('answers an Error from %s with the error handler, in DingTalk\'s shape, and logs that answer', async (path) => {
    const h = setup();
    const response = await h.app.request(path, { headers: { 'x-request-id': 'trace-me' } });
    expect(response.status).toBe(500);
    expect(response.headers.get('x-request-id')).toBe('trace-me');
    expect(await response.json()).toMatchObject({ code: 'gateway.internalError', requestid: 'trace-me' });
    expect(h.lines()).toMatchObject([{ requestId: 'trace-me', status: 500, errorCode: 'gateway.internalError' }]);
    expect(h.lines()).toHaveLength(1);
  });

  it('logs a request as 500 once when what was thrown escapes it (the error handler failing, a non-Error value)', async () => {
    const h = setup();
    expect((await h.app.request('/handler-fails')).status).toBe(599);
    // Hono rethrows a non-Error value to its caller (the Node adapter answers 500).
    let thrown: unknown;
    try {
      await h.app.request('/throws-string');
    } catch (value) {
      thrown = value;
    }
    expect(thrown).toBe('not an error');
    expect(h.lines().map((line) => line.status)).toEqual([500, 500]);
    const requests = (await h.metrics.requests.get()).values.map((v) => [v.labels.status, v.value]);
    expect(requests).toEqual([['500', 2]]);
  });
});
