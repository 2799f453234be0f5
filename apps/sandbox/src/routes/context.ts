/**
 * What the route handlers share: their type, their dependencies, and request readers that never
 * throw on bad input (each handler decides which DingTalk code a bad field gets).
 */
import type { Context } from 'hono';
import type { DingTalkOperationId } from '@dingtalk-gateway/types';
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

export type JsonBody = Record<string, unknown>;

/**
 * The body as a JSON object, or `undefined` when it is absent, not declared as JSON, not valid
 * JSON or not an object.
 */
export async function readJsonObject(c: Context<SandboxEnv>): Promise<JsonBody | undefined> {
  if (!/\bjson\b/i.test(c.req.header('content-type') ?? '')) return undefined;
  try {
    const value: unknown = JSON.parse(await c.req.text());
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonBody) : undefined;
  } catch {
    return undefined;
  }
}

/** A field that must be a string: the string, or `undefined` when absent or of another type. */
export const stringField = (body: JsonBody, key: string): string | undefined => {
  const value = body[key];
  return typeof value === 'string' ? value : undefined;
};
