/**
 * Idempotency-Key through the whole request path, in process, against the sandbox: its counters
 * and its state say how many times DingTalk carried a request out.
 */
import { monthOf } from '@dingtalk-gateway/call-quota';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { describe, expect, it } from 'vitest';
import { type Harness, type HarnessOptions, createHarness, json, operatorId } from '../in-process.js';

const addPath = `/v2.0/wiki/workspaces?operatorId=${operatorId}`;
const calls = (h: Harness, operationId: string) => h.sandbox.counters.snapshot().byOperation[operationId] ?? 0;
const named = (h: Harness, name: string) => [...h.sandbox.state.workspaces.values()].filter((w: { name: string }) => w.name === name).length;
const withKey = (key: string, body: unknown, headers: Record<string, string> = {}) => {
  const init = json(body);
  return { ...init, headers: { ...(init.headers as Record<string, string>), 'idempotency-key': key, ...headers } };
};
const code = async (response: Response) => ((await response.json()) as { code: string }).code;

function harness(options: HarnessOptions = {}): Harness {
  return createHarness({ ...options, deps: { retryTiming: { sleep: async () => {} }, ...options.deps } });
}

describe('Idempotency-Key', () => {
  it('sends the first request once and answers its retries with the same answer, without DingTalk or the month', async () => {
    const h = harness();
    const first = await h.call(addPath, withKey('8e03978e-40d5-43e8-bc93-6894a57f9324', { name: 'Created once' }));
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const body = await first.text();
    for (let i = 0; i < 3; i++) {
      const again = await h.call(addPath, withKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"', { name: 'Created once' }));
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await again.text()).toBe(body);
      expect(again.headers.get('x-acs-request-id')).toBe(first.headers.get('x-acs-request-id'));
      expect(again.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
    }
    expect(calls(h, 'addWorkspace')).toBe(1);
    expect(named(h, 'Created once')).toBe(1);
    expect((await h.gateway.ledger.orgUsage('default', monthOf(Date.now()))).used).toBe(1);
    expect(await h.gateway.metrics.registry.getSingleMetricAsString('dtg_idempotency_requests_total')).toMatch(/operation="addWorkspace",result="replayed"\} 3/);
  });

  it('answers 422 to the same key with a different request, 400 to a key that is not one, and keeps keys per tenant', async () => {
    const h = harness();
    expect((await h.call(addPath, withKey('k-1', { name: 'First' }))).status).toBe(200);
    const reused = await h.call(addPath, withKey('k-1', { name: 'Second' }));
    expect(reused.status).toBe(422);
    expect(await code(reused)).toBe('gateway.idempotency.keyReused');
    const otherQuery = await h.call(`/v2.0/wiki/workspaces?operatorId=${seeded.users.bob.unionId}`, withKey('k-1', { name: 'First' }));
    expect(otherQuery.status).toBe(422);
    for (const bad of ['', 'x'.repeat(256), 'has space', 'tab\there', 'ümlaut']) {
      const refused = await h.call(addPath, withKey(bad, { name: 'Bad key' }));
      expect(refused.status, JSON.stringify(bad)).toBe(400);
      expect(await code(refused)).toBe('gateway.idempotency.invalidKey');
    }
    // Another tenant's key of the same spelling is its own.
    expect((await h.call(addPath, { ...withKey('k-1', { name: 'Other team' }), key: h.keys.other })).status).toBe(200);
    expect(named(h, 'Other team')).toBe(1);
    expect(named(h, 'Bad key')).toBe(0);
  });

  it('answers 409 with Retry-After while the first is under way', async () => {
    const h = harness({ sandbox: { faults: { addWorkspace: { latencyMs: 100 } } } });
    const first = h.call(addPath, withKey('slow', { name: 'Slow' }));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const during = await h.call(addPath, withKey('slow', { name: 'Slow' }));
    expect(during.status).toBe(409);
    expect(during.headers.get('retry-after')).toBe('1');
    expect(await code(during)).toBe('gateway.idempotency.inProgress');
    expect((await first).status).toBe(200);
    expect((await h.call(addPath, withKey('slow', { name: 'Slow' }))).headers.get('idempotent-replayed')).toBe('true');
    expect(named(h, 'Slow')).toBe(1);
  });

  it('never sends again a request whose outcome is unknown (no answer in time): 409 outcomeUnknown', async () => {
    const h = harness({ config: { upstream: { responseTimeoutMs: 50 } }, sandbox: { faults: { addWorkspace: { latencyMs: 120 } } } });
    const first = await h.call(addPath, withKey('lost', { name: 'Maybe made' }));
    expect(first.status).toBe(504);
    await new Promise((resolve) => setTimeout(resolve, 150)); // DingTalk made it after all
    const retry = await h.call(addPath, withKey('lost', { name: 'Maybe made' }));
    expect(retry.status).toBe(409);
    expect(await code(retry)).toBe('gateway.idempotency.outcomeUnknown');
    expect(named(h, 'Maybe made')).toBe(1);
    expect(calls(h, 'addWorkspace')).toBe(1);
  });

  it("keeps DingTalk's refusals by the API (replayed), not those before it ran (sent again)", async () => {
    const h = harness({ config: { dingtalk: { throttleRetries: 0 } } });
    // The API refused it: the same answer for the retry.
    const missing = await h.call('/v1.0/doc/workspaces/wsNoSuchWorkspace0/docs', withKey('no-ws', { name: 'Doc', docType: 'DOC', operatorId }));
    expect(missing.status).toBeGreaterThanOrEqual(400);
    const replayed = await h.call('/v1.0/doc/workspaces/wsNoSuchWorkspace0/docs', withKey('no-ws', { name: 'Doc', docType: 'DOC', operatorId }));
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.status).toBe(missing.status);
    expect(calls(h, 'createWorkspaceDoc')).toBe(1);
    // DingTalk's platform refused it before the API ran (QPS): not carried out, sent again.
    h.sandbox.faults.set({ addWorkspace: { error: { status: 403, code: 'Forbidden.AccessDenied.QpsLimitForApi', times: 1 } } });
    expect((await h.call(addPath, withKey('throttled', { name: 'After a throttle' }))).status).toBe(403);
    const sent = await h.call(addPath, withKey('throttled', { name: 'After a throttle' }));
    expect(sent.status).toBe(200);
    expect(sent.headers.get('idempotent-replayed')).toBeNull();
    expect(named(h, 'After a throttle')).toBe(1);
  });

  it("keeps nothing of a request the gateway refused before DingTalk: the retry with the key is sent", async () => {
    const h = harness({ config: { tenants: { full: { rateLimit: { rate: 1, burst: 1 } } } } });
    expect((await h.call(addPath, withKey('a', { name: 'A' }))).status).toBe(200);
    const limited = await h.call(addPath, withKey('b', { name: 'B' }));
    expect(limited.status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    const sent = await h.call(addPath, withKey('b', { name: 'B' }));
    expect(sent.status).toBe(200);
    expect(sent.headers.get('idempotent-replayed')).toBeNull();
    expect(named(h, 'B')).toBe(1);
  });

  it('leaves requests without a key, and GETs, alone', async () => {
    const h = harness();
    expect((await h.call(addPath, json({ name: 'No key' }))).status).toBe(200);
    expect((await h.call(addPath, json({ name: 'No key' }))).status).toBe(200);
    expect(named(h, 'No key')).toBe(2);
    const get = await h.call(`/v2.0/wiki/workspaces?operatorId=${operatorId}`, { headers: { 'idempotency-key': 'ignored on a GET' } });
    expect(get.status).toBe(200);
  });
});
