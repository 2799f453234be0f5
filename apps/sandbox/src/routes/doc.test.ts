import { beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../app.js';
import { seeded } from '../seed.js';
import { call, expectError, tokenFor } from '../testing/helpers.js';

const { alice, bob, carol, dave } = seeded.users;
const { handbook, roadmap, archived, lockedWiki } = seeded.workspaces;
const { onboardingFolder, dayOneDoc } = seeded.nodes;

let sandbox: Sandbox;
let token: string;

beforeEach(async () => {
  sandbox = createSandbox();
  token = await tokenFor(sandbox);
});

const create = (body: Record<string, unknown>, workspaceId = handbook.workspaceId) =>
  call(sandbox, 'POST', `/v1.0/doc/workspaces/${workspaceId}/docs`, { token, body: { docType: 'DOC', operatorId: alice.unionId, ...body } });

describe('CreateWorkspaceDoc', () => {
  it('creates a node under the root and returns nodeId, docKey, dentryUuid and url', async () => {
    const res = await create({ name: 'Coding style' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      workspaceId: handbook.workspaceId,
      nodeId: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      docKey: expect.stringMatching(/^[A-Za-z0-9]{20}$/),
      dentryUuid: res.body.nodeId,
      url: `https://alidocs.dingtalk.com/i/nodes/${res.body.nodeId}`,
    });
    expect(sandbox.state.nodes.get(res.body.nodeId)).toMatchObject({ parentNodeId: handbook.rootNodeId, name: 'Coding style', docType: 'DOC' });
  });

  it('creates nodes under a parentNodeId: a FOLDER holds children, and so does a DOC', async () => {
    const folder = await create({ name: 'Runbooks', docType: 'FOLDER' });
    const inFolder = await create({ name: 'Paging', docType: 'DOC', parentNodeId: folder.body.nodeId });
    const sheet = await create({ name: 'On-call rota', docType: 'WORKBOOK', parentNodeId: folder.body.nodeId });
    const underDoc = await create({ name: 'Appendix', parentNodeId: inFolder.body.nodeId });
    expect([folder.status, inFolder.status, sheet.status, underDoc.status]).toEqual([200, 200, 200, 200]);
    expect(sandbox.state.childrenOf(folder.body.nodeId).map((n) => n.name).sort()).toEqual(['On-call rota', 'Paging']);
    expect(sandbox.state.nodes.get(underDoc.body.nodeId)?.parentNodeId).toBe(inFolder.body.nodeId);
    // a spreadsheet is not a container
    expectError(await create({ name: 'Nope', parentNodeId: sheet.body.nodeId }), 400, 'invalidRequest.inputArgs.invalid');
  });

  it('answers nameConflict for the same name under the same parent only', async () => {
    expectError(await create({ name: 'Day one', parentNodeId: onboardingFolder }), 400, 'invalidRequest.workspaceNode.nameConflict');
    expectError(await create({ name: 'Onboarding', docType: 'FOLDER' }), 400, 'invalidRequest.workspaceNode.nameConflict');
    expect((await create({ name: 'Day one' })).status).toBe(200);
    expect((await create({ name: 'Day one', parentNodeId: dayOneDoc })).status).toBe(200);
  });

  it('answers parentNotFound for an unknown parent, or one in another Knowledge Base', async () => {
    expectError(await create({ name: 'x', parentNodeId: 'nodeDoesNotExist' }), 400, 'invalidRequest.workspaceNode.parentNotFound');
    expectError(await create({ name: 'x', parentNodeId: roadmap.rootNodeId }), 400, 'invalidRequest.workspaceNode.parentNotFound');
  });

  it('creates from a template the operator may use, and answers template.notFound otherwise', async () => {
    const { weeklyReport, retro, aliceBudget } = seeded.templates;
    expect((await create({ name: 'W23', templateId: weeklyReport.templateId, templateType: 'public_template' })).status).toBe(200);
    expect((await create({ name: 'Retro 1', templateId: retro.templateId })).status).toBe(200);
    expect((await create({ name: 'Budget', docType: 'WORKBOOK', templateId: aliceBudget.templateId })).status).toBe(200);
    const notFound = 'invalidRequest.template.notFound';
    expectError(await create({ name: 'a', templateId: 'tplDoesNotExist' }), 400, notFound);
    expectError(await create({ name: 'b', templateId: weeklyReport.templateId, templateType: 'team_template' }), 400, notFound);
    expectError(await create({ name: 'c', docType: 'WORKBOOK', templateId: aliceBudget.templateId, operatorId: bob.unionId }), 400, notFound);
    expectError(await create({ name: 'd', templateId: retro.templateId, operatorId: carol.unionId }, handbook.workspaceId), 403, 'forbidden.accessDenied');
    // a template of another kind of document does not fit the docType
    expectError(await create({ name: 'e', docType: 'MIND', templateId: weeklyReport.templateId }), 400, 'invalidRequest.inputArgs.invalid');
  });

  it.each([
    ['a docType outside the enum', { name: 'x', docType: 'PDF' }],
    ['a missing docType', { name: 'x', docType: undefined }],
    ['a missing name', { name: undefined }],
    ['a blank name', { name: '  ' }],
    ['a missing operatorId', { name: 'x', operatorId: undefined }],
    ['an unknown unionId', { name: 'x', operatorId: 'noSuchUnionId' }],
    ['a templateType outside the enum', { name: 'x', templateType: 'org_template' }],
    ['a parentNodeId that is not a string', { name: 'x', parentNodeId: 7 }],
  ])('answers invalidRequest.inputArgs.invalid for %s', async (_, body) => {
    expectError(await create(body), 400, 'invalidRequest.inputArgs.invalid');
  });

  it('answers forbidden.user.notInOrg for a user of another org', async () => {
    expectError(await create({ name: 'x', operatorId: dave.unionId }), 403, 'forbidden.user.notInOrg');
  });

  it('answers forbidden.accessDenied for an operator who may only read', async () => {
    expectError(await create({ name: 'x', operatorId: carol.unionId }), 403, 'forbidden.accessDenied');
    expectError(await create({ name: 'x', operatorId: carol.unionId }, roadmap.workspaceId), 403, 'forbidden.accessDenied');
  });

  it('answers resource.notFound for an unknown or other-org Knowledge Base, workspace.deleted for a deleted one', async () => {
    expectError(await create({ name: 'x' }, 'wsDoesNotExist00'), 404, 'invalidRequest.resource.notFound');
    expectError(await create({ name: 'x' }, lockedWiki.workspaceId), 404, 'invalidRequest.resource.notFound');
    expectError(await create({ name: 'x' }, archived.workspaceId), 404, 'invalidRequest.workspace.deleted');
  });
});
