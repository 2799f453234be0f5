/**
 * Finds the tenant of an API key by the key's SHA-256, the only thing the config holds, while
 * the key is within its validity (`notBefore`, `expiresAt`): outside it, a key is not found, as
 * an unknown key is not; nor is a key revoked while the gateway runs (`revoked.ts`).
 */
import type { GatewayConfig } from '../../config/schema.js';
import type { Tenant } from '../tenants.js';
import type { RevokedKeys } from './revoked.js';

export interface ApiKeyIndex {
  /** At once when it can (a key already proven valid, or a synchronous hash); else a promise. */
  lookup(key: string): Tenant | undefined | Promise<Tenant | undefined>;
}

export type Sha256Hex = (text: string) => string | Promise<string>;

// Longer than any key we mint; refusing before hashing bounds the work a stranger can cause.
const MAX_KEY_LENGTH = 256;

/** How long ahead of its expiry a key in use is warned of (once a day per key). */
export const KEY_EXPIRY_WARNING_MS = 14 * 86_400_000;

export interface ExpiringKey {
  tenantId: string;
  /** The first 12 characters of the key's hash (never the key). */
  hashPrefix: string;
  label: string | undefined;
  expiresAt: string;
}

interface KnownKey {
  sha256: string;
  tenant: Tenant;
  /** Epoch ms; the key is valid in [from, until). */
  from: number;
  until: number;
  expiring?: ExpiringKey;
  /** The day (epoch ms / 1 day) of the last warning of its expiry. */
  warnedOn?: number;
}

export function createApiKeyIndex(
  config: GatewayConfig,
  tenants: ReadonlyMap<string, Tenant>,
  sha256Hex: Sha256Hex,
  options: { now?: () => number; onExpiringKeyUsed?: (key: ExpiringKey) => void; revoked?: RevokedKeys } = {},
): ApiKeyIndex {
  const now = options.now ?? Date.now;
  const byHash = new Map<string, KnownKey>();
  for (const [tenantId, tenant] of Object.entries(config.tenants)) {
    for (const key of tenant.apiKeys) {
      const from = key.notBefore === undefined ? Number.NEGATIVE_INFINITY : Date.parse(key.notBefore);
      const until = key.expiresAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(key.expiresAt);
      const expiring = key.expiresAt === undefined ? undefined : { tenantId, hashPrefix: key.sha256.slice(0, 12), label: key.label, expiresAt: key.expiresAt };
      byHash.set(key.sha256, { sha256: key.sha256, tenant: tenants.get(tenantId)!, from, until, ...(expiring ? { expiring } : {}) });
    }
  }
  const revoked = options.revoked;
  const valid = (known: KnownKey | undefined): Tenant | undefined => {
    if (known === undefined) return undefined;
    if (revoked?.has(known.sha256)) return undefined;
    // Most keys have no validity window: no clock read for them.
    if (known.from === Number.NEGATIVE_INFINITY && known.until === Number.POSITIVE_INFINITY) return known.tenant;
    const at = now();
    if (at < known.from || at >= known.until) return undefined;
    if (known.expiring && known.until - at <= KEY_EXPIRY_WARNING_MS && known.warnedOn !== Math.floor(at / 86_400_000)) {
      known.warnedOn = Math.floor(at / 86_400_000);
      options.onExpiringKeyUsed?.(known.expiring);
    }
    return known.tenant;
  };
  /**
   * Keys already proven valid, so a caller's key is hashed once rather than on every request
   * (performance: SHA-256 was a measurable share of a request). Only a key whose hash is in the
   * config is ever stored, so an unknown key is hashed every time, exactly as before, and the
   * cache can never hold more entries than the config has keys. The config is fixed for the
   * life of the index (a reload builds a new one), so a stored key cannot have been removed
   * meanwhile; its validity is checked on every lookup. A `Map` compares key
   * contents only after their full hash codes match, so timing reveals nothing useful about
   * valid keys to someone guessing.
   */
  const validKeys = new Map<string, KnownKey>();
  return {
    lookup(key) {
      if (key.length > MAX_KEY_LENGTH) return undefined;
      const known = validKeys.get(key);
      if (known !== undefined) return valid(known);
      const remember = (hash: string) => {
        const found = byHash.get(hash);
        if (found !== undefined && validKeys.size < byHash.size) validKeys.set(key, found);
        return valid(found);
      };
      const hash = sha256Hex(key);
      return typeof hash === 'string' ? remember(hash) : hash.then(remember);
    },
  };
}
