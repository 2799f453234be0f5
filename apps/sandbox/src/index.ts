/**
 * `@dingtalk-gateway/sandbox`: a stateful local emulator of the DingTalk open APIs in
 * spec/dingtalk.yaml, with fault injection, counters and an admin API.
 *
 * ```ts
 * import { startSandbox } from '@dingtalk-gateway/sandbox';
 * import { seeded } from '@dingtalk-gateway/sandbox/seed';
 *
 * const { url, sandbox, close } = await startSandbox({ tokenLifetimeSeconds: 3 });
 * sandbox.faults.set({ listWorkspaces: { error: { status: 400, code: 'InvalidAuthentication', times: 1 } } });
 * // ... run the gateway against `url` with seeded.apps.full ...
 * sandbox.counters.snapshot().tokensIssued[seeded.apps.full.appKey];
 * await close();
 * ```
 */
export { type Sandbox, type SandboxSettings, createSandbox } from './app.js';
export { type RunningSandbox, type StartSandboxOptions, startSandbox } from './server.js';
export { DEFAULTS, OptionsError, type SandboxOptions, optionsFromEnv } from './options.js';
export {
  ConnectionDroppedError,
  type FaultConfig,
  FaultConfigError,
  type FaultFrequency,
  FaultInjector,
  type FaultRule,
  type ForcedError,
} from './faults.js';
export { CallCounters, type CountersSnapshot } from './counters.js';
export { ADMIN_PREFIX } from './admin/index.js';
export type { OperationInfo } from './platform/operations.js';
export type { Principal } from './state/tokens.js';
export type { SandboxState } from './state/store.js';
