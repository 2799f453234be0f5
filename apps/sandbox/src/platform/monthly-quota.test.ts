import { monthOf } from '@dingtalk-gateway/call-quota';
import { describe, expect, it } from 'vitest';
import { createSandbox } from '../app.js';
import { seeded } from '../seed.js';
import { call, corpTokenFor, expectError, manualClock, sampleCalls, tokenFor } from '../testing/helpers.js';

const sandboxOrg = seeded.orgs.sandbox.corpId;
const lockedOrg = seeded.orgs.locked.corpId;
const list = (token: string) => {
  const { method, path, options } = sampleCalls().listWorkspaces;
  return call(createdSandbox!, method, path, { ...options, token });
};
let createdSandbox: ReturnType<typeof createSandbox> | undefined;

function setup(options: Parameters<typeof createSandbox>[0] = {}) {
  const clock = manualClock(Date.parse('2026-12-31T15:59:00Z'));
  createdSandbox = createSandbox({ now: clock.now, monthlyCallQuota: 3, admin: true, ...options });
  return { sandbox: createdSandbox, clock, used: (corpId = sandboxOrg) => createdSandbox!.counters.snapshot().metered[corpId]?.[monthOf(clock.now())] ?? 0 };
}

describe("the org's monthly call quota", () => {
  it('counts the metered calls of an org, refuses past the quota with ApiCountLimitForOrg, and counts no refusal', async () => {
    const { sandbox, used } = setup();
    const token = await tokenFor(sandbox);
    for (let i = 0; i < 3; i++) expect((await list(token)).status).toBe(200);
    const refused = await list(token);
    expectError(refused, 403, 'Forbidden.AccessDenied.ApiCountLimitForOrg');
    expect(refused.body.message).toBe('调用量:4次,额度:3次');
    expect(used()).toBe(3);
    // The token endpoints are not metered, and work on.
    expect((await call(sandbox, 'POST', '/v1.0/oauth2/accessToken', { body: { appKey: seeded.apps.full.appKey, appSecret: seeded.apps.full.appSecret } })).status).toBe(200);
    expect(used()).toBe(3);
  });

  it("counts an error of the API, and no refusal of the platform (token, permission, QPS, an injected QpsLimitForApi)", async () => {
    const { sandbox, used } = setup({ monthlyCallQuota: 100, qpsLimit: 2 });
    const token = await tokenFor(sandbox);
    const addWorkspace = (body: unknown, withToken = token) => call(sandbox, 'POST', '/v2.0/wiki/workspaces', { token: withToken, query: { operatorId: seeded.users.alice.unionId }, body });
    expectError(await addWorkspace({}), 400, 'paramError.name'); // counts: the API refused it
    expectError(await addWorkspace({ name: 'x' }, 'bad-token'), 400, 'InvalidAuthentication');
    const readOnly = await tokenFor(sandbox, seeded.apps.readOnly);
    expectError(await addWorkspace({ name: 'x' }, readOnly), 403, 'Forbidden.AccessDenied.AccessTokenPermissionDenied');
    expect((await addWorkspace({ name: 'y' })).status).toBe(200); // the second of this second: QPS 2
    expectError(await addWorkspace({ name: 'z' }), 403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi');
    sandbox.faults.set({ addWorkspace: { error: { status: 403, code: 'Forbidden.AccessDenied.QpsLimitForApi', times: 1 } } });
    expectError(await addWorkspace({ name: 'z' }), 403, 'Forbidden.AccessDenied.QpsLimitForApi');
    sandbox.faults.set({ getWorkspace: { error: { status: 500, code: 'systemError', times: 1 } } });
    const { method, path, options } = sampleCalls().getWorkspace;
    expectError(await call(sandbox, method, path, { ...options, token }), 500, 'systemError'); // counts: DingTalk processed and failed it
    expect(used()).toBe(3);
  });

  it('starts again at the start of the month in China Standard Time', async () => {
    const { sandbox, clock, used } = setup();
    const token = await tokenFor(sandbox);
    for (let i = 0; i < 3; i++) await list(token);
    expectError(await list(token), 403, 'Forbidden.AccessDenied.ApiCountLimitForOrg');
    clock.set(Date.parse('2026-12-31T16:00:00Z')); // 2027-01-01 00:00 in UTC+8
    expect(monthOf(clock.now())).toBe('2027-01');
    expect((await list(token)).status).toBe(200);
    expect(used()).toBe(1);
    expect(sandbox.counters.snapshot().metered[sandboxOrg]).toEqual({ '2026-12': 3, '2027-01': 1 });
  });

  it('takes a raised quota at once, per org or for every org', async () => {
    const { sandbox } = setup();
    const token = await tokenFor(sandbox);
    for (let i = 0; i < 3; i++) await list(token);
    expectError(await list(token), 403, 'Forbidden.AccessDenied.ApiCountLimitForOrg');
    const raised = await call(sandbox, 'PUT', '/__sandbox/quota', { body: { monthlyCallQuota: 4, corpId: sandboxOrg } });
    expect(raised.body).toEqual({ default: 3, orgs: { [sandboxOrg]: 4 }, used: { [sandboxOrg]: 3, [lockedOrg]: 0 } });
    expect((await list(token)).status).toBe(200);
    expectError(await list(token), 403, 'Forbidden.AccessDenied.ApiCountLimitForOrg');
    expect((await call(sandbox, 'PUT', '/__sandbox/quota', { body: { monthlyCallQuota: 'lots' } })).status).toBe(400);
    expect((await call(sandbox, 'PUT', '/__sandbox/quota', { body: { monthlyCallQuota: 5, corpId: 'nope' } })).status).toBe(400);
  });

  it("counts an ISV's calls towards the org it acts for", async () => {
    const { sandbox, used } = setup();
    const token = await corpTokenFor(sandbox, lockedOrg);
    const { method, path } = sampleCalls().listWorkspaces;
    expect((await call(sandbox, method, path, { token, query: { operatorId: seeded.users.dave.unionId } })).status).toBe(200);
    expect([used(sandboxOrg), used(lockedOrg)]).toEqual([0, 1]);
  });

  it('moves with the admin clock', async () => {
    const { sandbox, used } = setup();
    const token = await tokenFor(sandbox);
    await list(token);
    expect(used()).toBe(1);
    expect((await call(sandbox, 'PUT', '/__sandbox/clock', { body: { offsetMs: 60_000 } })).body).toEqual({ offsetMs: 60_000 });
    expect(sandbox.quota.used(sandboxOrg)).toBe(0); // a minute later it is January in China
    expect((await call(sandbox, 'PUT', '/__sandbox/clock', { body: { offsetMs: 'later' } })).status).toBe(400);
  });
});
