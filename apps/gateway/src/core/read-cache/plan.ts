/**
 * Which answers the read cache keeps, for whom, and how long, from the config: `cache.operations`
 * gives an operation's lifetime, a tenant's `cache` its own (or `false`: none for it).
 *
 * ```ts
 * const plan = cachePlanOf(config);
 * plan.lifetimeMs('wiki-team', 'getWorkspace'); // 60_000, or undefined: not cached for this tenant
 * ```
 */
import type { GatewayConfig } from '../../config/schema.js';

/** Beyond an entry's lifetime, how long an invalidation is kept: the longest a request to DingTalk can be under way. */
const IN_FLIGHT_MARGIN_MS = 5 * 60_000;

export interface CachePlan {
  /** Whether any answer is cached at all. */
  readonly enabled: boolean;
  /** How long `tenantId`'s answers of `operationId` may be served from the cache; undefined: not cached for it. */
  lifetimeMs(tenantId: string, operationId: string): number | undefined;
  /** The longest any tenant may be served an answer of `operationId`: how long the store keeps it. */
  storeTtlMs(operationId: string): number | undefined;
  /** How long the store remembers an invalidation. */
  readonly keepInvalidationsMs: number;
}

export function cachePlanOf(config: GatewayConfig): CachePlan {
  const lifetimes = new Map<string, Map<string, number>>();
  const longest = new Map<string, number>();
  for (const [tenantId, tenant] of Object.entries(config.tenants)) {
    const own = new Map<string, number>();
    const operations = new Set([...Object.keys(config.cache.operations), ...Object.keys(tenant.cache ?? {})]);
    for (const operationId of operations) {
      const override = tenant.cache?.[operationId];
      const lifetime = override === false ? undefined : (override ?? config.cache.operations[operationId])?.ttlSeconds;
      if (lifetime === undefined) continue;
      own.set(operationId, lifetime * 1000);
      longest.set(operationId, Math.max(longest.get(operationId) ?? 0, lifetime * 1000));
    }
    lifetimes.set(tenantId, own);
  }
  return {
    enabled: longest.size > 0,
    lifetimeMs: (tenantId, operationId) => lifetimes.get(tenantId)?.get(operationId),
    storeTtlMs: (operationId) => longest.get(operationId),
    keepInvalidationsMs: Math.max(0, ...longest.values()) + IN_FLIGHT_MARGIN_MS,
  };
}
