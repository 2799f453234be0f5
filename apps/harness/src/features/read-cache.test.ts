/**
 * The read cache through the whole request path, in process, against the sandbox: its call
 * counters say how many DingTalk calls were made.
 */
import { monthOf } from '@dingtalk-gateway/call-quota';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Harness, type HarnessOptions, SANDBOX_ORIGIN, createHarness, json, operatorId } from '../in-process.js';

const handbook = seeded.workspaces.handbook.workspaceId;
const roadmap = seeded.workspaces.roadmap.workspaceId;
const workspacePath = (id: string, user = operatorId) => `/v2.0/wiki/workspaces/${id}?operatorId=${user}`;
const listPath = `/v2.0/wiki/workspaces?operatorId=${operatorId}&maxResults=10`;
const docsPath = (id: string) => `/v1.0/doc/workspaces/${id}/docs`;
const CACHED = { cache: { operations: { getWorkspace: { ttlSeconds: 60 }, listWorkspaces: { ttlSeconds: 30 } } } };

function cached(options: HarnessOptions = {}): Harness {
  return createHarness({ ...options, config: { ...CACHED, ...options.config } });
}

const calls = (h: Harness, operationId: string) => h.sandbox.counters.snapshot().byOperation[operationId] ?? 0;
const ledgerUsed = async (h: Harness) => (await h.gateway.ledger.orgUsage('default', monthOf(Date.now()))).used;

