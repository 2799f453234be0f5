/**
 * Marks the request with its spec operation and counts it (see {@link CallCounters}): the call
 * up front, the app behind its token if the token is valid, the status (or `dropped`) after.
 *
 * ```ts
 * app.get('/v2.0/wiki/workspaces', trackOperation(operation, { counters, tokens }), ...);
 * ```
 */
import type { MiddlewareHandler } from 'hono';
import type { CallCounters } from '../counters.js';
import type { TokenStore } from '../state/tokens.js';
import { ACCESS_TOKEN_HEADER } from './authenticate.js';
import type { SandboxEnv } from './env.js';
import type { OperationInfo } from './operations.js';

export const trackOperation =
  (operation: OperationInfo, { counters, tokens }: { counters: CallCounters; tokens: TokenStore }): MiddlewareHandler<SandboxEnv> =>
  async (c, next) => {
    const { operationId } = operation;
    c.set('operation', operation);
    counters.call(operationId);
    if (operation.requiresToken) {
      const token = c.req.header(ACCESS_TOKEN_HEADER)?.trim();
      const issued = token ? tokens.lookup(token) : undefined;
      if (issued) counters.attribute(issued.principal.appKey, operationId);
    }
    try {
      await next();
    } catch (error) {
      counters.status(operationId, 'dropped');
      throw error;
    }
    counters.status(operationId, c.res.status);
  };
