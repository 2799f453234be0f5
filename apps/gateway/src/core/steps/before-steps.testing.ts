/**
 * For the steps' tests (`*.testing.ts`: imported by tests only, not built, not part of the core's
 * module graph): a middleware giving each request what it has before the steps run (its id
 * `r-1`, its log record) plus what `prepare` sets, and reporting the gateway's error code of the
 * answer (the log's `errorCode`) in `x-error-code`.
 *
 * ```ts
 * app.use('*', beforeSteps((c) => c.set('operation', validator.operation('addSpace')!)));
 * app.use('*', readBody({ maxBytes, validator }));
 * ```
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { GatewayEnv } from '../context.js';

export function beforeSteps(prepare: (c: Context<GatewayEnv>) => void = () => {}): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    c.set('requestId', 'r-1');
    c.set('log', {});
    prepare(c);
    await next();
    c.header('x-error-code', c.get('log').errorCode ?? '-');
  };
}