describe('the read cache', () => {
  it('answers the same read again from the cache: no DingTalk call, no QPS slot, no call of the month', async () => {
    const h = cached({ config: { dingtalk: { qpsLimit: 1, qpsMaxWaitMs: 0 } } });
    const first = await h.call(workspacePath(handbook));
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-status')).toBe('dingtalk-gateway; fwd=miss; stored');
    const body = await first.text();
    h.advance(5_000);
    // Ten more at once, over DingTalk's QPS limit of 1 with no waiting: every one a hit.
    const again = await Promise.all(Array.from({ length: 10 }, () => h.call(workspacePath(handbook))));
    for (const response of again) {
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(body);
      expect(response.headers.get('cache-status')).toBe('dingtalk-gateway; hit; ttl=55');
      expect(response.headers.get('age')).toBe('5');
      expect(response.headers.get('content-type')).toBe(first.headers.get('content-type'));
      expect(response.headers.get('x-acs-request-id')).toBe(first.headers.get('x-acs-request-id'));
      expect(response.headers.get('ratelimit')).toMatch(/^"tenant";r=\d+;t=\d+$/);
    }
    expect(new Set(again.map((r) => r.headers.get('x-request-id'))).size).toBe(10);
    expect(calls(h, 'getWorkspace')).toBe(1);
    expect(await ledgerUsed(h)).toBe(1);
    const metrics = await h.gateway.metrics.registry.metrics();
    expect(metrics).toMatch(/dtg_cache_requests_total\{tenant="full",operation="getWorkspace",result="hit"\} 10/);
    expect(metrics).toMatch(/dtg_cache_dingtalk_calls_saved_total\{tenant="full",operation="getWorkspace"\} 10/);
    expect(h.logs.filter((line) => line.msg === 'request').map((line) => line.cache)).toEqual(['miss', ...Array(10).fill('hit')]);
  });

  it("serves an answer only as long as the tenant's lifetime and the caller's max-age allow", async () => {
    const h = cached({ config: { tenants: { other: { cache: { getWorkspace: { ttlSeconds: 10 } } } } } });
    await h.call(workspacePath(handbook));
    h.advance(20_000);
    expect((await h.call(workspacePath(handbook))).headers.get('cache-status')).toMatch(/; hit; ttl=40$/);
    // Another tenant of the same app shares the entry, with its own lifetime: 20 s is too old for it.
    const other = await h.call(workspacePath(handbook), { key: h.keys.other });
    expect(other.headers.get('cache-status')).toBe('dingtalk-gateway; fwd=miss; stored');
    expect(calls(h, 'getWorkspace')).toBe(2);
    h.advance(5_000);
    expect((await h.call(workspacePath(handbook), { headers: { 'cache-control': 'max-age=10' } })).headers.get('cache-status')).toMatch(/; hit;/);
    expect((await h.call(workspacePath(handbook), { headers: { 'cache-control': 'max-age=4' } })).headers.get('cache-status')).toMatch(/; fwd=miss; stored$/);
    h.advance(61_000);
    expect((await h.call(workspacePath(handbook))).headers.get('cache-status')).toMatch(/; fwd=miss; stored$/);
    expect(calls(h, 'getWorkspace')).toBe(4);
  });

  it('shares an entry between tenants of one DingTalk app only, and keys on the whole request', async () => {
    const h = cached({ config: { cache: { operations: { getWorkspace: { ttlSeconds: 60 }, listWorkspaces: { ttlSeconds: 60 } } } } });
    await h.call(listPath);
    expect((await h.call(listPath, { key: h.keys.other })).headers.get('cache-status')).toMatch(/; hit;/);
    // The query's order does not matter; its values do (operatorId: DingTalk answers each user what they may see).
    expect((await h.call(`/v2.0/wiki/workspaces?maxResults=10&operatorId=${operatorId}`)).headers.get('cache-status')).toMatch(/; hit;/);
    expect((await h.call(`/v2.0/wiki/workspaces?operatorId=${operatorId}&maxResults=11`)).headers.get('cache-status')).toMatch(/; fwd=miss/);
    expect((await h.call(`/v2.0/wiki/workspaces?operatorId=${seeded.users.bob.unionId}&maxResults=10`)).headers.get('cache-status')).toMatch(/; fwd=miss/);
    // A tenant of another DingTalk app (the ISV app) never gets this app's answers.
    expect((await h.call(listPath, { key: h.keys.isv })).headers.get('cache-status')).toMatch(/; fwd=miss/);
    expect(calls(h, 'listWorkspaces')).toBe(4);
  });

  it("checks the tenant's scopes and rate limit before the cache", async () => {
    const h = cached({ config: { tenants: { full: { rateLimit: { rate: 1, burst: 2 } } } } });
    await h.call(workspacePath(handbook));
    expect((await h.call(workspacePath(handbook))).status).toBe(200);
    const limited = await h.call(workspacePath(handbook));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('cache-status')).toBeNull();
    // The reader may read workspaces; a tenant without the scope is refused before the cache.
    const h2 = cached({ config: { tenants: { reader: { scopes: ['Document.WorkspaceDocument.Write'] } } } });
    await h2.call(workspacePath(handbook));
    expect((await h2.call(workspacePath(handbook), { key: h2.keys.reader })).status).toBe(403);
  });

  it('keeps only 200 answers', async () => {
    const h = cached();
    for (let i = 0; i < 2; i++) {
      const missing = await h.call(workspacePath('wsNoSuchWorkspace0'));
      expect(missing.status).toBe(404);
      expect(missing.headers.get('cache-status')).toBe('dingtalk-gateway; fwd=miss');
    }
    expect(calls(h, 'getWorkspace')).toBe(2);
  });

  it('sends concurrent identical misses to DingTalk once, and gives every caller its answer', async () => {
    const h = cached({ sandbox: { faults: { getWorkspace: { latencyMs: 50 } } } });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => h.call(workspacePath(handbook), { key: i % 2 ? h.keys.full : h.keys.other })));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(calls(h, 'getWorkspace')).toBe(1);
    const statuses = answers.map((a) => a.headers.get('cache-status'));
    expect(statuses.filter((s) => s === 'dingtalk-gateway; fwd=miss; stored')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'dingtalk-gateway; fwd=miss; collapsed')).toHaveLength(49);
    const bodies = new Set(await Promise.all(answers.map((a) => a.text())));
    expect(bodies.size).toBe(1);
    expect(await ledgerUsed(h)).toBe(1);
  });

  it('lets a request that failed for its caller not fail the others: they go on by themselves', async () => {
    // DingTalk fails the first request (a 500, not retried here); the identical one waiting on it goes to DingTalk itself.
    const h = cached({ sandbox: { faults: { getWorkspace: { latencyMs: 30, error: { status: 500, code: 'systemError', times: 1 } } } }, config: { upstream: { getRetries: 0 } } });
    const answers = await Promise.all([h.call(workspacePath(handbook)), h.call(workspacePath(handbook), { key: h.keys.other })]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 500]);
    expect(calls(h, 'getWorkspace')).toBe(2);
  });

  it('honours Cache-Control: no-cache goes to DingTalk and keeps the answer, no-store keeps nothing', async () => {
    const h = cached();
    await h.call(workspacePath(handbook));
    const refreshed = await h.call(workspacePath(handbook), { headers: { 'cache-control': 'no-cache' } });
    expect(refreshed.headers.get('cache-status')).toBe('dingtalk-gateway; fwd=request; stored');
    h.advance(2_000);
    expect((await h.call(workspacePath(handbook))).headers.get('age')).toBe('2');
    const unstored = await h.call(workspacePath(roadmap), { headers: { 'cache-control': 'no-store' } });
    expect(unstored.headers.get('cache-status')).toBe('dingtalk-gateway; fwd=request');
    expect((await h.call(workspacePath(roadmap))).headers.get('cache-status')).toMatch(/; fwd=miss; stored$/);
    expect(calls(h, 'getWorkspace')).toBe(4);
  });
});

