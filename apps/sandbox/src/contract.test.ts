/**
 * The contract test: every operation through its success path and every error path with a
 * reproducible cause, each response body validated for its status by a validator compiled from
 * the spec file (`@dingtalk-gateway/spec-validator`), never by hand-written shapes; every
 * response must carry `x-acs-request-id` and `x-acs-trace-id`.
 *
 * Codes without a cause the sandbox can reproduce (`systemError`, `operationTimeout`,
 * `request.overlimit`, `Forbidden.AccessDenied.IpNotInWhiteList`, ...) are produced by fault
 * injection. Forced errors accept any status and code (to emulate what DingTalk has not
 * documented); this test forces only the codes the spec lists, so each must validate. Finally,
 * every (operation, status, code) the spec documents must have been answered at least once.
 */
import { describe, expect, it } from 'vitest';
import { loadDingTalkSpec } from '@dingtalk-gateway/spec/dingtalk-spec';
import { createSpecValidator } from '@dingtalk-gateway/spec-validator';
import { type Sandbox, createSandbox } from './app.js';
import { seeded } from './seed.js';
import { type CallOptions, type CallResult, TOKEN_OPERATIONS, call, corpTokenFor, manualClock, sampleCalls, tokenFor } from './testing/helpers.js';

const validator = createSpecValidator(loadDingTalkSpec());

/** (operationId, status, code) answered, and how: a real cause or a forced fault. */
const seen = new Map<string, 'natural' | 'forced'>();
const key = (operationId: string, status: number, code: string) => `${operationId} ${status} ${code}`;

function expectValid(operationId: string, res: CallResult, how: 'natural' | 'forced' = 'natural'): void {
  const validation = validator.validateResponse(operationId, res.status, res.body);
  expect(validation, `${operationId} ${res.status} ${JSON.stringify(res.body)}`).toEqual({ ok: true });
  expect(res.headers.get('x-acs-request-id')).toBeTruthy();
  expect(res.headers.get('x-acs-trace-id')).toBeTruthy();
  if (res.status >= 400) {
    expect(res.body.requestid).toBe(res.headers.get('x-acs-request-id'));
    const k = key(operationId, res.status, res.body.code);
    if (seen.get(k) !== 'natural') seen.set(k, how);
  }
}

const { alice, carol, dave } = seeded.users;
const { handbook, roadmap, alicePersonal, archived } = seeded.workspaces;
const isv = seeded.suites.isv;

let sandbox: Sandbox;
let token: string;
let readOnly: string;

const hit = async (operationId: string, method: string, path: string, options: CallOptions, on: Sandbox = sandbox) => {
  const res = await call(on, method, path, options);
  expectValid(operationId, res);
  return res;
};

