/**
 * The app-permission check: the token's app (or suite) must hold the permission the spec names
 * in the operation's `x-dingtalk-permission`, else
 * `403 Forbidden.AccessDenied.AccessTokenPermissionDenied` with
 * `accessdenieddetail.requiredScopes`, as DingTalk answers.
 *
 * ```ts
 * app.post('/v2.0/wiki/workspaces', authenticate(...), authorize(), handler);
 * ```
 */
import type { MiddlewareHandler } from 'hono';
import type { SandboxEnv } from './env.js';
import { DingTalkError } from './errors.js';

export const PERMISSION_DENIED_MESSAGE =
  '没有调用该接口的权限，接口权限申请参考：https://open.dingtalk.com/document/orgapp/add-api-permission';

export const authorize = (): MiddlewareHandler<SandboxEnv> => async (c, next) => {
  const { permission } = c.get('operation');
  if (permission && !c.get('principal').permissions.has(permission)) {
    throw new DingTalkError(403, 'Forbidden.AccessDenied.AccessTokenPermissionDenied', PERMISSION_DENIED_MESSAGE, {
      requiredScopes: [permission],
    });
  }
  await next();
};
