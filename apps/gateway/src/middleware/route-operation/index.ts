/**
 * Finds the contract's operation for the method and path: 404 for a path the contract does not
 * have, 405 (with `Allow`) for a method it does not have there.
 *
 * ```ts
 * app.use('*', routeOperation({ validator }));
 * ```
 */
import type { SpecValidator } from '@dingtalk-gateway/spec-validator';
import { gatewayError } from '../../errors.js';
import { type Step, stepMiddleware } from '../step.js';

export function routeOperation(options: { validator: SpecValidator }) {
  return stepMiddleware(routeOperationStep(options));
}

export function routeOperationStep(options: { validator: SpecValidator }): Step {
  return (c) => {
    const match = options.validator.match(c.req.method, c.req.path);
    if (match.kind === 'notFound') {
      return gatewayError(c, 404, 'gateway.route.notFound', `no operation at ${c.req.method} ${c.req.path}`);
    }
    if (match.kind === 'methodNotAllowed') {
      return gatewayError(c, 405, 'gateway.route.methodNotAllowed', `${c.req.method} is not allowed on ${c.req.path}; allowed: ${match.allowed.join(', ')}`, {
        headers: { allow: match.allowed.join(', ') },
      });
    }
    c.set('operation', match.operation);
    c.set('pathParams', match.pathParams);
    return undefined;
  };
}
