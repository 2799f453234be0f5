/**
 * A step of the request path: it answers (returns a `Response`: a refusal), or lets the request
 * go on (returns `undefined`), having recorded what later steps need in the context.
 *
 * The gateway runs its steps in one Hono handler (`runSteps`) rather than as one Hono
 * middleware each (performance): every middleware level costs Hono's dispatcher an async call,
 * its promise and a `next` closure, and an `async` middleware its own promise on top, which was
 * a measurable share of a request across seven levels. Steps that need not wait are plain
 * synchronous functions. `stepMiddleware` makes a step a Hono middleware, for apps that compose
 * their own chain (and the steps' own tests).
 *
 * ```ts
 * app.all('*', runSteps([authenticateStep({ keys }), routeOperationStep({ validator })], proxy));
 * app.use('*', stepMiddleware(authenticateStep({ keys })));
 * ```
 */
import type { Context, MiddlewareHandler } from 'hono';
import { applyAnswerHeaders } from '../answer.js';
import type { GatewayEnv, RouteHandler } from '../context.js';

export type Step = (c: Context<GatewayEnv>) => Response | undefined | Promise<Response | undefined>;

/** The steps in order, then `last`; the first answer wins. */
export function runSteps(steps: readonly Step[], last: RouteHandler): RouteHandler {
  return async (c) => {
    for (const step of steps) {
      const outcome = step(c);
      const response = outcome instanceof Promise ? await outcome : outcome;
      if (response !== undefined) return response;
    }
    return last(c);
  };
}

/** A step as a Hono middleware: its answer, or the rest of the chain's with the step's answer headers. */
export function stepMiddleware(step: Step): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const response = await step(c);
    if (response !== undefined) return response;
    await next();
    applyAnswerHeaders(c);
  };
}
