/**
 * Finds the tenant of an API key by the key's SHA-256, the only thing the config holds.
 */
import type { GatewayConfig } from '../config/schema.js';
import type { Tenant } from '../tenants.js';

export interface ApiKeyIndex {
  lookup(key: string): Promise<Tenant | undefined>;
}

export type Sha256Hex = (text: string) => string | Promise<string>;

// Longer than any key we mint; refusing before hashing bounds the work a stranger can cause.
const MAX_KEY_LENGTH = 256;

export function createApiKeyIndex(config: GatewayConfig, tenants: ReadonlyMap<string, Tenant>, sha256Hex: Sha256Hex): ApiKeyIndex {
  const byHash = new Map<string, Tenant>();
  for (const [tenantId, tenant] of Object.entries(config.tenants)) {
    for (const key of tenant.apiKeys) byHash.set(key.sha256, tenants.get(tenantId)!);
  }
  return {
    async lookup(key) {
      if (key.length > MAX_KEY_LENGTH) return undefined;
      return byHash.get(await sha256Hex(key));
    },
  };
}