describe('writes make stale what they change', () => {
  it('AddWorkspace: the next listing has the new Knowledge Base', async () => {
    const h = cached();
    const before = (await (await h.call(listPath)).json()) as { workspaces: Array<{ name: string }> };
    const created = await h.call(`/v2.0/wiki/workspaces?operatorId=${operatorId}`, json({ name: 'Made through the cache' }));
    expect(created.status).toBe(200);
    const after = await h.call(listPath);
    expect(after.headers.get('cache-status')).toMatch(/; fwd=miss; stored$/);
    const names = ((await after.json()) as { workspaces: Array<{ name: string }> }).workspaces.map((w) => w.name);
    expect(names).toContain('Made through the cache');
    expect(names.length).toBe(before.workspaces.length + 1);
  });

  it("CreateWorkspaceDoc: its Knowledge Base's answers go, another's stay", async () => {
    const h = cached();
    await h.call(workspacePath(handbook));
    await h.call(workspacePath(roadmap));
    const doc = await h.call(docsPath(handbook), json({ name: 'Cache invalidation', docType: 'DOC', operatorId }));
    expect(doc.status).toBe(200);
    expect((await h.call(workspacePath(handbook))).headers.get('cache-status')).toMatch(/; fwd=miss; stored$/);
    expect((await h.call(workspacePath(roadmap))).headers.get('cache-status')).toMatch(/; hit;/);
  });

  it('drops the answers of every app of the org, and none of a refused write', async () => {
    const h = cached();
    await h.call(listPath);
    await h.call(listPath, { key: h.keys.isv });
    const refused = await h.call(`/v2.0/wiki/workspaces?operatorId=${operatorId}`, json({ name: '' }));
    expect(refused.status).toBe(400);
    expect((await h.call(listPath)).headers.get('cache-status')).toMatch(/; hit;/);
    expect((await h.call(`/v2.0/wiki/workspaces?operatorId=${operatorId}`, json({ name: 'Org-wide' }))).status).toBe(200);
    expect((await h.call(listPath)).headers.get('cache-status')).toMatch(/; fwd=miss/);
    expect((await h.call(listPath, { key: h.keys.isv })).headers.get('cache-status')).toMatch(/; fwd=miss/);
  });

  it("GetWorkspace sent to DingTalk: its viewer's listing by view time goes (opening moves it up), others' stay", async () => {
    const h = cached();
    const bob = `/v2.0/wiki/workspaces?operatorId=${seeded.users.bob.unionId}&maxResults=10`;
    await h.call(listPath);
    await h.call(bob);
    h.advance(1_000);
    expect((await h.call(workspacePath(roadmap))).headers.get('cache-status')).toMatch(/; fwd=miss; stored$/);
    const after = await h.call(listPath);
    expect(after.headers.get('cache-status')).toMatch(/; fwd=miss; stored$/);
    expect(((await after.json()) as { workspaces: Array<{ workspaceId: string }> }).workspaces[0]!.workspaceId).toBe(roadmap);
    expect((await h.call(bob)).headers.get('cache-status')).toMatch(/; hit;/);
    // A GetWorkspace answered from the cache never reached DingTalk: nothing moved there.
    expect((await h.call(workspacePath(roadmap))).headers.get('cache-status')).toMatch(/; hit;/);
    expect((await h.call(listPath)).headers.get('cache-status')).toMatch(/; hit;/);
  });

  it('never serves, after a write, an answer fetched while the write was under way', async () => {
    const h = cached({ sandbox: { faults: { getWorkspace: { latencyMs: 80 } } } });
    const slowRead = h.call(workspacePath(handbook));
    await new Promise((resolve) => setTimeout(resolve, 20)); // the read is at DingTalk
    expect((await h.call(docsPath(handbook), json({ name: 'During a read', docType: 'DOC', operatorId }))).status).toBe(200);
    // A read after the write does not join the read sent before it.
    const fresh = h.call(workspacePath(handbook));
    await slowRead;
    expect((await fresh).headers.get('cache-status')).toMatch(/; fwd=miss; stored$/);
    expect((await h.call(workspacePath(handbook))).headers.get('cache-status')).toMatch(/; hit;/);
    expect(calls(h, 'getWorkspace')).toBe(2);
  });
});

