import { describe, expect, it } from 'vitest';
import { invalidationsOf } from './invalidation.js';
import type { OpenApiDocument } from './openapi-document.js';
import { readDingTalkSource } from './sources.js';

const invalidations = invalidationsOf(readDingTalkSource());

describe('invalidationsOf dingtalk.yaml', () => {
  it('names the reads each write makes stale', () => {
    expect(invalidations.of('addWorkspace')).toEqual([{ operation: 'listWorkspaces' }]);
    expect(invalidations.of('createWorkspaceDoc')).toEqual([{ operation: 'getWorkspace', where: { workspaceId: 'workspaceId' } }, { operation: 'listWorkspaces' }]);
    // Opening a Knowledge Base moves it up its viewer's listing (orderBy VIEW_TIME_DESC, the default).
    expect(invalidations.of('getWorkspace')).toEqual([{ operation: 'listWorkspaces', where: { operatorId: 'operatorId' } }]);
    for (const id of ['addSpace', 'getAccessToken', 'getCorpAccessToken', 'listWorkspaces']) expect(invalidations.of(id), id).toEqual([]);
  });

  it('says which path parameters narrow a read\'s invalidation', () => {
    expect(invalidations.scopesOf('getWorkspace')).toEqual(['workspaceId']);
    expect(invalidations.scopesOf('listWorkspaces')).toEqual(['operatorId']);
  });

  it('refuses a write that says nothing, or names what is not a read of the document', () => {
    const doc = (write: Record<string, unknown>): OpenApiDocument =>
      ({
        openapi: '3.1.0',
        info: {},
        paths: {
          '/things/{thingId}': { get: { operationId: 'getThing', 'x-dingtalk-sdk': {}, responses: {} } },
          '/things/{thingId}/parts': { post: { operationId: 'addPart', 'x-dingtalk-sdk': {}, responses: {}, ...write } },
          '/gateway/own': { post: { operationId: 'own', responses: {} } },
        },
      }) as OpenApiDocument;
    expect(() => invalidationsOf(doc({}))).toThrow(/POST \/things\/\{thingId\}\/parts needs x-dingtalk-invalidates/);
    expect(() => invalidationsOf(doc({ 'x-dingtalk-invalidates': [{ operation: 'addPart' }] }))).toThrow(/"addPart" is not a GET operation/);
    expect(() => invalidationsOf(doc({ 'x-dingtalk-invalidates': [{ operation: 'getThing', where: { partId: 'thingId' } }] }))).toThrow(/getThing has no parameter partId/);
    expect(() => invalidationsOf(doc({ 'x-dingtalk-invalidates': [{ operation: 'getThing', where: { thingId: 'partId' } }] }))).toThrow(/no parameter partId here/);
    expect(() => invalidationsOf(doc({ 'x-dingtalk-invalidates': [{ operation: 'getThing', when: 'always' }] }))).toThrow(/unknown key when/);
    expect(() => invalidationsOf(doc({ 'x-dingtalk-invalidates': [{ operation: 'getThing', where: {} }] }))).toThrow(/where must map one of/);
    const ok = invalidationsOf(doc({ 'x-dingtalk-invalidates': [{ operation: 'getThing', where: { thingId: 'thingId' } }] }));
    expect(ok.of('addPart')).toEqual([{ operation: 'getThing', where: { thingId: 'thingId' } }]);
    expect(ok.scopesOf('getThing')).toEqual(['thingId']);
  });
});
