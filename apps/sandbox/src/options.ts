/**
 * The sandbox's settings, as options for `createSandbox()`/`startSandbox()` and as environment
 * variables for the CLI (`SANDBOX_*`, see the README).
 *
 * ```ts
 * const options = optionsFromEnv(process.env); // throws a readable error on a bad value
 * await startSandbox(options);
 * ```
 */
import type { OpenApiDocument } from '@dingtalk-gateway/spec';
import type { InvalidTokenErrorCode } from '@dingtalk-gateway/types';
import type { FaultConfig } from './faults.js';
import type { IpWindowSettings } from './platform/ip-window.js';
import type { Seed } from './state/seed.js';

export interface SandboxOptions {
  /** A parsed seed, or the path of a seed YAML file. Default: the package's fixtures/seed.yaml. */
  seed?: Seed | string | URL;
  /** Serve the admin API under `/__sandbox/`. Default: off (its paths answer 404). */
  admin?: boolean;
  /** Calls per app, per API, per second before `QpsLimitForAppkeyAndApi`. Default: 20. */
  qpsLimit?: number;
  /** Metered calls per org per month before `ApiCountLimitForOrg`. Default: 10,000 (the standard edition). */
  monthlyCallQuota?: number;
  /** The per-IP window and ban. Default: 10,000 calls in 20 s, then a 5-minute ban answered in JSON. */
  ipWindow?: Partial<IpWindowSettings>;
  /** How long tokens live, and the `expireIn` they are issued with. Default: 7200. */
  tokenLifetimeSeconds?: number;
  /** Faults in force from the start (and again after each reset). */
  faults?: FaultConfig;
  /**
   * The code that answers a request without the token header. Default `InvalidAuthentication`
   * (documented for a missing token); `AuthenticationFailed.MissingParameter` is the
   * undocumented variant seen in the wild.
   */
  missingTokenCode?: InvalidTokenErrorCode;
  /** The clock, in epoch milliseconds (token expiry, QPS windows, timestamps). Default: Date.now. */
  now?: () => number;
  /** Randomness for latency ranges and fault fractions, in [0, 1). Default: Math.random. */
  random?: () => number;
  /** The spec to serve. Default: `loadDingTalkSpec()` (spec/dingtalk.yaml as built). */
  spec?: OpenApiDocument;
}

export const DEFAULTS = {
  port: 9100,
  qpsLimit: 20,
  tokenLifetimeSeconds: 7200,
  missingTokenCode: 'InvalidAuthentication',
} as const satisfies Partial<Record<keyof SandboxOptions | 'port', unknown>>;

export class OptionsError extends Error {
  override name = 'OptionsError';
}

const positiveInteger = (name: string, value: string): number => {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new OptionsError(`${name} must be a positive integer, got "${value}"`);
  return Number(value);
};

/**
 * Reads `SANDBOX_PORT`, `SANDBOX_ADMIN`, `SANDBOX_QPS_LIMIT`, `SANDBOX_MONTHLY_CALL_QUOTA`,
 * `SANDBOX_TOKEN_LIFETIME_SECONDS`, `SANDBOX_FAULTS` (JSON, the admin API's shape),
 * `SANDBOX_SEED` (a path) and `SANDBOX_MISSING_TOKEN_CODE`. Unset or empty variables keep the
 * defaults.
 */
export function optionsFromEnv(env: Record<string, string | undefined>): SandboxOptions & { port: number } {
  const get = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const options: SandboxOptions & { port: number } = { port: DEFAULTS.port };
  const port = get('SANDBOX_PORT');
  if (port !== undefined) {
    options.port = Number(port);
    if (!/^\d+$/.test(port) || options.port > 65535) throw new OptionsError(`SANDBOX_PORT must be a port number (0..65535), got "${port}"`);
  }
  const admin = get('SANDBOX_ADMIN');
  if (admin !== undefined) {
    if (!['1', '0', 'true', 'false'].includes(admin)) throw new OptionsError(`SANDBOX_ADMIN must be 1 or 0, got "${admin}"`);
    options.admin = admin === '1' || admin === 'true';
  }
  const qps = get('SANDBOX_QPS_LIMIT');
  if (qps !== undefined) options.qpsLimit = positiveInteger('SANDBOX_QPS_LIMIT', qps);
  const quota = get('SANDBOX_MONTHLY_CALL_QUOTA');
  if (quota !== undefined) options.monthlyCallQuota = positiveInteger('SANDBOX_MONTHLY_CALL_QUOTA', quota);
  const lifetime = get('SANDBOX_TOKEN_LIFETIME_SECONDS');
  if (lifetime !== undefined) options.tokenLifetimeSeconds = positiveInteger('SANDBOX_TOKEN_LIFETIME_SECONDS', lifetime);
  const faults = get('SANDBOX_FAULTS');
  if (faults !== undefined) {
    try {
      options.faults = JSON.parse(faults) as FaultConfig;
    } catch (error) {
      throw new OptionsError(`SANDBOX_FAULTS must be JSON (${(error as Error).message})`);
    }
  }
  const seed = get('SANDBOX_SEED');
  if (seed !== undefined) options.seed = seed;
  const missing = get('SANDBOX_MISSING_TOKEN_CODE');
  if (missing !== undefined) {
    if (missing !== 'InvalidAuthentication' && missing !== 'AuthenticationFailed.MissingParameter') {
      throw new OptionsError(`SANDBOX_MISSING_TOKEN_CODE must be InvalidAuthentication or AuthenticationFailed.MissingParameter, got "${missing}"`);
    }
    options.missingTokenCode = missing;
  }
  return options;
}
