import { beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../app.js';
import { seeded } from '../seed.js';
import { call, expectError, manualClock, tokenFor } from '../testing/helpers.js';

const { alice, bob, carol, dave } = seeded.users;
const { handbook, roadmap, designSystem, alicePersonal, archived, lockedWiki } = seeded.workspaces;
const teamId = seeded.teams.engineering.teamId;

let sandbox: Sandbox;
let token: string;
let clock: ReturnType<typeof manualClock>;

beforeEach(async () => {
  clock = manualClock();
  // QPS is not under test here: a high limit keeps the pagination loops clear of it.
  sandbox = createSandbox({ now: clock.now, qpsLimit: 10_000 });
  token = await tokenFor(sandbox);
});

const add = (body: unknown, operatorId: string | undefined = alice.unionId) =>
  call(sandbox, 'POST', '/v2.0/wiki/workspaces', { token, query: { operatorId }, body });
const get = (workspaceId: string, query: Record<string, string | boolean | undefined> = {}) =>
  call(sandbox, 'GET', `/v2.0/wiki/workspaces/${workspaceId}`, { token, query: { operatorId: alice.unionId, ...query } });
const list = (query: Record<string, string | number | boolean | undefined> = {}) =>
  call(sandbox, 'GET', '/v2.0/wiki/workspaces', { token, query: { operatorId: alice.unionId, ...query } });
const ids = (res: { body: { workspaces: Array<{ workspaceId: string }> } }) => res.body.workspaces.map((w) => w.workspaceId);

/** Every page of a listing, following nextToken (bounded). */
async function listAll(query: Record<string, string | number | boolean | undefined>): Promise<string[]> {
  const seen: string[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < 100; page++) {
    const res = await list({ ...query, nextToken });
    expect(res.status).toBe(200);
    seen.push(...ids(res));
    nextToken = res.body.nextToken;
    if (!nextToken) return seen;
  }
  throw new Error('more than 100 pages');
}

describe('AddWorkspace', () => {
  it('creates a Knowledge Base owned by the operator, with a root node, readable with GetWorkspace', async () => {
    clock.set(Date.parse('2025-06-02T08:15:42Z'));
    const res = await add({ name: 'Release notes', option: { description: 'Every release', teamId } });
    expect(res.status).toBe(200);
    const { workspace } = res.body;
    expect(workspace).toMatchObject({
      corpId: seeded.orgs.sandbox.corpId,
      teamId,
      name: 'Release notes',
      description: 'Every release',
      type: 'TEAM',
      creatorId: alice.userId,
      modifierId: alice.userId,
      createTime: '2025-06-02T08:15Z',
      modifiedTime: '2025-06-02T08:15Z',
      permissionRole: 'OWNER',
    });
    expect(sandbox.state.nodes.get(workspace.rootNodeId)?.docType).toBe('ROOT');
    expect((await get(workspace.workspaceId)).body.workspace).toEqual({ ...workspace, permissionRole: undefined });
    // team members become members with their team role
    const asBob = await call(sandbox, 'GET', `/v2.0/wiki/workspaces/${workspace.workspaceId}`, {
      token,
      query: { operatorId: bob.unionId, withPermissionRole: true },
    });
    expect(asBob.body.workspace.permissionRole).toBe('EDITOR');
  });

  it.each([
    ['a missing name', {}],
    ['an empty name', { name: '' }],
    ['a blank name', { name: '   ' }],
    ['a name that is not a string', { name: 42 }],
    ['a name over 100 characters', { name: 'x'.repeat(101) }],
  ])('answers paramError.name for %s', async (_, body) => {
    expectError(await add(body), 400, 'paramError.name');
  });

  it('answers paramError.description for a description over 200 characters', async () => {
    expectError(await add({ name: 'n', option: { description: 'd'.repeat(201) } }), 400, 'paramError.description');
  });

  it('answers paramError for a missing operatorId and for an unknown team', async () => {
    expectError(await add({ name: 'n' }, ''), 400, 'paramError');
    expectError(await add({ name: 'n', option: { teamId: 'teamUnknown' } }), 400, 'paramError');
  });

  it('answers permissionDenied for an operator outside the org, or without a writer role in the team', async () => {
    expectError(await add({ name: 'n' }, dave.unionId), 403, 'permissionDenied');
    expectError(await add({ name: 'n' }, 'unknownUnionId'), 403, 'permissionDenied');
    expectError(await add({ name: 'n', option: { teamId } }, carol.unionId), 403, 'permissionDenied');
  });
});

describe('GetWorkspace', () => {
  it('returns the Knowledge Base, with the permission role only when asked', async () => {
    const plain = await get(handbook.workspaceId);
    expect(plain.status).toBe(200);
    expect(plain.body.workspace).toMatchObject({ workspaceId: handbook.workspaceId, rootNodeId: handbook.rootNodeId, name: handbook.name });
    expect(plain.body.workspace.permissionRole).toBeUndefined();
    expect((await get(handbook.workspaceId, { withPermissionRole: true })).body.workspace.permissionRole).toBe('OWNER');
    expect((await get(handbook.workspaceId, { withPermissionRole: false })).body.workspace.permissionRole).toBeUndefined();
  });

  it('answers workspaceNotExist for an unknown, deleted or other-org Knowledge Base', async () => {
    expectError(await get('wsDoesNotExist00'), 404, 'workspaceNotExist');
    expectError(await get(archived.workspaceId), 404, 'workspaceNotExist');
    expectError(await get(lockedWiki.workspaceId), 404, 'workspaceNotExist');
  });

  it('answers isNotWorkspace for My Docs (a PERSONAL workspace)', async () => {
    expectError(await get(alicePersonal.workspaceId), 400, 'isNotWorkspace');
  });

  it('answers permissionDenied for an operator outside the org or without a role', async () => {
    expectError(await get(handbook.workspaceId, { operatorId: dave.unionId }), 403, 'permissionDenied');
    expectError(await get(roadmap.workspaceId, { operatorId: carol.unionId }), 403, 'permissionDenied');
  });

  it('answers paramError for a missing operatorId or a bad withPermissionRole', async () => {
    expectError(await get(handbook.workspaceId, { operatorId: '' }), 400, 'paramError');
    expectError(await get(handbook.workspaceId, { withPermissionRole: 'yes' }), 400, 'paramError');
  });
});

describe('ListWorkspaces', () => {
  it('lists the TEAM Knowledge Bases the operator has a role on, not deleted, not PERSONAL, not of other orgs', async () => {
    expect((await listAll({ orderBy: 'CREATE_TIME_DESC' })).sort()).toEqual(
      [handbook.workspaceId, roadmap.workspaceId, designSystem.workspaceId].sort(),
    );
    const asCarol = await list({ operatorId: carol.unionId });
    expect(ids(asCarol)).toEqual([handbook.workspaceId]);
  });

  it('sorts by each orderBy, most recent first, VIEW_TIME_DESC by default', async () => {
    expect(ids(await list({ orderBy: 'CREATE_TIME_DESC' }))).toEqual([designSystem.workspaceId, roadmap.workspaceId, handbook.workspaceId]);
    expect(ids(await list({ orderBy: 'MODIFIED_TIME_DESC' }))).toEqual([designSystem.workspaceId, handbook.workspaceId, roadmap.workspaceId]);
    // seeded views: roadmap 2025-03-12, handbook 2025-03-11, design never
    expect(ids(await list({ orderBy: 'VIEW_TIME_DESC' }))).toEqual([roadmap.workspaceId, handbook.workspaceId, designSystem.workspaceId]);
    expect(ids(await list())).toEqual(ids(await list({ orderBy: 'VIEW_TIME_DESC' })));
    // GetWorkspace is a view; a new document is a modification
    await get(designSystem.workspaceId);
    expect(ids(await list())[0]).toBe(designSystem.workspaceId);
    clock.advance(60_000);
    await call(sandbox, 'POST', `/v1.0/doc/workspaces/${roadmap.workspaceId}/docs`, { token, body: { name: 'Q3', docType: 'DOC', operatorId: alice.unionId } });
    expect(ids(await list({ orderBy: 'MODIFIED_TIME_DESC' }))[0]).toBe(roadmap.workspaceId);
  });

  it('filters by teamId, and answers teamNotExist for an unknown team', async () => {
    expect(ids(await list({ teamId, orderBy: 'CREATE_TIME_DESC' }))).toEqual([roadmap.workspaceId, handbook.workspaceId]);
    expectError(await list({ teamId: 'teamUnknown' }), 404, 'teamNotExist');
  });

  it('adds each permissionRole when withPermissionRole is true', async () => {
    const res = await list({ withPermissionRole: true, orderBy: 'CREATE_TIME_DESC' });
    expect(res.body.workspaces.map((w: { permissionRole: string }) => w.permissionRole)).toEqual(['OWNER', 'MANAGER', 'OWNER']);
    const asBob = await list({ operatorId: bob.unionId, withPermissionRole: true, orderBy: 'CREATE_TIME_DESC' });
    expect(asBob.body.workspaces.map((w: { permissionRole: string }) => w.permissionRole)).toEqual(['DOWNLOADER', 'OWNER', 'EDITOR']);
    expect((await list()).body.workspaces.every((w: object) => !('permissionRole' in w))).toBe(true);
  });

  it('pages with maxResults (default 30, at most 30) and an opaque nextToken', async () => {
    for (let i = 0; i < 40; i++) {
      clock.advance(1000);
      expect((await add({ name: `KB ${i}` })).status).toBe(200);
    }
    const first = await list({ orderBy: 'CREATE_TIME_DESC' });
    expect(first.body.workspaces).toHaveLength(30);
    expect(first.body.nextToken).toMatch(/^[A-Za-z0-9_-]+\.[a-z0-9]+$/);
    const second = await list({ orderBy: 'CREATE_TIME_DESC', nextToken: first.body.nextToken });
    expect(second.body.workspaces).toHaveLength(13);
    expect(second.body.nextToken).toBeUndefined();
    expect(new Set([...ids(first), ...ids(second)]).size).toBe(43);
    expect(ids(await list({ orderBy: 'CREATE_TIME_DESC', maxResults: 5 }))).toEqual(ids(first).slice(0, 5));
    expectError(await list({ maxResults: 31 }), 400, 'paramError');
    expectError(await list({ maxResults: 0 }), 400, 'paramError');
    expectError(await list({ maxResults: 'ten' }), 400, 'paramError');
  });

  it.each(['CREATE_TIME_DESC', 'MODIFIED_TIME_DESC', 'VIEW_TIME_DESC'])(
    'keeps pages stable under concurrent inserts (%s): no item repeated or skipped',
    async (orderBy) => {
      for (let i = 0; i < 10; i++) {
        clock.advance(1000);
        await add({ name: `Before ${i}` });
      }
      const before = await listAll({ orderBy });
      const seen: string[] = [];
      let nextToken: string | undefined;
      for (let page = 0; page < 20; page++) {
        const res = await list({ orderBy, maxResults: 3, nextToken });
        seen.push(...ids(res));
        // someone adds a Knowledge Base between every two pages
        clock.advance(1000);
        await add({ name: `During ${page}` });
        nextToken = res.body.nextToken;
        if (!nextToken) break;
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((id) => before.includes(id))).toEqual(before);
    },
  );

  it('answers paramError for a tampered, foreign or reused-elsewhere nextToken', async () => {
    const { nextToken } = (await list({ maxResults: 1 })).body;
    const [payload, sum] = nextToken.split('.');
    const forged = Buffer.from(JSON.stringify({ q: '["VIEW_TIME_DESC","","x"]', k: [0, 0, 'a'] })).toString('base64url');
    expectError(await list({ nextToken: `${forged}.${sum}` }), 400, 'paramError');
    expectError(await list({ nextToken: `${payload}x.${sum}` }), 400, 'paramError');
    expectError(await list({ nextToken: 'garbage' }), 400, 'paramError');
    expectError(await list({ nextToken, orderBy: 'CREATE_TIME_DESC' }), 400, 'paramError');
    const otherSandbox = createSandbox();
    const otherToken = await tokenFor(otherSandbox);
    expectError(await call(otherSandbox, 'GET', '/v2.0/wiki/workspaces', { token: otherToken, query: { operatorId: alice.unionId, nextToken } }), 400, 'paramError');
  });

  it('answers paramError.orderBy for an unknown order, paramError for a missing operatorId', async () => {
    expectError(await list({ orderBy: 'NAME_ASC' }), 400, 'paramError.orderBy');
    expectError(await list({ operatorId: '' }), 400, 'paramError');
  });

  it('answers permissionDenied for an operator outside the org', async () => {
    expectError(await list({ operatorId: dave.unionId }), 403, 'permissionDenied');
  });
});
