/**
 * The admin API under `/__sandbox/` (only when the sandbox is created with `admin: true` or
 * `SANDBOX_ADMIN=1`): reset, counters, faults, token revocation and lifetime, the QPS limit, the
 * monthly call quota, the per-IP window, the clock, and a look at the state. JSON in and out; bad input is `400 {code: 'sandbox.badRequest', ...}`.
 *
 * ```sh
 * curl -X PUT localhost:9100/__sandbox/faults -d '{"listWorkspaces":{"error":{"status":500,"code":"systemError","times":1}}}'
 * curl localhost:9100/__sandbox/counters
 * ```
 */
import { Hono } from 'hono';
import type { Sandbox } from '../app.js';
import { FaultConfigError } from '../faults.js';
import type { SandboxEnv } from '../platform/env.js';
import { json } from '../platform/errors.js';

export const ADMIN_PREFIX = '/__sandbox';

class AdminInputError extends Error {}

const ENDPOINTS = [
  'POST   /__sandbox/reset                      back to the seed: state, tokens, counters, faults, settings',
  'GET    /__sandbox/counters                   calls per operation, per app, per status; tokens issued',
  'DELETE /__sandbox/counters                   zero the counters',
  'GET    /__sandbox/faults                     the faults in force',
  'PUT    /__sandbox/faults                     set faults per operationId (or *): latencyMs, error, dropConnection',
  'DELETE /__sandbox/faults[/:operationId]      clear all faults, or one operation\'s',
  'POST   /__sandbox/apps/:appKey/revoke-tokens invalidate every token of an app or suite',
  'GET    /__sandbox/token-lifetime             the lifetime of newly issued tokens',
  'PUT    /__sandbox/token-lifetime             {"seconds": 3}',
  'GET    /__sandbox/qps-limit                  calls per app, per API, per second',
  'PUT    /__sandbox/qps-limit                  {"limit": 5}',
  'GET    /__sandbox/quota                      monthly call quotas (default and per corpId) and each org\'s calls this month',
  'PUT    /__sandbox/quota                      {"monthlyCallQuota": 200} for every org, or with "corpId" for one',
  'GET    /__sandbox/ip-window                  the per-IP window and the IPs banned now',
  'PUT    /__sandbox/ip-window                  {"limit": 100, "windowMs": 20000, "banMs": 300000, "answer": "json"|"html"}',
  'PUT    /__sandbox/clock                      {"offsetMs": 86400000}: move the clock (0: back to real time)',
  'GET    /__sandbox/state                      orgs, Knowledge Bases, spaces, active tokens',
];

/** Mounts the admin API on the sandbox app under {@link ADMIN_PREFIX}. */
export function mountAdminApi(app: Hono<SandboxEnv>, sandbox: Sandbox): void {
  app.route(ADMIN_PREFIX, adminApi(sandbox));
  // The index answers with and without the trailing slash (a sub-app's '/' is the prefix alone).
  app.get(`${ADMIN_PREFIX}/`, (c) => json(c, { endpoints: ENDPOINTS }));
}

