/**
 * DingTalk's error answer: `{code, message, requestid}` (plus `accessdenieddetail` on
 * permission errors), with `requestid` equal to the `x-acs-request-id` header. Handlers throw a
 * {@link DingTalkError}; the app's error handler renders it.
 *
 * ```ts
 * const fail = failFor('addWorkspace');
 * fail(400, 'paramError.name', 'name is required'); // the code is checked against the spec's
 * ```
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AccessDeniedDetail, DingTalkErrorBody, DingTalkErrorCodeOf, DingTalkOperationId } from '@dingtalk-gateway/types';
import type { SandboxEnv } from './env.js';

export class DingTalkError extends Error {
  override name = 'DingTalkError';

  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly accessdenieddetail?: AccessDeniedDetail,
  ) {
    super(message);
  }

  body(requestid: string): DingTalkErrorBody {
    return {
      code: this.code,
      message: this.message,
      requestid,
      ...(this.accessdenieddetail ? { accessdenieddetail: this.accessdenieddetail } : {}),
    } satisfies DingTalkErrorBody;
  }
}

/**
 * A thrower for one operation whose `code` must be one the spec documents for it, so the
 * compiler catches a handler answering with a code its operation does not list.
 */
export const failFor =
  <Id extends DingTalkOperationId>(_operationId: Id) =>
  (status: ContentfulStatusCode, code: DingTalkErrorCodeOf<Id>, message: string): never => {
    throw new DingTalkError(status, code as string, message);
  };

/** DingTalk answers JSON with this exact content type. */
export const JSON_CONTENT_TYPE = 'application/json;charset=utf-8';

export const json = (c: Context<SandboxEnv>, body: unknown, status: ContentfulStatusCode = 200): Response =>
  c.body(JSON.stringify(body), status, { 'content-type': JSON_CONTENT_TYPE });

export const errorResponse = (c: Context<SandboxEnv>, error: DingTalkError): Response => json(c, error.body(c.get('requestId')), error.status);
