/**
 * A tenant may call an operation only if it was granted the operation's DingTalk permission
 * (`x-dingtalk-permission` in the spec); otherwise 403, before anything reaches DingTalk.
 *
 * ```ts
 * app.use('*', authorizeScopes());
 * ```
 */
import { gatewayError } from '../../errors.js';
import { type Step, stepMiddleware } from '../step.js';

export function authorizeScopes() {
  return stepMiddleware(authorizeScopesStep());
}

export function authorizeScopesStep(): Step {
  return (c) => {
    const operation = c.get('operation');
    const permission = operation.permission;
    // An operation without a declared permission is refused: the gateway fails closed.
    if (permission === undefined || !c.get('tenant').scopes.has(permission)) {
      return gatewayError(c, 403, 'gateway.auth.scopeDenied', `this API key may not call ${operation.operationId}`, {
        accessDeniedDetail: { requiredScopes: permission === undefined ? [] : [permission] },
      });
    }
    return undefined;
  };
}
