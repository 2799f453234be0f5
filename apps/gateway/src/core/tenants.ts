/**
 * Tenants (internal teams) as the request path uses them, built once from the config.
 */
import type { QuotaAccount } from '@dingtalk-gateway/call-quota';
import type { RateLimitPolicy } from '@dingtalk-gateway/rate-limiter';
import type { GatewayConfig } from '../config/schema.js';
import { type QuotaPlan, quotaPlan } from './quota/plan.js';

export interface Tenant {
  readonly id: string;
  readonly name: string;
  /** The DingTalk app this tenant's calls use. */
  readonly appId: string;
  /** DingTalk permission names this tenant may use. */
  readonly scopes: ReadonlySet<string>;
  readonly rateLimit: RateLimitPolicy;
  /** Tighter limits for single operations, by operationId. */
  readonly operationLimits: ReadonlyMap<string, RateLimitPolicy>;
  /** What its metered calls are counted against: its org's month, and its allocation or the pool. */
  readonly account: QuotaAccount;
}

/**
 * Tenants with the same scopes, or the same limits, share one read-only set, policy or map
 * (memory): with thousands of tenants on a few plans, that is a few objects instead of one
 * of each per tenant.
 */
export function buildTenants(config: GatewayConfig, plan: QuotaPlan = quotaPlan(config)): Map<string, Tenant> {
  const scopeSets = new Interned<ReadonlySet<string>>();
  const policies = new Interned<RateLimitPolicy>();
  const operationLimitMaps = new Interned<ReadonlyMap<string, RateLimitPolicy>>();
  const policyOf = (policy: RateLimitPolicy) => policies.get(`${policy.rate}/${policy.burst}`, () => policy);

  const { accounts } = plan;
  const tenants = new Map<string, Tenant>();
  for (const [id, tenant] of Object.entries(config.tenants)) {
    const account = accounts.get(id);
    if (account === undefined) throw new Error(`tenant ${id}: its app's org is not in the config (check-config says which)`);
    const scopes = [...new Set(tenant.scopes)].sort();
    const operationLimits = Object.entries(tenant.operationLimits ?? {})
      .map(([operationId, policy]): [string, RateLimitPolicy] => [operationId, policyOf(policy)])
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    tenants.set(id, {
      id,
      name: tenant.name,
      appId: tenant.app,
      scopes: scopeSets.get(JSON.stringify(scopes), () => new Set(scopes)),
      rateLimit: policyOf(tenant.rateLimit),
      operationLimits: operationLimitMaps.get(JSON.stringify(operationLimits.map(([operationId, policy]) => [operationId, policy.rate, policy.burst])), () => new Map(operationLimits)),
      account,
    });
  }
  return tenants;
}

/** One value per distinct key, made on first use. */
class Interned<V> {
  private readonly values = new Map<string, V>();
  get(key: string, make: () => V): V {
    let value = this.values.get(key);
    if (value === undefined) {
      value = make();
      this.values.set(key, value);
    }
    return value;
  }
}