describe('every response validates against the spec', () => {
  it('prepares tokens', async () => {
    sandbox = createSandbox({ qpsLimit: 10_000 });
    token = await tokenFor(sandbox);
    readOnly = await tokenFor(sandbox, seeded.apps.readOnly);
  });

  it('getAccessToken', async () => {
    const op = 'getAccessToken';
    const url = '/v1.0/oauth2/accessToken';
    expect((await hit(op, 'POST', url, { body: { appKey: seeded.apps.full.appKey, appSecret: seeded.apps.full.appSecret } })).status).toBe(200);
    await hit(op, 'POST', url, { body: { appKey: seeded.apps.full.appKey, appSecret: 'wrong' } });
    await hit(op, 'POST', url, { rawBody: 'appKey=a', contentType: 'application/x-www-form-urlencoded' });
  });

  it('getCorpAccessToken', async () => {
    const op = 'getCorpAccessToken';
    const url = '/v1.0/oauth2/corpAccessToken';
    const body = { suiteKey: isv.suiteKey, suiteSecret: isv.suiteSecret, suiteTicket: isv.suiteTicket, authCorpId: seeded.orgs.sandbox.corpId };
    expect((await hit(op, 'POST', url, { body })).status).toBe(200);
    await hit(op, 'POST', url, { body: { ...body, suiteSecret: 'wrong' } });
    await hit(op, 'POST', url, { body: { ...body, suiteTicket: 'stale' } });
    await hit(op, 'POST', url, { body: { ...body, authCorpId: 'dingother' } });
    await hit(op, 'POST', url, {});
  });

  it('addWorkspace', async () => {
    const op = 'addWorkspace';
    const url = '/v2.0/wiki/workspaces';
    const query = { operatorId: alice.unionId };
    expect((await hit(op, 'POST', url, { token, query, body: { name: 'Contract', option: { description: 'd', teamId: seeded.teams.engineering.teamId } } })).status).toBe(200);
    await hit(op, 'POST', url, { token, query, body: { name: '' } });
    await hit(op, 'POST', url, { token, query, body: { name: 'n', option: { description: 'd'.repeat(500) } } });
    await hit(op, 'POST', url, { token, query: {}, body: { name: 'n' } });
    await hit(op, 'POST', url, { token, query: { operatorId: dave.unionId }, body: { name: 'n' } });
    await hit(op, 'POST', url, { token: readOnly, query, body: { name: 'n' } });
    await hit(op, 'POST', url, { token: 'expired-or-unknown', query, body: { name: 'n' } });
    const strict = createSandbox({ missingTokenCode: 'AuthenticationFailed.MissingParameter' });
    await hit(op, 'POST', url, { query, body: { name: 'n' } }, strict);
  });

  it('listWorkspaces', async () => {
    const op = 'listWorkspaces';
    const url = '/v2.0/wiki/workspaces';
    const first = await hit(op, 'GET', url, { token, query: { operatorId: alice.unionId, maxResults: 1, withPermissionRole: true, teamId: seeded.teams.engineering.teamId } });
    expect(first.body.nextToken).toBeTruthy();
    expect((await hit(op, 'GET', url, { token, query: { operatorId: alice.unionId, maxResults: 1, withPermissionRole: true, teamId: seeded.teams.engineering.teamId, nextToken: first.body.nextToken } })).status).toBe(200);
    await hit(op, 'GET', url, { token, query: { operatorId: carol.unionId, orderBy: 'MODIFIED_TIME_DESC' } });
    await hit(op, 'GET', url, { token, query: { operatorId: alice.unionId, maxResults: 31 } });
    await hit(op, 'GET', url, { token, query: { operatorId: alice.unionId, orderBy: 'NAME' } });
    await hit(op, 'GET', url, { token, query: { operatorId: alice.unionId, teamId: 'teamNope' } });
    await hit(op, 'GET', url, { token, query: { operatorId: dave.unionId } });
    await hit(op, 'GET', url, { query: { operatorId: alice.unionId } });
    const limited = createSandbox({ qpsLimit: 1, now: manualClock().now });
    const limitedToken = await tokenFor(limited);
    await hit(op, 'GET', url, { token: limitedToken, query: { operatorId: alice.unionId } }, limited);
    await hit(op, 'GET', url, { token: limitedToken, query: { operatorId: alice.unionId } }, limited);
  });

  it('getWorkspace', async () => {
    const op = 'getWorkspace';
    const url = (id: string) => `/v2.0/wiki/workspaces/${id}`;
    expect((await hit(op, 'GET', url(handbook.workspaceId), { token, query: { operatorId: alice.unionId, withPermissionRole: true } })).status).toBe(200);
    await hit(op, 'GET', url(handbook.workspaceId), { token, query: { operatorId: alice.unionId, withPermissionRole: 'maybe' } });
    await hit(op, 'GET', url(alicePersonal.workspaceId), { token, query: { operatorId: alice.unionId } });
    await hit(op, 'GET', url(archived.workspaceId), { token, query: { operatorId: alice.unionId } });
    await hit(op, 'GET', url(roadmap.workspaceId), { token, query: { operatorId: carol.unionId } });
    await hit(op, 'GET', url(handbook.workspaceId), { token: 'nope', query: { operatorId: alice.unionId } });
  });

  it('createWorkspaceDoc', async () => {
    const op = 'createWorkspaceDoc';
    const url = (id: string) => `/v1.0/doc/workspaces/${id}/docs`;
    const body = (fields: Record<string, unknown>) => ({ token, body: { docType: 'DOC', operatorId: alice.unionId, ...fields } });
    const folder = await hit(op, 'POST', url(handbook.workspaceId), body({ name: 'Contract folder', docType: 'FOLDER' }));
    expect(folder.status).toBe(200);
    await hit(op, 'POST', url(handbook.workspaceId), body({ name: 'Inside', parentNodeId: folder.body.nodeId, templateId: seeded.templates.retro.templateId }));
    await hit(op, 'POST', url(handbook.workspaceId), body({ name: 'Contract folder' }));
    await hit(op, 'POST', url(handbook.workspaceId), body({ name: 'x', docType: 'PDF' }));
    await hit(op, 'POST', url(handbook.workspaceId), body({ name: 'x', parentNodeId: 'nodeNope' }));
    await hit(op, 'POST', url(handbook.workspaceId), body({ name: 'x', templateId: 'tplNope' }));
    await hit(op, 'POST', url(handbook.workspaceId), body({ name: 'x', operatorId: dave.unionId }));
    await hit(op, 'POST', url(handbook.workspaceId), body({ name: 'x', operatorId: carol.unionId }));
    await hit(op, 'POST', url('wsNope0000000000'), body({ name: 'x' }));
    await hit(op, 'POST', url(archived.workspaceId), body({ name: 'x' }));
    await hit(op, 'POST', url(handbook.workspaceId), { token: readOnly, body: { name: 'x', docType: 'DOC', operatorId: alice.unionId } });
    await hit(op, 'POST', url(handbook.workspaceId), { body: { name: 'x', docType: 'DOC', operatorId: alice.unionId } });
  });

  it('addSpace', async () => {
    const op = 'addSpace';
    const url = '/v1.0/drive/spaces';
    expect((await hit(op, 'POST', url, { token, body: { name: 'Contract space', unionId: alice.unionId } })).status).toBe(200);
    await hit(op, 'POST', url, { token, body: { unionId: alice.unionId } });
    await hit(op, 'POST', url, { token, body: { name: '', unionId: alice.unionId } });
    await hit(op, 'POST', url, { token, body: { name: 'x', unionId: dave.unionId } });
    await hit(op, 'POST', url, { token: await corpTokenFor(sandbox, seeded.orgs.locked.corpId), body: { name: 'x', unionId: dave.unionId } });
    await hit(op, 'POST', url, { token: readOnly, body: { name: 'x', unionId: alice.unionId } });
    await hit(op, 'POST', url, { token: 'nope', body: { name: 'x', unionId: alice.unionId } });
  });

  it('the platform codes on every operation that takes a token', async () => {
    const strict = createSandbox({ missingTokenCode: 'AuthenticationFailed.MissingParameter', qpsLimit: 1, now: manualClock().now });
    const strictToken = await tokenFor(strict);
    for (const operationId of TOKEN_OPERATIONS) {
      const { method, path, options } = sampleCalls()[operationId];
      await hit(operationId, method, path, { ...options, token: undefined }, strict);
      await hit(operationId, method, path, { ...options, token: 'unknown-token' }, strict);
      expect((await hit(operationId, method, path, { ...options, token: strictToken }, strict)).status).toBe(200);
      await hit(operationId, method, path, { ...options, token: strictToken }, strict);
    }
  });

  it('every documented code of every operation, forced by fault injection, validates too', async () => {
    const forced = createSandbox({ qpsLimit: 10_000 });
    const forcedToken = await tokenFor(forced);
    const samples: Record<string, { method: string; path: string; options: CallOptions }> = {
      getAccessToken: { method: 'POST', path: '/v1.0/oauth2/accessToken', options: { body: {} } },
      getCorpAccessToken: { method: 'POST', path: '/v1.0/oauth2/corpAccessToken', options: { body: {} } },
      addWorkspace: { method: 'POST', path: '/v2.0/wiki/workspaces', options: { token: forcedToken, query: { operatorId: alice.unionId }, body: { name: 'n' } } },
      listWorkspaces: { method: 'GET', path: '/v2.0/wiki/workspaces', options: { token: forcedToken, query: { operatorId: alice.unionId } } },
      getWorkspace: { method: 'GET', path: `/v2.0/wiki/workspaces/${handbook.workspaceId}`, options: { token: forcedToken, query: { operatorId: alice.unionId } } },
      createWorkspaceDoc: { method: 'POST', path: `/v1.0/doc/workspaces/${handbook.workspaceId}/docs`, options: { token: forcedToken, body: { name: 'n', docType: 'DOC', operatorId: alice.unionId } } },
      addSpace: { method: 'POST', path: '/v1.0/drive/spaces', options: { token: forcedToken, body: { name: 'n', unionId: alice.unionId } } },
    };
    let count = 0;
    for (const operation of forced.operations.values()) {
      const sample = samples[operation.operationId]!;
      for (const [status, codes] of operation.errors) {
        for (const code of codes.keys()) {
          forced.faults.set({ [operation.operationId]: { error: { status, code, times: 1 } } });
          const res = await call(forced, sample.method, sample.path, sample.options);
          expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
          expectValid(operation.operationId, res, 'forced');
          count++;
        }
      }
    }
    expect(count).toBeGreaterThan(60);
  });

  it('the validator is not vacuous: it refuses what the spec does not allow', () => {
    expect(validator.validateResponse('addSpace', 400, { code: 'paramError.name', message: 'm', requestid: 'r' }).ok).toBe(false);
    expect(validator.validateResponse('addSpace', 400, { code: 'param.error', message: 'm' }).ok).toBe(false);
    expect(validator.validateResponse('getWorkspace', 200, { workspace: { workspaceId: 'w' } }).ok).toBe(false);
  });
});

