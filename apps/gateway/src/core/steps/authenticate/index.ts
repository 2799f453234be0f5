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
 * runSteps([authenticateStep({ keys }), …], proxy);
 * ```
 */
import type { Context } from 'hono';
import type { GatewayEnv } from '../../context.js';
import { gatewayError } from '../../errors.js';
import type { ApiKeyIndex } from '../../keys/api-key-index.js';
import type { Tenant } from '../../tenants.js';
import { type Step, stepMiddleware } from '../step.js';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

export function authenticate(options: { keys: ApiKeyIndex }) {
  return stepMiddleware(authenticateStep(options));
}

export function authenticateStep(options: { keys: ApiKeyIndex }): Step {
  return (c) => {
    const header = c.req.header('authorization');
    const key = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (key === undefined) {
      return gatewayError(c, 401, 'gateway.auth.missingKey', 'send your API key as "Authorization: Bearer <api key>"', {
        headers: { 'www-authenticate': 'Bearer realm="dingtalk-gateway"' },
      });
    }
    // A key seen before is found at once; only a new key waits for its hash.
    const found = options.keys.lookup(key);
    return found instanceof Promise ? found.then((tenant) => admit(c, tenant)) : admit(c, found);
  };
}

function admit(c: Context<GatewayEnv>, tenant: Tenant | undefined): Response | undefined {
  if (tenant === undefined) {
    return gatewayError(c, 401, 'gateway.auth.invalidKey', 'the API key is not valid', {
      headers: { 'www-authenticate': 'Bearer realm="dingtalk-gateway", error="invalid_token"' },
    });
  }
  c.set('tenant', tenant);
  return undefined;
}
