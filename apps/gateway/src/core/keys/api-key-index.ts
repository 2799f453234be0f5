/**
 * Finds the tenant of an API key by the key's SHA-256, the only thing the config holds.
 */
import type { GatewayConfig } from '../../config/schema.js';
import type { Tenant } from '../tenants.js';

export interface ApiKeyIndex {
  /** At once when it can (a key already proven valid, or a synchronous hash); else a promise. */
  lookup(key: string): Tenant | undefined | Promise<Tenant | undefined>;
}

export type Sha256Hex = (text: string) => string | Promise<string>;

// Longer than any key we mint; refusing before hashing bounds the work a stranger can cause.
const MAX_KEY_LENGTH = 256;

export function createApiKeyIndex(config: GatewayConfig, tenants: ReadonlyMap<string, Tenant>, sha256Hex: Sha256Hex): ApiKeyIndex {
  const byHash = new Map<string, Tenant>();
  for (const [tenantId, tenant] of Object.entries(config.tenants)) {
    for (const key of tenant.apiKeys) byHash.set(key.sha256, tenants.get(tenantId)!);
  }
  /**
   * Keys already proven valid, so a caller's key is hashed once rather than on every request
   * (performance: SHA-256 was a measurable share of a request). Only a key whose hash is in the
   * config is ever stored, so an unknown key is hashed every time, exactly as before, and the
   * cache can never hold more entries than the config has keys. The config is fixed for the
   * life of the index, so a stored key cannot have been revoked meanwhile. A `Map` compares key
   * contents only after their full hash codes match, so timing reveals nothing useful about
   * valid keys to someone guessing.
   */
  const validKeys = new Map<string, Tenant>();
  return {
    lookup(key) {
      if (key.length > MAX_KEY_LENGTH) return undefined;
      const known = validKeys.get(key);
      if (known !== undefined) return known;
      const remember = (hash: string) => {
        const tenant = byHash.get(hash);
        if (tenant !== undefined && validKeys.size < byHash.size) validKeys.set(key, tenant);
        return tenant;
      };
      const hash = sha256Hex(key);
      return typeof hash === 'string' ? remember(hash) : hash.then(remember);
    },
  };
}