it('answered every documented (operation, status, code), and reached each reproducible one through its cause', () => {
  // Every documented (operation, status, code) was answered, and each one with a cause the
  // sandbox can reproduce was reached through that cause, not only by forcing it.
  const documented = [...createSandbox().operations.values()].flatMap((o) =>
    [...o.errors].flatMap(([status, codes]) => [...codes.keys()].map((code) => key(o.operationId, status, code))),
  );
  expect(documented.filter((k) => !seen.has(k))).toEqual([]);
  const natural = [...seen].filter(([, how]) => how === 'natural').map(([k]) => k);
  const onlyForced = documented.filter((k) => seen.get(k) === 'forced');
  console.log(`contract: ${documented.length} documented codes; ${natural.length} reached through a real cause, ${onlyForced.length} only by fault injection`);
  // Codes no request can cause in the sandbox: platform states (busy, timeouts, quotas, IP
  // allow-lists) and the odd documented code with no documented trigger.
  const allowedOnlyForced = [
    /systemError|unknownError|operationTimeout|internalError|unknown\.error|system\.busy/,
    /IpNotInWhiteList|QpsLimitForApi$|QpmLimitForAppkeyAndApi|ApiCountLimitForOrg/,
    /request\.overlimit|unsupported\.operation/,
    // no seeded app lacks Wiki.Workspace.Read (the read-only app is the least privileged)
    /^(listWorkspaces|getWorkspace) 403 Forbidden\.AccessDenied\.AccessTokenPermissionDenied$/,
  ];
  expect(onlyForced.filter((k) => !allowedOnlyForced.some((re) => re.test(k)))).toEqual([]);
});
