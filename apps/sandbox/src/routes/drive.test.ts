import { beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../app.js';
import { seeded } from '../seed.js';
import { call, corpTokenFor, expectError, manualClock, tokenFor } from '../testing/helpers.js';

const { alice, dave } = seeded.users;

let sandbox: Sandbox;
let token: string;

beforeEach(async () => {
  sandbox = createSandbox({ now: manualClock(Date.parse('2025-06-02T08:15:42.123Z')).now });
  token = await tokenFor(sandbox);
});

const addSpace = (body: unknown, withToken = token) => call(sandbox, 'POST', '/v1.0/drive/spaces', { token: withToken, body });

describe('AddSpace', () => {
  it('creates a shared space of the org', async () => {
    const res = await addSpace({ name: 'Design assets', unionId: alice.unionId });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      spaceId: expect.stringMatching(/^\d+$/),
      spaceName: 'Design assets',
      spaceType: 'org',
      quota: expect.any(Number),
      usedQuota: 0,
      permissionMode: 'acl',
      createTime: '2025-06-02T08:15:42Z',
      modifyTime: '2025-06-02T08:15:42Z',
    });
    const again = await addSpace({ name: 'Design assets', unionId: alice.unionId });
    expect(again.body.spaceId).not.toBe(res.body.spaceId);
  });

  it.each([
    ['an empty name', ''],
    ['a blank name', '   '],
    ['a name with a slash', 'a/b'],
    ['a name with a colon', 'a:b'],
    ['a name over 50 characters', 'x'.repeat(51)],
  ])('answers name.invalid for %s', async (_, name) => {
    expectError(await addSpace({ name, unionId: alice.unionId }), 400, 'name.invalid');
  });

  it.each([
    ['a missing name', { unionId: alice.unionId }],
    ['a name that is not a string', { name: 3, unionId: alice.unionId }],
    ['a missing unionId', { name: 'Files' }],
    ['an unknown unionId', { name: 'Files', unionId: 'noSuchUnionId' }],
  ])('answers param.error for %s', async (_, body) => {
    expectError(await addSpace(body), 400, 'param.error');
  });

  it('answers no.priviledge for a user of another org', async () => {
    expectError(await addSpace({ name: 'Files', unionId: dave.unionId }), 400, 'no.priviledge');
  });

  it('answers addSpace.forbiden when the org disabled space creation', async () => {
    const lockedToken = await corpTokenFor(sandbox, seeded.orgs.locked.corpId);
    const res = await addSpace({ name: 'Files', unionId: dave.unionId }, lockedToken);
    expectError(res, 400, 'addSpace.forbiden');
    expect(res.body.message).toBe('Add space is forbiden.');
  });
});
