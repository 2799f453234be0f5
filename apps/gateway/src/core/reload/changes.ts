/**
 * What a new config changes, for the reload's decision and its log: what only a restart can
 * apply, and tenants, keys and apps added, removed or changed (keys by their hash's first 12
 * characters: never a key, and the hash only in part).
 */
import type { GatewayConfig } from '../../config/schema.js';

/**
 * Settings a running instance cannot change: the listeners, the logger, the Redis connection,
 * the ledger's file and the connection pool to DingTalk (its address, size and connect timeout)
 * are made once, at start. The rest of `upstream` (response timeout, size bound, retries)
 * applies to the exchanges that start after the reload.
 */
const RESTART_ONLY = ['server', 'observability', 'redis', 'ledger', 'upstream.baseUrl', 'upstream.connections', 'upstream.connectTimeoutMs'] as const;

export interface ConfigChanges {
  /** Dotted paths of restart-only settings that differ (`server.port`, `redis.url`, …). */
  restartOnly: string[];
  tenants: { added: string[]; removed: string[]; changed: string[] };
  /** `tenant:hashprefix "label"` of each key (the label where it has one). */
  keys: { added: string[]; removed: string[] };
  apps: { added: string[]; removed: string[]; changed: string[] };
  /** Top-level sections that differ (`dingtalk`, `upstream`, `cache`, …). */
  sections: string[];
}

export function configChanges(current: GatewayConfig, next: GatewayConfig): ConfigChanges {
  const restartOnly = RESTART_ONLY.flatMap((path) => differingPaths(path, valueAt(current, path), valueAt(next, path)));
  const sections = [...new Set([...Object.keys(current), ...Object.keys(next)])].filter(
    (section) => !same((current as Record<string, unknown>)[section], (next as Record<string, unknown>)[section]),
  );
  // `tenant:hashprefix`, and its label where it has one: what an operator recognises a key by.
  const keysOf = (config: GatewayConfig) =>
    new Map(Object.entries(config.tenants).flatMap(([id, tenant]) => tenant.apiKeys.map((key) => [`${id}:${key.sha256.slice(0, 12)}`, key.label ? ` "${key.label}"` : ''] as const)));
  const [keysBefore, keysAfter] = [keysOf(current), keysOf(next)];
  return {
    restartOnly,
    tenants: compare(current.tenants, next.tenants),
    keys: {
      added: [...keysAfter].filter(([key]) => !keysBefore.has(key)).map(([key, label]) => key + label),
      removed: [...keysBefore].filter(([key]) => !keysAfter.has(key)).map(([key, label]) => key + label),
    },
    apps: compare(current.apps, next.apps),
    sections,
  };
}

function compare(before: Record<string, unknown>, after: Record<string, unknown>): { added: string[]; removed: string[]; changed: string[] } {
  return {
    added: Object.keys(after).filter((id) => !(id in before)),
    removed: Object.keys(before).filter((id) => !(id in after)),
    changed: Object.keys(after).filter((id) => id in before && !same(before[id], after[id])),
  };
}

function differingPaths(path: string, a: unknown, b: unknown): string[] {
  if (same(a, b)) return [];
  if (!isObject(a) || !isObject(b)) return [path];
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((key) => differingPaths(`${path}.${key}`, a[key], b[key]));
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

const valueAt = (config: GatewayConfig, path: string): unknown => path.split('.').reduce<unknown>((value, key) => (isObject(value) ? value[key] : undefined), config);
