/**
 * The Hono environment of the sandbox app: what each middleware leaves for the next.
 */
import type { ParameterValue } from '@dingtalk-gateway/spec-validator';
import type { OperationInfo } from './operations.js';
import type { Principal } from '../state/tokens.js';

/**
 * What `@hono/node-server` passes as `c.env` (its `HttpBindings`), reduced to the one thing the
 * sandbox touches: the socket, to drop a connection for real. Absent when the app is called
 * in-process through `app.fetch(request)`.
 */
export interface NodeBindingsLike {
  incoming?: { socket?: { destroy(): void; remoteAddress?: string | undefined } | null };
}

export interface SandboxVariables {
  requestId: string;
  traceId: string;
  /** The spec operation the request matched. */
  operation: OperationInfo;
  /** Who the access token acts for; set once the token is checked. */
  principal: Principal;
  /** The operation's input as checked against the spec: see `validateInput`. */
  input: { query: Record<string, ParameterValue>; body: unknown };
  /** Refuses a field's value with DingTalk's code for it (from the spec): see `validateInput`. */
  refuseInput: (field: string, message: string) => never;
}

export type SandboxEnv = { Bindings: NodeBindingsLike; Variables: SandboxVariables };
