/**
 * A gateway whose config can be replaced while it serves: the new config is checked and its
 * gateway built aside, then swapped in at once. A request runs to its end under the gateway it
 * arrived at; the next one gets the new. What holds state (limits, the ledger, the read cache,
 * Idempotency-Keys, DingTalk's ban, and the token of every app whose settings and secret are
 * unchanged) is carried over, so a reload gives no one a fresh burst or a token fetch. A config
 * that cannot be built, or that changes what only a restart applies, is refused and the last
 * good one stays in force.
 *
 * ```ts
 * const gateway = reloadableGateway(config, (next, previous) => createGateway(next, { ...deps, previous }));
 * serve((request) => gateway.fetch(request));
 * const outcome = gateway.reload(loadConfigFile(file, contract)); // outcome.ok, outcome.message
 * ```
 */
import type { GatewayConfig } from '../../config/schema.js';
import type { Gateway } from '../create-gateway.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { type ConfigChanges, configChanges } from './changes.js';

export interface ReloadOutcome {
  /** The config generation in force after this attempt: 1 at start, +1 per applied reload. */
  generation: number;
  /** When it was attempted (ISO 8601). */
  at: string;
  ok: boolean;
  /** What was applied, or why the reload was refused. */
  message: string;
  changes?: ConfigChanges;
}

export interface ReloadableGateway<M extends GatewayMetrics = GatewayMetrics> {
  /** The gateway in force now. */
  readonly current: Gateway<M>;
  readonly config: GatewayConfig;
  readonly generation: number;
  /** The last reload's outcome; undefined until one is attempted. */
  readonly lastReload: ReloadOutcome | undefined;
  /** The public app, each request under the gateway in force when it arrives. */
  fetch(request: Request): Response | Promise<Response>;
  /** The metrics listener's app, likewise. */
  metricsFetch(request: Request): Response | Promise<Response>;
  /** Builds `next` aside and swaps it in, or refuses it (`error` is a config file's own error, as at start). */
  reload(next: GatewayConfig | { error: Error }): ReloadOutcome;
}

export function reloadableGateway<M extends GatewayMetrics>(
  config: GatewayConfig,
  build: (config: GatewayConfig, previous: Gateway<M> | undefined, status: () => ReloadOutcome | undefined) => Gateway<M>,
  now: () => number = Date.now,
): ReloadableGateway<M> {
  let lastReload: ReloadOutcome | undefined;
  const status = () => lastReload;
  let current = build(config, undefined, status);
  let currentConfig = config;
  let generation = 1;
  current.metrics.configGeneration.set({}, generation);

  const refuse = (message: string, changes?: ConfigChanges): ReloadOutcome => {
    lastReload = { generation, at: new Date(now()).toISOString(), ok: false, message, ...(changes ? { changes } : {}) };
    current.metrics.configReloads.inc({ outcome: 'refused' });
    current.metrics.configReloadTime.set({}, now() / 1000);
    return lastReload;
  };

  return {
    get current() {
      return current;
    },
    get config() {
      return currentConfig;
    },
    get generation() {
      return generation;
    },
    get lastReload() {
      return lastReload;
    },
    fetch: (request) => current.app.fetch(request),
    metricsFetch: (request) => current.metricsApp.fetch(request),
    reload(next) {
      if ('error' in next) return refuse(next.error.message);
      const changes = configChanges(currentConfig, next);
      if (changes.restartOnly.length > 0) return refuse(`needs a restart, not a reload: ${changes.restartOnly.join(', ')} changed`, changes);
      let built: Gateway<M>;
      try {
        built = build(next, current, status);
      } catch (error) {
        return refuse((error as Error).message, changes);
      }
      current = built;
      currentConfig = next;
      generation += 1;
      lastReload = { generation, at: new Date(now()).toISOString(), ok: true, message: describeChanges(changes), changes };
      current.metrics.configReloads.inc({ outcome: 'applied' });
      current.metrics.configReloadTime.set({}, now() / 1000);
      current.metrics.configGeneration.set({}, generation);
      return lastReload;
    },
  };
}

function describeChanges(changes: ConfigChanges): string {
  const parts: string[] = [];
  const list = (what: string, ids: string[]) => ids.length > 0 && parts.push(`${what} ${ids.join(', ')}`);
  list('tenants added:', changes.tenants.added);
  list('tenants removed:', changes.tenants.removed);
  list('tenants changed:', changes.tenants.changed);
  list('keys added:', changes.keys.added);
  list('keys removed:', changes.keys.removed);
  list('apps added:', changes.apps.added);
  list('apps removed:', changes.apps.removed);
  list('apps changed:', changes.apps.changed);
  const others = changes.sections.filter((section) => !['tenants', 'apps'].includes(section));
  list('sections changed:', others);
  return parts.length > 0 ? parts.join('; ') : 'no change';
}
