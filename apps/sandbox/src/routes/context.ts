/**
 * What the route handlers share: their type, their dependencies, and their checked input.
 */
import type { Context } from 'hono';
import type { DingTalkOperationId, DingTalkOperations } from '@dingtalk-gateway/types';
import type { CallCounters } from '../counters.js';
import type { SandboxEnv } from '../platform/env.js';
import type { SandboxState } from '../state/store.js';
import type { TokenStore } from '../state/tokens.js';

export type Handler = (c: Context<SandboxEnv>) => Response | Promise<Response>;

/** One handler per operation of the spec: the compiler flags an operation without one. */
export type Handlers = Record<DingTalkOperationId, Handler>;

export interface RouteDeps {
  state: SandboxState;
  tokens: TokenStore;
  counters: CallCounters;
  /** Read on every token request, so the admin API can change it while running. */
  tokenLifetimeSeconds: () => number;
  /** Signs pagination cursors so that a tampered `nextToken` is refused. */
  cursorSecret: string;
}

type QueryOf<Id extends DingTalkOperationId> = DingTalkOperations[Id]['parameters'] extends { query?: infer Query } ? NonNullable<Query> : Record<string, never>;
type BodyOf<Id extends DingTalkOperationId> = DingTalkOperations[Id]['requestBody'] extends { content: { 'application/json': infer Body } } | undefined ? Body : undefined;

/**
 * The operation's input as `validateInput` checked it against the spec, typed by the spec:
 * the query coerced with its defaults, the body parsed. A handler trusts its types (the schema
 * was checked) and refuses only what DingTalk's own rules add, with `c.get('refuseInput')`.
 */
export const inputOf = <Id extends DingTalkOperationId>(c: Context<SandboxEnv>, _operationId: Id): { query: QueryOf<Id>; body: BodyOf<Id> } =>
  c.get('input') as { query: QueryOf<Id>; body: BodyOf<Id> };