function adminApi(sandbox: Sandbox): Hono<SandboxEnv> {
  const admin = new Hono<SandboxEnv>();

  const body = async (c: { req: { text(): Promise<string> } }): Promise<unknown> => {
    const text = await c.req.text();
    try {
      return text ? JSON.parse(text) : undefined;
    } catch {
      throw new AdminInputError('the body must be JSON');
    }
  };
  const positive = (value: unknown, field: string): number => {
    const n = (value as Record<string, unknown> | undefined)?.[field];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new AdminInputError(`expected {"${field}": <positive integer>}`);
    return n;
  };

  admin.onError((error, c) => {
    if (error instanceof AdminInputError || error instanceof FaultConfigError) {
      return json(c, { code: 'sandbox.badRequest', message: error.message, requestid: c.get('requestId') }, 400);
    }
    throw error;
  });

  admin.get('/', (c) => json(c, { endpoints: ENDPOINTS }));

  admin.post('/reset', (c) => {
    sandbox.reset();
    return json(c, { reset: true });
  });

  admin.get('/counters', (c) => json(c, sandbox.counters.snapshot()));
  admin.delete('/counters', (c) => {
    sandbox.counters.reset();
    return json(c, sandbox.counters.snapshot());
  });

  admin.get('/faults', (c) => json(c, sandbox.faults.get()));
  admin.put('/faults', async (c) => {
    sandbox.faults.set(await body(c));
    return json(c, sandbox.faults.get());
  });
  admin.delete('/faults', (c) => {
    sandbox.faults.clear();
    return json(c, sandbox.faults.get());
  });
  admin.delete('/faults/:operationId', (c) => {
    sandbox.faults.clear(c.req.param('operationId'));
    return json(c, sandbox.faults.get());
  });

  admin.post('/apps/:appKey/revoke-tokens', (c) => {
    const appKey = c.req.param('appKey');
    if (!sandbox.state.apps.has(appKey) && !sandbox.state.suites.has(appKey)) {
      return json(c, { code: 'sandbox.notFound', message: `no app or suite with key ${appKey}`, requestid: c.get('requestId') }, 404);
    }
    return json(c, { appKey, revoked: sandbox.revokeTokens(appKey) });
  });

  admin.get('/token-lifetime', (c) => json(c, { seconds: sandbox.settings.tokenLifetimeSeconds }));
  admin.put('/token-lifetime', async (c) => {
    sandbox.setTokenLifetime(positive(await body(c), 'seconds'));
    return json(c, { seconds: sandbox.settings.tokenLifetimeSeconds });
  });

  admin.get('/qps-limit', (c) => json(c, { limit: sandbox.qps.limit }));
  admin.put('/qps-limit', async (c) => {
    sandbox.qps.limit = positive(await body(c), 'limit');
    return json(c, { limit: sandbox.qps.limit });
  });

  const quotaView = () => ({
    ...sandbox.quota.quotas(),
    used: Object.fromEntries([...sandbox.state.orgs.keys()].map((corpId) => [corpId, sandbox.quota.used(corpId)])),
  });
  admin.get('/quota', (c) => json(c, quotaView()));
  admin.put('/quota', async (c) => {
    const input = (await body(c)) as { monthlyCallQuota?: unknown; corpId?: unknown } | undefined;
    const quota = input?.monthlyCallQuota;
    if (typeof quota !== 'number' || !Number.isInteger(quota) || quota < 0) throw new AdminInputError('expected {"monthlyCallQuota": <whole number>, "corpId"?: <corpId>}');
    if (input?.corpId !== undefined && (typeof input.corpId !== 'string' || !sandbox.state.orgs.has(input.corpId))) throw new AdminInputError(`no org with corpId ${JSON.stringify(input.corpId)}`);
    sandbox.quota.setQuota(quota, input?.corpId as string | undefined);
    return json(c, quotaView());
  });

  admin.get('/ip-window', (c) => json(c, { ...sandbox.ipWindow.settings, bannedUntil: sandbox.ipWindow.bans() }));
  admin.put('/ip-window', async (c) => {
    const input = (await body(c)) as Record<string, unknown> | undefined;
    const settings = { ...sandbox.ipWindow.settings };
    for (const field of ['limit', 'windowMs', 'banMs'] as const) if (input?.[field] !== undefined) settings[field] = positive(input, field);
    if (input?.answer !== undefined) {
      if (input.answer !== 'json' && input.answer !== 'html') throw new AdminInputError('expected "answer": "json" or "html"');
      settings.answer = input.answer;
    }
    sandbox.ipWindow.reset(settings);
    return json(c, { ...sandbox.ipWindow.settings, bannedUntil: sandbox.ipWindow.bans() });
  });

  admin.put('/clock', async (c) => {
    const offset = ((await body(c)) as { offsetMs?: unknown } | undefined)?.offsetMs;
    if (typeof offset !== 'number' || !Number.isFinite(offset)) throw new AdminInputError('expected {"offsetMs": <milliseconds>}');
    sandbox.setClockOffset(offset);
    return json(c, { offsetMs: offset });
  });

  admin.get('/state', (c) => json(c, { ...sandbox.state.summary(), activeTokens: sandbox.tokens.activeByApp() }));

  return admin;
}
