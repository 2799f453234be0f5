import { describe, expect, it } from 'vitest';
import { createSandbox } from '../app.js';
import { seeded } from '../seed.js';
import { call, corpTokenFor, expectError, manualClock } from '../testing/helpers.js';

const { full } = seeded.apps;
const isv = seeded.suites.isv;
const getToken = (sandbox: ReturnType<typeof createSandbox>, body: unknown) => call(sandbox, 'POST', '/v1.0/oauth2/accessToken', { body });
const getCorpToken = (sandbox: ReturnType<typeof createSandbox>, body: Record<string, string>) =>
  call(sandbox, 'POST', '/v1.0/oauth2/corpAccessToken', { body: { suiteKey: isv.suiteKey, suiteSecret: isv.suiteSecret, suiteTicket: isv.suiteTicket, authCorpId: seeded.orgs.sandbox.corpId, ...body } });
const listAs = (sandbox: ReturnType<typeof createSandbox>, token: string, operatorId = seeded.users.alice.unionId) =>
  call(sandbox, 'GET', '/v2.0/wiki/workspaces', { token, query: { operatorId } });

describe('GetAccessToken', () => {
  it('issues a token valid expireIn (7200) seconds', async () => {
    const clock = manualClock();
    const sandbox = createSandbox({ now: clock.now });
    const res = await getToken(sandbox, { appKey: full.appKey, appSecret: full.appSecret });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accessToken: expect.stringMatching(/^[0-9a-f]{32}$/), expireIn: 7200 });
    clock.advance(7199_000);
    expect((await listAs(sandbox, res.body.accessToken)).status).toBe(200);
    clock.advance(1_000);
    expectError(await listAs(sandbox, res.body.accessToken), 400, 'InvalidAuthentication');
  });

  it('returns the same token within its validity and extends it; a new one after expiry', async () => {
    const clock = manualClock();
    const sandbox = createSandbox({ now: clock.now });
    const credentials = { appKey: full.appKey, appSecret: full.appSecret };
    const first = (await getToken(sandbox, credentials)).body.accessToken;
    clock.advance(7000_000);
    const again = await getToken(sandbox, credentials);
    expect(again.body).toEqual({ accessToken: first, expireIn: 7200 });
    clock.advance(7000_000); // 14000 s after issue: alive only because the repeat call extended it
    expect((await listAs(sandbox, first)).status).toBe(200);
    clock.advance(200_000);
    expectError(await listAs(sandbox, first), 400, 'InvalidAuthentication');
    const renewed = (await getToken(sandbox, credentials)).body.accessToken;
    expect(renewed).not.toBe(first);
    expect(sandbox.counters.snapshot().tokensIssued[full.appKey]).toBe(2);
    expect(sandbox.counters.snapshot().byApp[full.appKey]?.getAccessToken).toBe(3);
  });

  it('honours the token lifetime option in expireIn', async () => {
    const sandbox = createSandbox({ tokenLifetimeSeconds: 3 });
    expect((await getToken(sandbox, { appKey: full.appKey, appSecret: full.appSecret })).body.expireIn).toBe(3);
  });

  it.each([
    ['a wrong secret', { appKey: full.appKey, appSecret: 'nope' }],
    ['an unknown appKey', { appKey: 'dingunknown', appSecret: full.appSecret }],
    ['a secret of another app', { appKey: full.appKey, appSecret: seeded.apps.readOnly.appSecret }],
  ])('answers invalidClientIdOrSecret for %s', async (_, body) => {
    const res = await getToken(createSandbox(), body);
    expectError(res, 400, 'invalidClientIdOrSecret');
    expect(res.body.message).toBe('无效的clientId或者clientSecret');
  });

  it.each([
    ['a missing secret', { appKey: full.appKey }, "body must have required property 'appSecret'"],
    ['an empty key', { appKey: '', appSecret: full.appSecret }, "body property 'appKey' must not be empty"],
    ['a key that is not a string', { appKey: 1, appSecret: full.appSecret }, "body property 'appKey' must be a string"],
  ])('answers invalidClientIdOrSecret for %s, the message naming the field (the spec gives the code)', async (_, body, message) => {
    const res = await getToken(createSandbox(), body);
    expectError(res, 400, 'invalidClientIdOrSecret');
    expect(res.body.message).toBe(message);
  });

  it('takes JSON only: a form body, no body or broken JSON is 400 Missingbody', async () => {
    const sandbox = createSandbox();
    const form = `appKey=${full.appKey}&appSecret=${full.appSecret}`;
    expectError(await call(sandbox, 'POST', '/v1.0/oauth2/accessToken', { rawBody: form, contentType: 'application/x-www-form-urlencoded' }), 400, 'Missingbody');
    expectError(await call(sandbox, 'POST', '/v1.0/oauth2/accessToken'), 400, 'Missingbody');
    expectError(await call(sandbox, 'POST', '/v1.0/oauth2/accessToken', { rawBody: '{"appKey":' }), 400, 'Missingbody');
    expectError(await call(sandbox, 'POST', '/v1.0/oauth2/corpAccessToken', { rawBody: 'suiteKey=x', contentType: 'application/x-www-form-urlencoded' }), 400, 'Missingbody');
  });
});

describe('GetCorpAccessToken', () => {
  it('returns a new token on every call, and the older ones stay valid until they expire', async () => {
    const sandbox = createSandbox();
    const first = await getCorpToken(sandbox, {});
    const second = await getCorpToken(sandbox, {});
    expect(first.body).toEqual({ accessToken: expect.any(String), expireIn: 7200 });
    expect(second.body.accessToken).not.toBe(first.body.accessToken);
    expect((await listAs(sandbox, first.body.accessToken)).status).toBe(200);
    expect((await listAs(sandbox, second.body.accessToken)).status).toBe(200);
    expect(sandbox.counters.snapshot().tokensIssued[isv.suiteKey]).toBe(2);
  });

  it.each([
    ['invalidSuiteKey', { suiteKey: 'suiteunknown' }],
    ['invalidSuiteKey', { suiteSecret: 'wrong' }],
    ['invalidSuiteTicket', { suiteTicket: 'stale-ticket' }],
    ['invalidAuthInfo', { authCorpId: 'dingnotauthorized' }],
  ])('answers %s for %j', async (code, body) => {
    expectError(await getCorpToken(createSandbox(), body), 400, code);
  });

  it("acts for the authorizing org with the suite's permissions", async () => {
    const sandbox = createSandbox();
    const sandboxOrg = await corpTokenFor(sandbox, seeded.orgs.sandbox.corpId);
    const lockedOrg = await corpTokenFor(sandbox, seeded.orgs.locked.corpId);
    const inSandbox = await listAs(sandbox, sandboxOrg);
    expect(inSandbox.body.workspaces.map((w: { corpId: string }) => w.corpId)).toEqual(
      expect.arrayContaining([seeded.orgs.sandbox.corpId]),
    );
    const inLocked = await listAs(sandbox, lockedOrg, seeded.users.dave.unionId);
    expect(inLocked.body.workspaces.map((w: { workspaceId: string }) => w.workspaceId)).toEqual([seeded.workspaces.lockedWiki.workspaceId]);
    // alice is a user of the Sandbox Org, not of the org this token acts for
    expectError(await listAs(sandbox, lockedOrg), 403, 'permissionDenied');
    // the suite holds Drive.Space.Write: the write reaches the business rules of the locked org
    const space = await call(sandbox, 'POST', '/v1.0/drive/spaces', { token: lockedOrg, body: { name: 'Team files', unionId: seeded.users.dave.unionId } });
    expectError(space, 400, 'addSpace.forbiden');
  });
});
