/**
 * Fault injection per operation: latency, forced DingTalk errors and dropped connections, for
 * every call, the next N calls (`times`) or a share of calls (`fraction`). Faults act before the
 * token check, the way a real upstream can fail whatever the request.
 *
 * The same JSON shape is taken by `PUT /__sandbox/faults`, `SANDBOX_FAULTS` and
 * `sandbox.faults.set()`; keys are operationIds or `*` (every operation without its own entry).
 *
 * ```ts
 * sandbox.faults.set({
 *   listWorkspaces: { latencyMs: [50, 200], error: { status: 500, code: 'systemError', times: 2 } },
 *   getAccessToken: { dropConnection: { fraction: 0.1 } },
 * });
 * sandbox.faults.clear();
 * ```
 */
import type { MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { SandboxEnv } from './platform/env.js';
import { DingTalkError } from './platform/errors.js';

/** How often a fault fires: the next `times` calls, a `fraction` (0..1) of calls, or every call. */
export interface FaultFrequency {
  times?: number;
  fraction?: number;
}

export interface ForcedError extends FaultFrequency {
  status: number;
  code: string;
  /** Defaults to the spec's example message for the code, or the code itself. */
  message?: string;
}

export interface FaultRule {
  /** Delay every call: a fixed number of milliseconds, or uniformly random in `[min, max]`. */
  latencyMs?: number | [number, number];
  /** Answer with this DingTalk error instead of the real answer. */
  error?: ForcedError;
  /** Close the TCP connection without answering (`true` = every call). */
  dropConnection?: true | FaultFrequency;
}

/** Keys: operationIds, or `*` for every operation that has no entry of its own. */
export type FaultConfig = Record<string, FaultRule>;

export class FaultConfigError extends Error {
  override name = 'FaultConfigError';
}

/** Rejects `app.fetch()` when a fault drops the connection (after destroying the socket, if any). */
export class ConnectionDroppedError extends Error {
  override name = 'ConnectionDroppedError';
  constructor(operationId: string) {
    super(`sandbox: connection dropped by fault injection (${operationId})`);
  }
}

/** Latency is bounded so that a typo cannot hang a test run. */
const MAX_LATENCY_MS = 60_000;

const bad = (path: string, message: string): never => {
  throw new FaultConfigError(`faults.${path}: ${message}`);
};

function checkFrequency(value: FaultFrequency, path: string): FaultFrequency {
  const { times, fraction } = value;
  if (times !== undefined && (!Number.isInteger(times) || times < 1)) bad(`${path}.times`, 'expected a positive integer');
  if (fraction !== undefined && (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1))) bad(`${path}.fraction`, 'expected a number from 0 to 1');
  if (times !== undefined && fraction !== undefined) bad(path, 'give times or fraction, not both');
  return { ...(times !== undefined ? { times } : {}), ...(fraction !== undefined ? { fraction } : {}) };
}

function checkRule(value: unknown, path: string): FaultRule {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad(path, 'expected an object');
  const { latencyMs, error, dropConnection, ...rest } = value as Record<string, unknown>;
  for (const key of Object.keys(rest)) bad(`${path}.${key}`, 'unknown setting (latencyMs, error, dropConnection)');
  const rule: FaultRule = {};
  if (latencyMs !== undefined) {
    const ok = (n: unknown) => typeof n === 'number' && n >= 0 && n <= MAX_LATENCY_MS;
    if (typeof latencyMs === 'number' && ok(latencyMs)) rule.latencyMs = latencyMs;
    else if (Array.isArray(latencyMs) && latencyMs.length === 2 && latencyMs.every(ok) && latencyMs[0] <= latencyMs[1]) {
      rule.latencyMs = [latencyMs[0], latencyMs[1]];
    } else bad(`${path}.latencyMs`, `expected milliseconds (0..${MAX_LATENCY_MS}) or [min, max]`);
  }
  if (error !== undefined) {
    if (typeof error !== 'object' || error === null) return bad(`${path}.error`, 'expected { status, code }');
    const e = error as Record<string, unknown>;
    if (!Number.isInteger(e.status) || (e.status as number) < 400 || (e.status as number) > 599) bad(`${path}.error.status`, 'expected an HTTP error status (400..599)');
    if (typeof e.code !== 'string' || e.code === '') bad(`${path}.error.code`, 'expected a non-empty string');
    if (e.message !== undefined && typeof e.message !== 'string') bad(`${path}.error.message`, 'expected a string');
    rule.error = {
      status: e.status as number,
      code: e.code as string,
      ...(e.message !== undefined ? { message: e.message as string } : {}),
      ...checkFrequency(e as FaultFrequency, `${path}.error`),
    };
  }
  if (dropConnection !== undefined) {
    if (dropConnection === true) rule.dropConnection = true;
    else if (typeof dropConnection === 'object' && dropConnection !== null) rule.dropConnection = checkFrequency(dropConnection as FaultFrequency, `${path}.dropConnection`);
    else bad(`${path}.dropConnection`, 'expected true or { times } or { fraction }');
  }
  return rule;
}

