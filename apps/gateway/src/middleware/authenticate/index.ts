/**
 * `Authorization: Bearer <api key>` → the tenant that owns the key, or 401.
 *
 * Keys are compared by their SHA-256 only (the config stores nothing else), so lookup time
 * does not depend on how much of a guessed key is right, and an unknown key and a revoked one
 * (removed from the config) cost the same and get the same answer. A missing key is told
 * apart (`gateway.auth.missingKey`): that reveals nothing about any key.
 *
 * ```ts
 * app.use('*', authenticate({ keys: createApiKeyIndex(config, tenants, sha256Hex) }));
 * ```
 */
import { createMiddleware } from 'hono/factory';
import type { GatewayEnv } from '../../context.js';
import { gatewayError } from '../../errors.js';
import type { ApiKeyIndex } from '../../keys/api-key-index.js';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

export function authenticate(options: { keys: ApiKeyIndex }) {
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const header = c.req.header('authorization');
    const key = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (key === undefined) {
      return gatewayError(c, 401, 'gateway.auth.missingKey', 'send your API key as "Authorization: Bearer <api key>"', {
        headers: { 'www-authenticate': 'Bearer realm="dingtalk-gateway"' },
      });
    }
    const tenant = await options.keys.lookup(key);
    if (tenant === undefined) {
      return gatewayError(c, 401, 'gateway.auth.invalidKey', 'the API key is not valid', {
        headers: { 'www-authenticate': 'Bearer realm="dingtalk-gateway", error="invalid_token"' },
      });
    }
    c.set('tenant', tenant);
    await next();
  });
}
