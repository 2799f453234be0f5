import { type Context, Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { addAnswerHeader, answer, applyAnswerHeaders } from './answer.js';
import type { GatewayEnv } from './context.js';

/** An app whose middleware records answer headers, then runs `route`. */
function appWith(route: (c: Context<GatewayEnv>) => Response) {
  const app = new Hono<GatewayEnv>();
  app.use('*', async (c, next) => {
    addAnswerHeader(c, 'x-request-id', 'r-1');
    addAnswerHeader(c, 'ratelimit', 'limit=10, remaining=9, reset=1');
    await next();
    applyAnswerHeaders(c);
  });
  app.get('/', route);
  return app;
}

describe('answer', () => {
  it("carries the request's answer headers, then its own", async () => {
    const response = await appWith((c) => answer(c, 'ok', 201, { 'content-type': 'text/plain' })).request('/');
    expect(response.status).toBe(201);
    expect(await response.text()).toBe('ok');
    expect(Object.fromEntries(response.headers)).toEqual({
      'x-request-id': 'r-1',
      ratelimit: 'limit=10, remaining=9, reset=1',
      'content-type': 'text/plain',
    });
  });

  it('keeps both values of a header named twice, as Headers.append does', async () => {
    const response = await appWith((c) => answer(c, null, 200, { 'x-request-id': 'upstream-7' })).request('/');
    expect(response.headers.get('x-request-id')).toBe('r-1, upstream-7');
  });

  it('keeps repeated set-cookie headers apart', async () => {
    const response = await appWith((c) => answer(c, null, 204, { 'set-cookie': ['a=1', 'b=2'] })).request('/');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(response.headers.get('x-request-id')).toBe('r-1');
  });

  it('answers without any recorded header too', async () => {
    const app = new Hono<GatewayEnv>();
    app.get('/', (c) => answer(c, '{}', 200, { 'content-type': 'application/json' }));
    const response = await app.request('/');
    expect(Object.fromEntries(response.headers)).toEqual({ 'content-type': 'application/json' });
  });
});

describe('applyAnswerHeaders', () => {
  it('adds the recorded headers to an answer made without answer(), keeping its own values', async () => {
    const response = await appWith((c) => c.text('plain', 200, { ratelimit: 'route-set' })).request('/');
    expect(await response.text()).toBe('plain');
    expect(response.headers.get('x-request-id')).toBe('r-1');
    expect(response.headers.get('ratelimit')).toBe('route-set');
  });

  it('adds nothing to an answer made by answer() (it has them already)', async () => {
    const response = await appWith((c) => answer(c, 'x', 200, { 'x-request-id': 'upstream-7' })).request('/');
    expect(response.headers.get('x-request-id')).toBe('r-1, upstream-7');
  });
});
