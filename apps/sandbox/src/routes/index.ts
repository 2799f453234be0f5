/**
 * Every operation's handler, by operationId. `Handlers` is keyed by the spec's generated
 * operation ids, so an operation added to the spec does not compile here until it has one.
 */
import type { Handlers, RouteDeps } from './context.js';
import { docHandlers } from './doc.js';
import { driveHandlers } from './drive.js';
import { oauth2Handlers } from './oauth2.js';
import { wikiHandlers } from './wiki.js';

export type { Handler, Handlers, RouteDeps } from './context.js';

export const createHandlers = (deps: RouteDeps): Handlers => ({
  ...oauth2Handlers(deps),
  ...wikiHandlers(deps),
  ...docHandlers(deps),
  ...driveHandlers(deps),
});
