import { describe, expect, it } from 'vitest';
import { meteringOf } from './metering.js';
import type { OpenApiDocument } from './openapi-document.js';
import { readDingTalkSource } from './sources.js';

const metering = meteringOf(readDingTalkSource());

describe('meteringOf dingtalk.yaml', () => {
  it('meters the five APIs and not the token endpoints', () => {
    for (const id of ['addWorkspace', 'getWorkspace', 'listWorkspaces', 'createWorkspaceDoc', 'addSpace']) expect(metering.isMetered(id), id).toBe(true);
    for (const id of ['getAccessToken', 'getCorpAccessToken']) expect(metering.isMetered(id), id).toBe(false);
    expect(() => metering.isMetered('nope')).toThrow(/no operation nope/);
  });

  it('counts every answer of the API, and none the platform refused before it ran', () => {
    expect(metering.counts({ status: 200, code: undefined })).toBe(true);
    expect(metering.counts({ status: 400, code: 'paramError.name' })).toBe(true);
    expect(metering.counts({ status: 404, code: 'workspaceNotExist' })).toBe(true);
    expect(metering.counts({ status: 500, code: 'systemError' })).toBe(true);
    for (const code of ['InvalidAuthentication', 'Forbidden.AccessDenied.AccessTokenPermissionDenied', 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', 'Forbidden.AccessDenied.QpsLimitForApi', 'Forbidden.AccessDenied.ApiCountLimitForOrg', 'system.busy']) {
      expect(metering.counts({ status: 403, code }), code).toBe(false);
    }
    // Not DingTalk's JSON (an HTML error page): not the API's answer.
    expect(metering.counts({ status: 502, code: undefined })).toBe(false);
  });

  it('refuses a document that leaves an operation unsaid or the codes unlisted', () => {
    const doc = (operation: Record<string, unknown>, metering: unknown = { notCounted: [] }): OpenApiDocument =>
      ({ openapi: '3.1.0', info: {}, 'x-dingtalk-metering': metering, paths: { '/a': { get: { operationId: 'a', responses: {}, ...operation } } } }) as OpenApiDocument;
    expect(() => meteringOf(doc({}))).toThrow(/GET \/a needs x-dingtalk-metered: true or false/);
    expect(() => meteringOf(doc({ 'x-dingtalk-metered': 'yes' }))).toThrow(/needs x-dingtalk-metered/);
    expect(() => meteringOf(doc({ 'x-dingtalk-metered': true }, null))).toThrow(/notCounted must list/);
    expect(meteringOf(doc({ 'x-dingtalk-metered': true })).isMetered('a')).toBe(true);
  });
});
