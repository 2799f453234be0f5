/**
 * The token check every API (not the token endpoints) runs first: the header
 * `x-acs-dingtalk-access-token` must name a token that is known, not expired and not revoked.
 *
 * A wrong, expired or revoked token is answered `400 InvalidAuthentication` (400, not 401, as on
 * DingTalk). A missing header is answered with `missingTokenCode`: DingTalk documents
 * `InvalidAuthentication` for "token missing", and `AuthenticationFailed.MissingParameter` has
 * been seen in the wild but is unconfirmed, so the documented code is the default.
 *
 * ```ts
 * app.get('/v2.0/wiki/workspaces', authenticate({ tokens, missingTokenCode: 'InvalidAuthentication' }), handler);
 * ```
 */
import type { MiddlewareHandler } from 'hono';
import type { InvalidTokenErrorCode } from '@dingtalk-gateway/types';
import type { TokenStore } from '../state/tokens.js';
import type { SandboxEnv } from './env.js';
import { DingTalkError } from './errors.js';

export const ACCESS_TOKEN_HEADER = 'x-acs-dingtalk-access-token';

/** DingTalk's own wording ("invalid access_token"). */
export const INVALID_TOKEN_MESSAGE = '不合法的access_token';
export const MISSING_TOKEN_MESSAGE = `${ACCESS_TOKEN_HEADER} is mandatory for this action.`;

export interface AuthenticateOptions {
  tokens: TokenStore;
  missingTokenCode: () => InvalidTokenErrorCode;
}

export const authenticate =
  ({ tokens, missingTokenCode }: AuthenticateOptions): MiddlewareHandler<SandboxEnv> =>
  async (c, next) => {
    const token = c.req.header(ACCESS_TOKEN_HEADER)?.trim();
    if (!token) {
      const code = missingTokenCode();
      throw new DingTalkError(400, code, code === 'InvalidAuthentication' ? INVALID_TOKEN_MESSAGE : MISSING_TOKEN_MESSAGE);
    }
    const issued = tokens.lookup(token);
    if (!issued) throw new DingTalkError(400, 'InvalidAuthentication', INVALID_TOKEN_MESSAGE);
    c.set('principal', issued.principal);
    await next();
  };
