/**
 * `createSandbox()`: a Hono app that behaves like `api.dingtalk.com` for every operation of
 * spec/dingtalk.yaml, with its state, fault injection and counters. It uses only Web-standard
 * Request/Response, so tests can call it in-process with `app.fetch()` and no socket.
 *
 * Every request runs the same pipeline, in the order a DingTalk API gateway checks things:
 * request ids → the per-IP window (a banned IP gets the anti-abuse front's answer) → operation
 * (counted) → faults → token → app permission → QPS → the org's monthly quota (metered
 * operations) → the input against the spec (DingTalk's code for each bad input, from the spec:
 * `validateInput`) → the operation's own business checks. The token endpoints skip token,
 * permission, QPS and the quota. A metered call that the API answered counts towards its org's
 * month (`trackOperation`).
 *
 * ```ts
 * const sandbox = createSandbox({ admin: true });
 * const res = await sandbox.app.fetch(new Request('http://sandbox/v1.0/oauth2/accessToken', {
 *   method: 'POST', headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ appKey: 'dingsandboxfullaccess', appSecret: 'sandbox-full-access-secret' }),
 * }));
 * sandbox.counters.snapshot().tokensIssued; // { dingsandboxfullaccess: 1 }
 * ```
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { type OpenApiDocument, meteringOf } from '@dingtalk-gateway/spec';
import { loadDingTalkSpec } from '@dingtalk-gateway/spec/dingtalk-spec';
import { createSpecValidator } from '@dingtalk-gateway/spec-validator';
import type { DingTalkOperationId, InvalidTokenErrorCode } from '@dingtalk-gateway/types';
import { mountAdminApi } from './admin/index.js';
import { CallCounters } from './counters.js';
import { ConnectionDroppedError, FaultInjector, injectFaults } from './faults.js';
import { DEFAULTS, type SandboxOptions } from './options.js';
import { authenticate } from './platform/authenticate.js';
import { authorize } from './platform/authorize.js';
import { IP_WINDOW_DEFAULTS, IpWindow, ipWindow } from './platform/ip-window.js';
import { MonthlyQuota, STANDARD_EDITION_QUOTA, checkMonthlyQuota } from './platform/monthly-quota.js';
import type { SandboxEnv } from './platform/env.js';
import { DingTalkError, errorResponse, json } from './platform/errors.js';
import { type OperationInfo, operationsFromSpec } from './platform/operations.js';
import { QpsLimiter, qpsLimit } from './platform/qps-limiter.js';
import { requestIds } from './platform/request-ids.js';
import { trackOperation } from './platform/track.js';
import { validateInput } from './platform/validate-input.js';
import { createHandlers } from './routes/index.js';
import { randomHex } from './state/ids.js';
import { readSeedFile } from './state/seed-file.js';
import type { Seed } from './state/seed.js';
import { SandboxState } from './state/store.js';
import { TokenStore } from './state/tokens.js';

export interface SandboxSettings {
  tokenLifetimeSeconds: number;
  missingTokenCode: InvalidTokenErrorCode;
}

export interface Sandbox {
  /** The Hono app: `app.fetch(request)` in-process, or serve it (see `startSandbox`). */
  app: Hono<SandboxEnv>;
  /** The emulated world (orgs, users, apps, Knowledge Bases, nodes, spaces). */
  state: SandboxState;
  tokens: TokenStore;
  faults: FaultInjector;
  counters: CallCounters;
  qps: QpsLimiter;
  /** The orgs' monthly call quotas, and what each org used of its month. */
  quota: MonthlyQuota;
  /** The per-IP window and its bans. */
  ipWindow: IpWindow;
  /** Moves the sandbox's clock (token expiry, QPS windows, the quota month, bans) by this many ms; 0 on reset. */
  setClockOffset(ms: number): void;
  /** The spec's operations as served, by operationId. */
  operations: ReadonlyMap<DingTalkOperationId, OperationInfo>;
  /** Settings that may change while running (read on every request). */
  settings: SandboxSettings;
  /** Back to the start: the seed's state, no tokens, zero counters, the initial faults and settings. */
  reset(): void;
  /** Invalidates every token of an app (appKey) or suite (suiteKey); returns how many were valid. */
  revokeTokens(appKey: string): number;
  /** The lifetime (and `expireIn`) of tokens issued or extended from now on. */
  setTokenLifetime(seconds: number): void;
}

const NOT_FOUND = { code: 'InvalidAction.NotFound', message: 'Specified api is not found, please check your url and method.' };

