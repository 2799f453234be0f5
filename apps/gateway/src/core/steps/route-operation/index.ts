/**
 * Finds the contract's operation for the method and path. A request that matches none is
 * answered as DingTalk answers a path or method it does not serve, `404 InvalidAction.NotFound`
 * (a wrong method too: DingTalk makes no 405), with a message saying which, and `Allow` naming
 * the methods the path has when it has some.
 *
 * ```ts
 * app.use('*', routeOperation({ validator }));
 * ```
 */
import type { SpecValidator } from '@dingtalk-gateway/spec-validator';
import { API_NOT_FOUND, dingtalkError } from '../../errors.js';
import { type Step, stepMiddleware } from '../step.js';

export function routeOperation(options: { validator: SpecValidator }) {
  return stepMiddleware(routeOperationStep(options));
}

export function routeOperationStep(options: { validator: SpecValidator }): Step {
  return (c) => {
    const match = options.validator.match(c.req.method, c.req.path);
    if (match.kind === 'notFound') return dingtalkError(c, 404, API_NOT_FOUND, `no operation at ${c.req.method} ${c.req.path}`);
    if (match.kind === 'methodNotAllowed') {
      const allowed = match.allowed.join(', ');
      return dingtalkError(c, 404, API_NOT_FOUND, `no operation at ${c.req.method} ${c.req.path}; the path takes ${allowed}`, { allow: allowed });
    }
    c.set('operation', match.operation);
    c.set('pathParams', match.pathParams);
    return undefined;
  };
}