describe('reading your own writes', () => {
  /** One step of a caller: a read through the gateway compared with DingTalk's answer, a write, or time passing. */
  type Step =
    | { kind: 'get'; workspace: 'handbook' | 'roadmap' }
    | { kind: 'list' }
    | { kind: 'addWorkspace' }
    | { kind: 'createDoc'; workspace: 'handbook' | 'roadmap' }
    | { kind: 'wait'; ms: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('get' as const), workspace: fc.constantFrom('handbook' as const, 'roadmap' as const) }),
    fc.record({ kind: fc.constant('list' as const) }),
    fc.record({ kind: fc.constant('addWorkspace' as const) }),
    fc.record({ kind: fc.constant('createDoc' as const), workspace: fc.constantFrom('handbook' as const, 'roadmap' as const) }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  );

  it('never reads stale through the gateway: every read after a write equals what DingTalk answers', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 25 }), async (steps) => {
        const h = cached();
        const token = await dingtalkToken(h);
        const direct = async (path: string) => {
          const response = await h.sandbox.app.fetch(new Request(`${SANDBOX_ORIGIN}${path}`, { headers: { 'x-acs-dingtalk-access-token': token } }));
          return response.json();
        };
        run += 1;
        let n = 0;
        for (const s of steps) {
          n += 1;
          if (s.kind === 'wait') h.advance(s.ms);
          else if (s.kind === 'addWorkspace') expect((await h.call(`/v2.0/wiki/workspaces?operatorId=${operatorId}`, json({ name: `Own write ${run}-${n}` }))).status).toBe(200);
          else if (s.kind === 'createDoc') expect((await h.call(docsPath(seeded.workspaces[s.workspace].workspaceId), json({ name: `Own doc ${run}-${n}`, docType: 'DOC', operatorId }))).status).toBe(200);
          else {
            // The listing by modified time: the listing by view time (the default) would change with
            // this test's own direct reads of a Knowledge Base, which DingTalk counts as views.
            const path = s.kind === 'list' ? `${listPath}&orderBy=MODIFIED_TIME_DESC` : workspacePath(seeded.workspaces[s.workspace].workspaceId);
            const through = await h.call(path);
            expect(await through.json(), `${path} (${through.headers.get('cache-status')}) after ${JSON.stringify(steps.slice(0, n))}`).toEqual(await direct(path));
          }
        }
      }),
      { seed: 20261206, numRuns: 30 },
    );
  }, 60_000);
});

async function dingtalkToken(h: Harness): Promise<string> {
  const response = await h.sandbox.app.fetch(
    new Request(`${SANDBOX_ORIGIN}/v1.0/oauth2/accessToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appKey: seeded.apps.full.appKey, appSecret: seeded.apps.full.appSecret }),
    }),
  );
  return ((await response.json()) as { accessToken: string }).accessToken;
}