const loadSeed = (seed: SandboxOptions['seed']): Seed =>
  seed === undefined || typeof seed === 'string' || seed instanceof URL ? readSeedFile(seed) : seed;

export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const baseNow = options.now ?? Date.now;
  let clockOffsetMs = 0;
  const now = () => baseNow() + clockOffsetMs;
  const spec: OpenApiDocument = options.spec ?? loadDingTalkSpec();
  const operations = operationsFromSpec(spec);
  const validator = createSpecValidator(spec);
  const initial: SandboxSettings = {
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? DEFAULTS.tokenLifetimeSeconds,
    missingTokenCode: options.missingTokenCode ?? DEFAULTS.missingTokenCode,
  };
  const settings: SandboxSettings = { ...initial };
  const state = new SandboxState(loadSeed(options.seed), now);
  const tokens = new TokenStore(now);
  const counters = new CallCounters();
  const qps = new QpsLimiter({ limit: options.qpsLimit ?? DEFAULTS.qpsLimit, now });
  const initialQuota = options.monthlyCallQuota ?? STANDARD_EDITION_QUOTA;
  const quota = new MonthlyQuota({ quota: initialQuota, counters, now });
  const initialIpWindow = { ...IP_WINDOW_DEFAULTS, ...options.ipWindow };
  const ips = new IpWindow(initialIpWindow, now);
  const metering = meteringOf(spec);
  const faults = new FaultInjector(new Set(operations.keys()), options.random);
  if (options.faults) faults.set(options.faults);

  const handlers = createHandlers({
    state,
    tokens,
    counters,
    tokenLifetimeSeconds: () => settings.tokenLifetimeSeconds,
    cursorSecret: randomHex(16),
  });
  const messageFor = (operationId: string, status: number, code: string) =>
    operations.get(operationId as DingTalkOperationId)?.errors.get(status)?.get(code);

  const sandbox: Sandbox = {
    app: new Hono<SandboxEnv>(),
    state,
    tokens,
    faults,
    counters,
    qps,
    quota,
    ipWindow: ips,
    setClockOffset(ms) {
      if (!Number.isFinite(ms)) throw new RangeError('the clock offset is a number of milliseconds');
      clockOffsetMs = ms;
    },
    operations,
    settings,
    reset() {
      state.reset();
      tokens.clear();
      counters.reset();
      qps.reset();
      qps.limit = options.qpsLimit ?? DEFAULTS.qpsLimit;
      quota.reset(initialQuota);
      ips.reset(initialIpWindow);
      clockOffsetMs = 0;
      faults.clear();
      if (options.faults) faults.set(options.faults);
      Object.assign(settings, initial);
    },
    revokeTokens: (appKey) => tokens.revokeApp(appKey),
    setTokenLifetime(seconds) {
      if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError('token lifetime must be a positive whole number of seconds');
      settings.tokenLifetimeSeconds = seconds;
    },
  };

  const { app } = sandbox;
  app.use(requestIds());
  if (options.admin) mountAdminApi(app, sandbox);

  for (const operation of operations.values()) {
    const handler = handlers[operation.operationId];
    if (!handler) throw new Error(`sandbox: the spec's operation ${operation.operationId} has no handler`);
    const chain: MiddlewareHandler<SandboxEnv>[] = [ipWindow(ips, counters), trackOperation(operation, { counters, tokens, metering, quota }), injectFaults(faults, messageFor)];
    if (operation.requiresToken) {
      chain.push(authenticate({ tokens, missingTokenCode: () => settings.missingTokenCode }), authorize(), qpsLimit(qps));
    }
    if (operation.metered) chain.push(checkMonthlyQuota(quota));
    chain.push(validateInput(validator, operation.operationId));
    app.on(operation.method, operation.routePath, ...(chain as [MiddlewareHandler<SandboxEnv>]), handler);
  }

  app.notFound((c) => json(c, { ...NOT_FOUND, requestid: c.get('requestId') }, 404));

  app.onError((error, c) => {
    if (error instanceof DingTalkError) return errorResponse(c, error);
    // A dropped connection has no answer: let app.fetch() reject.
    if (error instanceof ConnectionDroppedError) throw error;
    console.error('sandbox: unexpected error', error);
    const operation = c.get('operation');
    const code = operation?.errors.get(500)?.keys().next().value ?? 'systemError';
    return errorResponse(c, new DingTalkError(500, code, 'Internal system error'));
  });

  return sandbox;
}
