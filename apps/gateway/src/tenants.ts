/**
 * Tenants (internal teams) as the request path uses them, built once from the config.
 */
import type { RateLimitPolicy } from '@dingtalk-gateway/rate-limiter';
import type { GatewayConfig } from './config/schema.js';

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
}

export function buildTenants(config: GatewayConfig): Map<string, Tenant> {
  return new Map(
    Object.entries(config.tenants).map(([id, tenant]) => [
      id,
      {
        id,
        name: tenant.name,
        appId: tenant.app,
        scopes: new Set(tenant.scopes),
        rateLimit: tenant.rateLimit,
        operationLimits: new Map(Object.entries(tenant.operationLimits ?? {})),
      },
    ]),
  );
}
