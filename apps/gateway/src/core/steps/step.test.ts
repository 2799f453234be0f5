import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import { addAnswerHeader, answer } from '../answer.js';
import type { GatewayEnv } from '../context.js';
import { type Step, runSteps, stepMiddleware } from './step.js';

const goOn: Step = () => undefined;
const refuse =
  (status: number): Step =>
  (c) =>
    answer(c, `refused by ${status}`, status);

describe('runSteps', () => {
  it('runs every step in order, then the last handler', async () => {
    const seen: string[] = [];
    const app = new Hono<GatewayEnv>();
    app.get(
      '*',
      runSteps(
        [
          () => {
            seen.push('sync');
            return undefined;
          },
          async () => {
            seen.push('async');
            return undefined;
          },
        ],
        (c) => {
          seen.push('last');
          return c.text('done');
        },
      ),
    );
    const response = await app.request('/x');
    expect(await response.text()).toBe('done');
    expect(seen).toEqual(['sync', 'async', 'last']);
  });

  it('stops at the first step that answers, sync or async', async () => {
    const later = vi.fn(goOn);
    const last = vi.fn();
    for (const step of [refuse(403), async (c: Parameters<Step>[0]) => refuse(429)(c)]) {
      const app = new Hono<GatewayEnv>();
      app.get('*', runSteps([goOn, step as Step, later], last));
      const response = await app.request('/x');
      expect([403, 429]).toContain(response.status);
    }
    expect(later).not.toHaveBeenCalled();
    expect(last).not.toHaveBeenCalled();
  });

  it("passes a step's error to the app's error handler", async () => {
    const app = new Hono<GatewayEnv>();
    app.get('*', runSteps([async () => Promise.reject(new Error('boom'))], (c) => c.text('never')));
    app.onError((error, c) => c.text(`handled ${error.message}`, 500));
    const response = await app.request('/x');
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('handled boom');
  });
});

describe('stepMiddleware', () => {
  it("answers with the step's answer, or lets the chain go on and adds the step's answer headers", async () => {
    const app = new Hono<GatewayEnv>();
    app.use(
      '*',
      stepMiddleware((c) => {
        if (c.req.path === '/refused') return answer(c, 'no', 401);
        addAnswerHeader(c, 'ratelimit', 'limit=1, remaining=0, reset=1');
        return undefined;
      }),
    );
    app.get('*', (c) => c.text('route'));
    const refused = await app.request('/refused');
    expect([refused.status, await refused.text()]).toEqual([401, 'no']);
    const passed = await app.request('/open');
    expect([passed.status, await passed.text(), passed.headers.get('ratelimit')]).toEqual([200, 'route', 'limit=1, remaining=0, reset=1']);
  });
});
