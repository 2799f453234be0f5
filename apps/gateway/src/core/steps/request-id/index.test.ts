import { type Context, Hono } from 'hono';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { GatewayEnv } from '../../context.js';
import { createPrometheusMetrics } from '../../../adapters/node/prometheus-metrics.js';
import { everyRequest } from '../every-request.js';
import { REQUEST_ID_HEADER } from './index.js';

type ErrorHandler = (error: Error, c: Context<GatewayEnv>) => Response;

/** The id `everyRequest` chose (`assignRequestId`), as the route sees it and as the answer echoes it. */
function appWith(generate?: () => string, onError: ErrorHandler = (_error, c) => c.text('Internal Server Error', 500)) {
  const observed = everyRequest({ logger: pino({ level: 'silent' }), metrics: createPrometheusMetrics(), ...(generate ? { generateId: generate } : {}), onError });
  const app = new Hono<GatewayEnv>();
  app.get('/', observed((c) => c.json({ seen: c.get('requestId') })));
  app.get(
    '/fail',
    observed(() => {
      throw new Error('boom');
    }),
  );
  return app;
}

async function send(app: Hono<GatewayEnv>, offered?: string, path = '/') {
  const headers = new Headers();
  if (offered !== undefined) headers.set(REQUEST_ID_HEADER, offered);
  const response = await app.request(path, { headers });
  return { response, header: response.headers.get(REQUEST_ID_HEADER) };
}

describe('the request id, as everyRequest assigns it', () => {
  it.each(['caller-42', 'a', 'A.b_c:d-9', 'x'.repeat(128), '4b3c2d1e-0f9a-4b8c-9d7e-6f5a4b3c2d1e'])('keeps the sane id %j', async (offered) => {
    const generate = vi.fn(() => 'generated');
    const { response, header } = await send(appWith(generate), offered);
    expect(header).toBe(offered);
    expect(await response.json()).toEqual({ seen: offered });
    expect(generate).not.toHaveBeenCalled();
  });

  it.each([
    ['too long', 'x'.repeat(129)],
    ['with spaces', 'bad id'],
    ['with a tab inside', 'a\tb'],
    ['with a slash', 'a/b'],
    ['with quotes', '"quoted"'],
    ['with braces (log injection)', '{"level":60}'],
    ['non-ASCII', 'idé'],
    ['empty', ''],
  ])('replaces an id %s', async (_what, offered) => {
    const { response, header } = await send(appWith(() => 'generated-1'), offered);
    expect(header).toBe('generated-1');
    expect(await response.json()).toEqual({ seen: 'generated-1' });
  });

  it('replaces an id carrying CR/LF (header injection)', async () => {
    // `Headers` refuses CR/LF itself, so hand the middleware a request whose headers do not.
    const app = appWith(() => 'generated-2');
    const request = new Request('http://gateway.test/');
    Object.defineProperty(request, 'headers', { value: { get: (name: string) => (name === REQUEST_ID_HEADER ? 'abc\r\nx-evil: 1' : null) } });
    const response = await app.fetch(request);
    expect(response.headers.get(REQUEST_ID_HEADER)).toBe('generated-2');
    expect(response.headers.get('x-evil')).toBeNull();
  });

  it('generates a random UUID by default, a new one per request', async () => {
    const app = appWith();
    const first = (await send(app)).header;
    const second = (await send(app)).header;
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(second).toMatch(/^[0-9a-f-]{36}$/);
    expect(first).not.toBe(second);
  });

  it('echoes the id on answers made by the error handler too', async () => {
    const app = appWith(() => 'generated-3', (_error, c) => c.json({ requestid: c.get('requestId') }, 500));
    const { response, header } = await send(app, 'mine', '/fail');
    expect(response.status).toBe(500);
    expect(header).toBe('mine');
    expect(await response.json()).toEqual({ requestid: 'mine' });
  });
});
