/**
 * DingTalk's official Node SDK (`@alicloud/dingtalk`) against the sandbox on a real port: every
 * operation end to end, and documented error codes surfacing as SDK errors. This is the proof
 * that the sandbox (and the spec behind it) speak DingTalk's real wire format.
 *
 * How the SDK talks (read from its source): each product client extends
 * `@alicloud/openapi-client` and calls `execute()`, whose `@alicloud/gateway-dingtalk` hooks set
 * `host` to `config.endpoint`, send JSON bodies, and turn any 4xx/5xx into an error with `code`
 * (the body's `code`), `statusCode`, `data` (the body) and `accessDeniedDetail`; tea's
 * `doAction` builds the URL as `${protocol}://${host}${pathname}?${query}`.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as $OpenApi from '@alicloud/openapi-client';
import * as $Util from '@alicloud/tea-util';
import { seeded } from './seed.js';
import { type RunningSandbox, startSandbox } from './server.js';

// The SDK is CommonJS with no `exports` map: load its product entry points the way Node would.
const require = createRequire(import.meta.url);
const oauth2 = require('@alicloud/dingtalk/oauth2_1_0') as typeof import('@alicloud/dingtalk/dist/oauth2_1_0/client.js');
const wiki = require('@alicloud/dingtalk/wiki_2_0') as typeof import('@alicloud/dingtalk/dist/wiki_2_0/client.js');
const doc = require('@alicloud/dingtalk/doc_1_0') as typeof import('@alicloud/dingtalk/dist/doc_1_0/client.js');
const drive = require('@alicloud/dingtalk/drive_1_0') as typeof import('@alicloud/dingtalk/dist/drive_1_0/client.js');

const { alice, dave } = seeded.users;
const { handbook, alicePersonal } = seeded.workspaces;
const teamId = seeded.teams.engineering.teamId;

/** What the SDK throws for an error answer (tea's ResponseError). */
interface SdkError {
  code: string;
  statusCode: number;
  message: string;
  data: { code: string; message: string; requestid: string; statusCode: number };
  accessDeniedDetail?: { requiredScopes: string[] };
}

async function sdkError(call: Promise<unknown>): Promise<SdkError> {
  try {
    await call;
  } catch (error) {
    return error as SdkError;
  }
  throw new Error('expected the SDK call to fail');
}

let running: RunningSandbox;
let config: $OpenApi.Config;
const runtime = () => new $Util.RuntimeOptions({});

beforeAll(async () => {
  running = await startSandbox({ admin: true });
  config = new $OpenApi.Config({
    protocol: 'http',
    endpoint: `127.0.0.1:${running.port}`,
    // Headers other DingTalk/Alibaba Cloud SDKs send on every call: the sandbox must not mind.
    globalParameters: new $OpenApi.GlobalParameters({
      headers: { 'x-acs-action': 'sandbox-test', 'x-acs-version': '1.0', 'x-acs-signature-nonce': 'b4c1d2e3', date: new Date().toUTCString() },
    }),
  });
});
afterAll(() => running.close());

const accessToken = async (app = seeded.apps.full) =>
  (await new oauth2.default(config).getAccessToken(new oauth2.GetAccessTokenRequest({ appKey: app.appKey, appSecret: app.appSecret }))).body!.accessToken!;

