import { describe, expectTypeOf, it } from 'vitest';
import type {
  DingTalkErrorBody,
  DingTalkErrorCodeOf,
  DingTalkPaths,
  DocType,
  GatewayErrorCode,
  GatewayPaths,
  ListWorkspacesResponse,
  Workspace,
} from './index.js';

describe('generated types', () => {
  it('names the schemas with the fields DingTalk documents', () => {
    expectTypeOf<Workspace['workspaceId']>().toEqualTypeOf<string>();
    expectTypeOf<Workspace['type']>().toEqualTypeOf<'TEAM' | 'PERSONAL'>();
    expectTypeOf<DocType>().toEqualTypeOf<'DOC' | 'WORKBOOK' | 'MIND' | 'FOLDER'>();
    expectTypeOf<ListWorkspacesResponse['workspaces']>().toEqualTypeOf<Workspace[]>();
    expectTypeOf<DingTalkErrorBody>().toHaveProperty('requestid');
  });

  it('types each documented error code of an operation', () => {
    expectTypeOf<'paramError.name'>().toExtend<DingTalkErrorCodeOf<'addWorkspace'>>();
    expectTypeOf<'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi'>().toExtend<DingTalkErrorCodeOf<'addWorkspace'>>();
    expectTypeOf<'addSpace.forbiden'>().toExtend<DingTalkErrorCodeOf<'addSpace'>>();
    expectTypeOf<'addSpace.forbiden'>().not.toExtend<DingTalkErrorCodeOf<'addWorkspace'>>();
    expectTypeOf<'gateway.rateLimit.tenant'>().toExtend<GatewayErrorCode>();
    // The gateway answers bad input with DingTalk's own codes, never a code of its own.
    expectTypeOf<'paramError'>().not.toExtend<GatewayErrorCode>();
    expectTypeOf<'invalidRequest.inputArgs.invalid'>().toExtend<DingTalkErrorCodeOf<'createWorkspaceDoc'>>();
    expectTypeOf<'paramError'>().not.toExtend<DingTalkErrorCodeOf<'createWorkspaceDoc'>>();
  });

  it('keeps the token endpoints out of the gateway contract', () => {
    expectTypeOf<DingTalkPaths>().toHaveProperty('/v1.0/oauth2/accessToken');
    expectTypeOf<GatewayPaths>().not.toHaveProperty('/v1.0/oauth2/accessToken');
    expectTypeOf<GatewayPaths>().toHaveProperty('/v2.0/wiki/workspaces');
  });

  it('requires what DingTalk requires', () => {
    type ListQuery = DingTalkPaths['/v2.0/wiki/workspaces']['get']['parameters']['query'];
    expectTypeOf<ListQuery['operatorId']>().toEqualTypeOf<string>();
    expectTypeOf<ListQuery['teamId']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<ListQuery['orderBy']>().toEqualTypeOf<'VIEW_TIME_DESC' | 'CREATE_TIME_DESC' | 'MODIFIED_TIME_DESC' | undefined>();
  });
});
