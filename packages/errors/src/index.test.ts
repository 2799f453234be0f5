import { describe, expect, it } from 'vitest';
import { DingTalkError, UNRECOGNIZED_ERROR_BODY, errorBody, isDingTalkErrorBody } from './index.js';

describe('DingTalkError.fromResponse', () => {
  it("reads DingTalk's error body", async () => {
    const body = {
      code: 'Forbidden.AccessDenied.AccessTokenPermissionDenied',
      message: 'no permission',
      requestid: 'REQ-1',
      accessdenieddetail: { requiredScopes: ['Wiki.Workspace.Read'] },
    };
    const err = await DingTalkError.fromResponse(new Response(JSON.stringify(body), { status: 403 }));
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ status: 403, code: body.code, message: 'no permission', requestId: 'REQ-1' });
    expect(err.accessDeniedDetail).toEqual({ requiredScopes: ['Wiki.Workspace.Read'] });
    expect(err.toBody()).toEqual(body);
  });

  it("accepts the capitalised spelling DingTalk's SDK also reads", () => {
    const err = DingTalkError.fromBody(400, { Code: 'paramError', Message: 'bad', RequestId: 'R' });
    expect(err).toMatchObject({ code: 'paramError', message: 'bad', requestId: 'R' });
  });

  it('falls back to the request-id header and to the code as message', () => {
    const headers = new Headers({ 'x-acs-request-id': 'HDR' });
    expect(DingTalkError.fromBody(400, '{"code":"paramError"}', headers)).toMatchObject({ message: 'paramError', requestId: 'HDR' });
  });

  it('turns a body that is not a DingTalk error into a clear error, never a crash', () => {
    for (const body of ['<html>banned</html>', '{"status":1111,"wait":5}', '', null, [1, 2]]) {
      const err = DingTalkError.fromBody(503, body);
      expect(err.code).toBe(UNRECOGNIZED_ERROR_BODY);
      expect(err.message).toMatch(/^HTTP 503/);
    }
  });
});

describe('errorBody', () => {
  it('has exactly the shape DingTalk uses', () => {
    expect(errorBody('paramError', 'm', 'r')).toEqual({ code: 'paramError', message: 'm', requestid: 'r' });
    expect(isDingTalkErrorBody(errorBody('a', 'b', 'c', { requiredScopes: ['x'] }))).toBe(true);
    expect(isDingTalkErrorBody({ code: 'a', message: 'b' })).toBe(false);
  });
});
