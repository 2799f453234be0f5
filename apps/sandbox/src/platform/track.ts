/**
 * Marks the request with its spec operation and counts it (see {@link CallCounters}): the call
 * up front, the app behind its token if the token is valid, the status (or `dropped`) after, and
 * for a metered operation called with a valid token, the org's monthly count when the answer
 * counts (`meteringOf(spec).counts`: an error of the API does, a refusal of the platform does
 * not).
 *
 * ```ts
 * app.get('/v2.0/wiki/workspaces', trackOperation(operation, { counters, tokens }), ...);
 * ```
 */
import type { Metering } from '@dingtalk-gateway/spec';
import type { MiddlewareHandler } from 'hono';
import type { CallCounters } from '../counters.js';
import type { TokenStore } from '../state/tokens.js';
import { ACCESS_TOKEN_HEADER } from './authenticate.js';
import type { SandboxEnv } from './env.js';
import { DingTalkError } from './errors.js';
import type { MonthlyQuota } from './monthly-quota.js';
import type { OperationInfo } from './operations.js';

export const trackOperation =
  (
    operation: OperationInfo,
    { counters, tokens, metering, quota }: { counters: CallCounters; tokens: TokenStore; metering: Metering; quota: MonthlyQuota },
  ): MiddlewareHandler<SandboxEnv> =>
  async (c, next) => {
    const { operationId } = operation;
    c.set('operation', operation);
    counters.call(operationId);
    let corpId: string | undefined;
    if (operation.requiresToken) {
      const token = c.req.header(ACCESS_TOKEN_HEADER)?.trim();
      const issued = token ? tokens.lookup(token) : undefined;
      if (issued) counters.attribute(issued.principal.appKey, operationId);
      corpId = issued?.principal.corpId;
    }
    try {
      await next();
    } catch (error) {
      counters.status(operationId, 'dropped');
      throw error;
    }
    counters.status(operationId, c.res.status);
    if (operation.metered && corpId !== undefined) {
      const code = c.error instanceof DingTalkError ? c.error.code : undefined;
      if (metering.counts({ status: c.res.status, code })) quota.count(corpId);
    }
  };