describe('the official SDK against the sandbox', () => {
  it('oauth2_1_0 GetAccessToken: a token, and invalidClientIdOrSecret as an SDK error', async () => {
    const client = new oauth2.default(config);
    const res = await client.getAccessToken(new oauth2.GetAccessTokenRequest({ appKey: seeded.apps.full.appKey, appSecret: seeded.apps.full.appSecret }));
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatchObject({ accessToken: expect.stringMatching(/^[0-9a-f]{32}$/), expireIn: 7200 });
    expect(res.headers?.['x-acs-request-id']).toBeTruthy();
    const error = await sdkError(client.getAccessToken(new oauth2.GetAccessTokenRequest({ appKey: seeded.apps.full.appKey, appSecret: 'wrong' })));
    expect(error).toMatchObject({ code: 'invalidClientIdOrSecret', statusCode: 400 });
    expect(error.message).toMatch(/^invalidClientIdOrSecret: code: 400, .* request id: [0-9A-F-]{36}$/);
  });

  it('oauth2_1_0 GetCorpAccessToken: a new token per call, and invalidSuiteTicket / invalidAuthInfo', async () => {
    const client = new oauth2.default(config);
    const { suiteKey, suiteSecret, suiteTicket } = seeded.suites.isv;
    const request = (overrides: Record<string, string> = {}) =>
      new oauth2.GetCorpAccessTokenRequest({ suiteKey, suiteSecret, suiteTicket, authCorpId: seeded.orgs.sandbox.corpId, ...overrides });
    const first = await client.getCorpAccessToken(request());
    const second = await client.getCorpAccessToken(request());
    expect(first.body?.expireIn).toBe(7200);
    expect(second.body?.accessToken).not.toBe(first.body?.accessToken);
    expect(await sdkError(client.getCorpAccessToken(request({ suiteTicket: 'stale' })))).toMatchObject({ code: 'invalidSuiteTicket', statusCode: 400 });
    expect(await sdkError(client.getCorpAccessToken(request({ authCorpId: 'dingother' })))).toMatchObject({ code: 'invalidAuthInfo', statusCode: 400 });
  });

  it('wiki_2_0 AddWorkspace, GetWorkspace and ListWorkspaces (with teamId), and their errors', async () => {
    const client = new wiki.default(config);
    const token = await accessToken();
    const headers = { add: new wiki.AddWorkspaceHeaders({ xAcsDingtalkAccessToken: token }), get: new wiki.GetWorkspaceHeaders({ xAcsDingtalkAccessToken: token }), list: new wiki.ListWorkspacesHeaders({ xAcsDingtalkAccessToken: token }) };

    const added = await client.addWorkspaceWithOptions(
      new wiki.AddWorkspaceRequest({ operatorId: alice.unionId, name: 'SDK notes', option: new wiki.AddWorkspaceRequestOption({ description: 'from the SDK', teamId }) }),
      headers.add,
      runtime(),
    );
    const workspace = added.body?.workspace;
    expect(workspace).toMatchObject({ name: 'SDK notes', description: 'from the SDK', teamId, type: 'TEAM', permissionRole: 'OWNER', icon: { type: 'EMOJI' } });

    const got = await client.getWorkspaceWithOptions(workspace!.workspaceId!, new wiki.GetWorkspaceRequest({ operatorId: alice.unionId, withPermissionRole: true }), headers.get, runtime());
    expect(got.body?.workspace).toMatchObject({ workspaceId: workspace!.workspaceId, rootNodeId: workspace!.rootNodeId, permissionRole: 'OWNER' });

    const pages: string[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await client.listWorkspacesWithOptions(
        new wiki.ListWorkspacesRequest({ operatorId: alice.unionId, teamId, maxResults: 2, orderBy: 'CREATE_TIME_DESC', withPermissionRole: true, ...(nextToken ? { nextToken } : {}) }),
        headers.list,
        runtime(),
      );
      pages.push(...(res.body?.workspaces ?? []).map((w) => w.workspaceId!));
      nextToken = res.body?.nextToken;
      if (!nextToken) break;
    }
    expect(pages).toEqual([workspace!.workspaceId, seeded.workspaces.roadmap.workspaceId, handbook.workspaceId]);

    const nameError = await sdkError(client.addWorkspaceWithOptions(new wiki.AddWorkspaceRequest({ operatorId: alice.unionId, name: '' }), headers.add, runtime()));
    expect(nameError).toMatchObject({ code: 'paramError.name', statusCode: 400 });
    const personal = await sdkError(client.getWorkspaceWithOptions(alicePersonal.workspaceId, new wiki.GetWorkspaceRequest({ operatorId: alice.unionId }), headers.get, runtime()));
    expect(personal).toMatchObject({ code: 'isNotWorkspace', statusCode: 400 });
    const missing = await sdkError(client.getWorkspaceWithOptions('wsNoSuchThing000', new wiki.GetWorkspaceRequest({ operatorId: alice.unionId }), headers.get, runtime()));
    expect(missing).toMatchObject({ code: 'workspaceNotExist', statusCode: 404 });
    const team = await sdkError(client.listWorkspacesWithOptions(new wiki.ListWorkspacesRequest({ operatorId: alice.unionId, teamId: 'teamNope' }), headers.list, runtime()));
    expect(team).toMatchObject({ code: 'teamNotExist', statusCode: 404 });
    const order = await sdkError(client.listWorkspacesWithOptions(new wiki.ListWorkspacesRequest({ operatorId: alice.unionId, orderBy: 'NAME' }), headers.list, runtime()));
    expect(order).toMatchObject({ code: 'paramError.orderBy', statusCode: 400 });
    const outsider = await sdkError(client.listWorkspacesWithOptions(new wiki.ListWorkspacesRequest({ operatorId: dave.unionId }), headers.list, runtime()));
    expect(outsider).toMatchObject({ code: 'permissionDenied', statusCode: 403 });
  });

  it('doc_1_0 CreateWorkspaceDoc, and nameConflict / notInOrg', async () => {
    const client = new doc.default(config);
    const headers = new doc.CreateWorkspaceDocHeaders({ xAcsDingtalkAccessToken: await accessToken() });
    const create = (fields: Record<string, string>) =>
      client.createWorkspaceDocWithOptions(handbook.workspaceId, new doc.CreateWorkspaceDocRequest({ docType: 'DOC', operatorId: alice.unionId, ...fields }), headers, runtime());
    const folder = await create({ name: 'SDK folder', docType: 'FOLDER' });
    expect(folder.body).toMatchObject({ workspaceId: handbook.workspaceId, nodeId: expect.any(String), docKey: expect.any(String), url: expect.any(String) });
    const inside = await create({ name: 'SDK doc', parentNodeId: folder.body!.nodeId!, templateId: seeded.templates.weeklyReport.templateId, templateType: 'public_template' });
    expect(inside.body?.dentryUuid).toBe(inside.body?.nodeId);
    expect(await sdkError(create({ name: 'SDK folder' }))).toMatchObject({ code: 'invalidRequest.workspaceNode.nameConflict', statusCode: 400 });
    expect(await sdkError(create({ name: 'x', operatorId: dave.unionId }))).toMatchObject({ code: 'forbidden.user.notInOrg', statusCode: 403 });
    expect(await sdkError(create({ name: 'x', parentNodeId: 'nope' }))).toMatchObject({ code: 'invalidRequest.workspaceNode.parentNotFound', statusCode: 400 });
  });

  it('drive_1_0 AddSpace, and name.invalid / addSpace.forbiden (ISV token for the locked org)', async () => {
    const client = new drive.default(config);
    const headers = new drive.AddSpaceHeaders({ xAcsDingtalkAccessToken: await accessToken() });
    const space = await client.addSpaceWithOptions(new drive.AddSpaceRequest({ name: 'SDK space', unionId: alice.unionId }), headers, runtime());
    expect(space.body).toMatchObject({ spaceId: expect.stringMatching(/^\d+$/), spaceName: 'SDK space', spaceType: 'org', permissionMode: 'acl' });
    expect(await sdkError(client.addSpaceWithOptions(new drive.AddSpaceRequest({ name: 'a/b', unionId: alice.unionId }), headers, runtime()))).toMatchObject({
      code: 'name.invalid',
      statusCode: 400,
    });

    const { suiteKey, suiteSecret, suiteTicket } = seeded.suites.isv;
    const corpToken = await new oauth2.default(config).getCorpAccessToken(
      new oauth2.GetCorpAccessTokenRequest({ suiteKey, suiteSecret, suiteTicket, authCorpId: seeded.orgs.locked.corpId }),
    );
    const lockedHeaders = new drive.AddSpaceHeaders({ xAcsDingtalkAccessToken: corpToken.body!.accessToken! });
    const forbidden = await sdkError(client.addSpaceWithOptions(new drive.AddSpaceRequest({ name: 'Files', unionId: dave.unionId }), lockedHeaders, runtime()));
    expect(forbidden).toMatchObject({ code: 'addSpace.forbiden', statusCode: 400, data: { message: 'Add space is forbiden.' } });
  });

  it('surfaces the platform codes: InvalidAuthentication, AccessTokenPermissionDenied with its scopes, QPS limit', async () => {
    const client = new wiki.default(config);
    const add = (token: string) =>
      client.addWorkspaceWithOptions(new wiki.AddWorkspaceRequest({ operatorId: alice.unionId, name: 'x' }), new wiki.AddWorkspaceHeaders({ xAcsDingtalkAccessToken: token }), runtime());
    expect(await sdkError(add('not-a-token'))).toMatchObject({ code: 'InvalidAuthentication', statusCode: 400 });
    const denied = await sdkError(add(await accessToken(seeded.apps.readOnly)));
    expect(denied).toMatchObject({ code: 'Forbidden.AccessDenied.AccessTokenPermissionDenied', statusCode: 403, accessDeniedDetail: { requiredScopes: ['Wiki.Workspace.Write'] } });

    running.sandbox.qps.limit = 1;
    try {
      const token = await accessToken();
      const list = () => client.listWorkspacesWithOptions(new wiki.ListWorkspacesRequest({ operatorId: alice.unionId }), new wiki.ListWorkspacesHeaders({ xAcsDingtalkAccessToken: token }), runtime());
      const outcomes = await Promise.allSettled([list(), list(), list()]);
      const codes = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as SdkError).code : 'ok'));
      expect(codes).toContain('Forbidden.AccessDenied.QpsLimitForAppkeyAndApi');
    } finally {
      running.sandbox.qps.limit = 20;
    }
  });

  it('surfaces injected faults: a forced error, and a dropped connection as a network error', async () => {
    const client = new oauth2.default(config);
    const request = new oauth2.GetAccessTokenRequest({ appKey: seeded.apps.full.appKey, appSecret: seeded.apps.full.appSecret });
    running.sandbox.faults.set({ getAccessToken: { error: { status: 400, code: 'invalidClientIdOrSecret', times: 1 } } });
    expect(await sdkError(client.getAccessToken(request))).toMatchObject({ code: 'invalidClientIdOrSecret', statusCode: 400 });
    running.sandbox.faults.set({ getAccessToken: { dropConnection: { times: 1 } } });
    const dropped = (await sdkError(client.getAccessToken(request))) as unknown as Error & { code?: string; statusCode?: number };
    expect(dropped.statusCode).toBeUndefined();
    expect(`${dropped.code} ${dropped.message}`).toMatch(/ECONNRESET|socket hang up/);
    expect((await client.getAccessToken(request)).statusCode).toBe(200);
  });
});