/** What to do with one call. */
export interface FaultDecision {
  latencyMs: number;
  drop: boolean;
  error?: { status: number; code: string; message?: string };
}

export class FaultInjector {
  #rules = new Map<string, FaultRule>();

  constructor(
    private readonly operationIds: ReadonlySet<string>,
    private readonly random: () => number = Math.random,
  ) {}

  /** Validates the whole config first, then sets each listed operation's rule (others are kept). */
  set(config: unknown): void {
    if (typeof config !== 'object' || config === null || Array.isArray(config)) bad('(root)', 'expected { "<operationId>" | "*": rule }');
    const checked = Object.entries(config as Record<string, unknown>).map(([key, rule]) => {
      if (key !== '*' && !this.operationIds.has(key)) bad(key, `unknown operationId (one of ${[...this.operationIds].join(', ')}, or *)`);
      return [key, checkRule(rule, key)] as const;
    });
    for (const [key, rule] of checked) this.#rules.set(key, rule);
  }

  /** Clears one operation's rule, or all of them. */
  clear(operationId?: string): void {
    if (operationId === undefined) this.#rules.clear();
    else this.#rules.delete(operationId);
  }

  /** The rules in force, with what is left of each `times`. */
  get(): FaultConfig {
    return structuredClone(Object.fromEntries(this.#rules));
  }

  /** Decides the faults of one call and uses up one of each `times` that fired. */
  decide(operationId: string): FaultDecision {
    const key = this.#rules.has(operationId) ? operationId : '*';
    const rule = this.#rules.get(key);
    if (!rule) return { latencyMs: 0, drop: false };
    const latencyMs = Array.isArray(rule.latencyMs)
      ? rule.latencyMs[0] + this.random() * (rule.latencyMs[1] - rule.latencyMs[0])
      : (rule.latencyMs ?? 0);
    const drop = rule.dropConnection !== undefined && this.#fires(rule.dropConnection === true ? {} : rule.dropConnection);
    if (drop && rule.dropConnection !== true && rule.dropConnection?.times !== undefined) {
      rule.dropConnection.times--;
      if (rule.dropConnection.times === 0) delete rule.dropConnection;
    }
    let error: FaultDecision['error'];
    if (!drop && rule.error && this.#fires(rule.error)) {
      const { status, code, message } = rule.error;
      error = { status, code, ...(message !== undefined ? { message } : {}) };
      if (rule.error.times !== undefined && --rule.error.times === 0) delete rule.error;
    }
    if (rule.latencyMs === undefined && !rule.error && !rule.dropConnection) this.#rules.delete(key);
    return { latencyMs, drop, ...(error ? { error } : {}) };
  }

  #fires(frequency: FaultFrequency): boolean {
    if (frequency.fraction !== undefined) return this.random() < frequency.fraction;
    return true;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Applies the decision for the matched operation: waits, then drops the connection (destroying
 * the socket under @hono/node-server) or answers the forced error.
 */
export const injectFaults =
  (faults: FaultInjector, messageFor: (operationId: string, status: number, code: string) => string | undefined): MiddlewareHandler<SandboxEnv> =>
  async (c, next) => {
    const { operationId } = c.get('operation');
    const decision = faults.decide(operationId);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (decision.drop) {
      // Under node-server the client sees a real connection reset; in-process, the rejection
      // of app.fetch() is the closest thing. startSandbox() swallows the error it leaves.
      c.env?.incoming?.socket?.destroy();
      throw new ConnectionDroppedError(operationId);
    }
    if (decision.error) {
      const { status, code, message } = decision.error;
      throw new DingTalkError(status as ContentfulStatusCode, code, message ?? messageFor(operationId, status, code) ?? code);
    }
    await next();
  };
