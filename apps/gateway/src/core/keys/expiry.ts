/**
 * At start and on every reload: a warning for each key that expires within
 * `KEY_EXPIRY_WARNING_MS` and each key already expired (refused, and still in the config), by
 * tenant, hash prefix and label; never the key.
 */
import type { GatewayConfig } from '../../config/schema.js';
import type { GatewayLogger } from '../observability/logger.js';
import { KEY_EXPIRY_WARNING_MS } from './api-key-index.js';

export function warnOfKeyExpiries(config: GatewayConfig, at: number, logger: GatewayLogger): void {
  for (const [tenantId, tenant] of Object.entries(config.tenants)) {
    for (const key of tenant.apiKeys) {
      if (key.expiresAt === undefined) continue;
      const leftMs = Date.parse(key.expiresAt) - at;
      if (leftMs > KEY_EXPIRY_WARNING_MS) continue;
      const fields = { tenant: tenantId, key: key.sha256.slice(0, 12), label: key.label, expiresAt: key.expiresAt };
      if (leftMs <= 0) logger.warn(fields, 'an API key in the config has expired: it is refused; remove it');
      else logger.warn({ ...fields, daysLeft: Math.floor(leftMs / 86_400_000) }, 'an API key expires soon: mint its successor');
    }
  }
}
