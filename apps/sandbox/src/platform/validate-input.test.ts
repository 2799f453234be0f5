/**
 * The sandbox checks every operation's input with the spec validator the gateway uses, and
 * answers with the spec's code for each bad input (`x-dingtalk-invalid-input`). The operations'
 * own tests cover each code; these pin the rules that no schema states, which the gateway
 * follows alike, and where the check sits in the pipeline.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../app.js';
import { seeded } from '../seed.js';
import { BASE, call, expectError, tokenFor } from '../testing/helpers.js';

const { alice } = seeded.users;
const handbook = seeded.workspaces.handbook.workspaceId;

let sandbox: Sandbox;
let token: string;

beforeEach(async () => {
  sandbox = createSandbox({ qpsLimit: 100_000 });
  token = await tokenFor(sandbox);
});

/** A POST with this exact body text and content type. */
const post = (path: string, rawBody: string, contentType: string) => call(sandbox, 'POST', path, { token, rawBody, contentType });

describe('validateInput', () => {
  it('runs after the token check: a bad token with bad input is still InvalidAuthentication', async () => {
    expectError(await call(sandbox, 'GET', '/v2.0/wiki/workspaces', { token: 'nope', query: { orderBy: 'BAD' } }), 400, 'InvalidAuthentication');
  });

  it('takes an optional query parameter sent empty as not sent', async () => {
    const res = await call(sandbox, 'GET', `/v2.0/wiki/workspaces/${handbook}`, { token, query: { operatorId: alice.unionId, withPermissionRole: '' } });
    expect(res.status).toBe(200);
    expect(res.body.workspace.permissionRole).toBeUndefined();
    expect((await call(sandbox, 'GET', '/v2.0/wiki/workspaces', { token, query: { operatorId: alice.unionId, orderBy: '', maxResults: '', teamId: '' } })).status).toBe(200);
    expectError(await call(sandbox, 'GET', '/v2.0/wiki/workspaces', { token, query: { operatorId: '' } }), 400, 'paramError');
  });

  it('refuses a declared query parameter sent twice, with its code', async () => {
    const res = await sandbox.app.fetch(
      new Request(`${BASE}/v2.0/wiki/workspaces?operatorId=${alice.unionId}&orderBy=VIEW_TIME_DESC&orderBy=CREATE_TIME_DESC`, { headers: { 'x-acs-dingtalk-access-token': token } }),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'paramError.orderBy', message: "query parameter 'orderBy' must not be repeated" });
  });

  it('refuses a JSON null where the spec wants an object (AddWorkspace option)', async () => {
    const res = await call(sandbox, 'POST', '/v2.0/wiki/workspaces', { token, query: { operatorId: alice.unionId }, body: { name: 'n', option: null } });
    expectError(res, 400, 'paramError');
    expect(res.body.message).toBe("body property 'option' must be an object");
  });

  it.each([
    ['text/json', 'text/json'],
    ['application/x-json', 'application/x-json'],
    ['text/plain', 'text/plain'],
  ])('reads no body declared as %s: the code of a body it cannot read', async (_label, contentType) => {
    const body = JSON.stringify({ name: 'Files', unionId: alice.unionId });
    expectError(await post('/v1.0/drive/spaces', body, contentType), 400, 'param.error');
    expectError(await post(`/v1.0/doc/workspaces/${handbook}/docs`, body, contentType), 400, 'invalidRequest.inputArgs.invalid');
  });

  it('refuses a body that is not UTF-8 or has a key twice, never reading a value the gateway would not', async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode(`{"unionId":"${alice.unionId}","name":"a`), 0xff, ...new TextEncoder().encode('"}')]);
    const notUtf8 = await sandbox.app.fetch(
      new Request(`${BASE}/v1.0/drive/spaces`, { method: 'POST', headers: { 'x-acs-dingtalk-access-token': token, 'content-type': 'application/json' }, body: bytes }),
    );
    expect(notUtf8.status).toBe(400);
    expect(await notUtf8.json()).toMatchObject({ code: 'param.error', message: 'request body is not valid UTF-8' });
    const twice = await post('/v1.0/drive/spaces', `{"name":"","name":"Files","unionId":"${alice.unionId}"}`, 'application/json');
    expectError(twice, 400, 'param.error');
    expect(twice.body.message).toBe("request body has the key 'name' twice in one object");
  });

  it("answers DingTalk's own rules with the spec's code for the field (AddSpace: a blank name is name.invalid, an unknown user param.error)", async () => {
    expectError(await call(sandbox, 'POST', '/v1.0/drive/spaces', { token, body: { name: '   ', unionId: alice.unionId } }), 400, 'name.invalid');
    expectError(await call(sandbox, 'POST', '/v1.0/drive/spaces', { token, body: { name: 'Files', unionId: 'nobody' } }), 400, 'param.error');
    expectError(await call(sandbox, 'POST', '/v2.0/wiki/workspaces', { token, query: { operatorId: alice.unionId }, body: { name: '  ' } }), 400, 'paramError.name');
  });
});
