import { describe, expect, it } from 'vitest';
import { createSandbox } from '../app.js';
import { seeded } from '../seed.js';
import { call, expectError, manualClock, sampleCalls, tokenFor } from '../testing/helpers.js';
import { QpsLimiter } from './qps-limiter.js';

describe('QpsLimiter', () => {
  it('allows `limit` calls per key per clock second', () => {
    const clock = manualClock(1_000_000);
    const limiter = new QpsLimiter({ limit: 2, now: clock.now });
    expect([limiter.take('a', 'x'), limiter.take('a', 'x'), limiter.take('a', 'x')]).toEqual([true, true, false]);
    expect(limiter.take('a', 'y')).toBe(true);
    expect(limiter.take('b', 'x')).toBe(true);
    clock.advance(999);
    expect(limiter.take('a', 'x')).toBe(false);
    clock.advance(1);
    expect(limiter.take('a', 'x')).toBe(true);
  });
});

describe('the per-app, per-API QPS limit', () => {
  const list = sampleCalls().listWorkspaces;

  it('answers the 21st call in a second with 403 QpsLimitForAppkeyAndApi (default 20)', async () => {
    const clock = manualClock(Date.parse('2025-06-02T08:00:00.000Z'));
    const sandbox = createSandbox({ now: clock.now });
    const token = await tokenFor(sandbox);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await call(sandbox, list.method, list.path, { ...list.options, token })).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const refused = await call(sandbox, list.method, list.path, { ...list.options, token });
    expectError(refused, 403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi');

    // another API of the same app, and the same API of another app, have their own budgets
    const get = sampleCalls().getWorkspace;
    expect((await call(sandbox, get.method, get.path, { ...get.options, token })).status).toBe(200);
    const other = await tokenFor(sandbox, seeded.apps.readOnly);
    expect((await call(sandbox, list.method, list.path, { ...list.options, token: other })).status).toBe(200);

    clock.advance(1000);
    expect((await call(sandbox, list.method, list.path, { ...list.options, token })).status).toBe(200);
  });

  it('is configurable, and counts calls before their parameters are checked', async () => {
    const sandbox = createSandbox({ qpsLimit: 2, now: manualClock().now });
    const token = await tokenFor(sandbox);
    expectError(await call(sandbox, list.method, list.path, { token, query: { maxResults: 99 } }), 400, 'paramError');
    expect((await call(sandbox, list.method, list.path, { ...list.options, token })).status).toBe(200);
    expectError(await call(sandbox, list.method, list.path, { ...list.options, token }), 403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi');
  });
});
