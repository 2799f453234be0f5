/**
 * The deployment configs `build-worker` writes beside the bundle: `wrangler.toml` (not run here:
 * wrangler needs Node >= 22 and Cloudflare's API) names what `workerd.capnp` names, which the
 * runtime suites serve on the real workerd. The bundle itself is built and served in
 * apps/harness/src/runtimes.
 */
import { describe, expect, it } from 'vitest';
import { type GatewayConfig, configSchema } from '../../config/schema.js';
import { workerdConfig, wranglerConfig } from './build.js';

const tenant = (app: string) => ({ name: app, app, apiKeys: [{ sha256: 'a'.repeat(64) }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 1, burst: 1 } });

function config(baseUrl?: string): GatewayConfig {
  return configSchema.parse({
    ...(baseUrl ? { upstream: { baseUrl } } : {}),
    apps: {
      internal: { type: 'internal', appKey: 'dingkey', appSecretEnv: 'INTERNAL_SECRET' },
      isv: { type: 'isv', suiteKey: 'suite1', suiteSecretEnv: 'SUITE1_SECRET', authCorpId: 'corp', suiteTicket: { env: 'SUITE1_TICKET' } },
    },
    tenants: { a: tenant('internal'), b: tenant('isv') },
  });
}

/** The TOML's `key = value` lines and `[[table]]` headers, comments left out. */
const settings = (toml: string) => toml.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));

describe('wrangler.toml written by build-worker', () => {
  it('deploys worker.js as built, binds GATEWAY_STATE to the GatewayState class with its migration, and names the secrets to set', () => {
    const toml = wranglerConfig(config());
    expect(settings(toml)).toEqual([
      'name = "dingtalk-gateway"',
      'main = "worker.js"',
      'compatibility_date = "2025-09-01"',
      'no_bundle = true',
      '[[durable_objects.bindings]]',
      'name = "GATEWAY_STATE"',
      'class_name = "GatewayState"',
      '[[migrations]]',
      'tag = "v1"',
      'new_sqlite_classes = ["GatewayState"]',
    ]);
    expect(toml).toContain('#   npx wrangler secret put INTERNAL_SECRET\n#   npx wrangler secret put SUITE1_SECRET\n#   npx wrangler secret put SUITE1_TICKET\n');
    expect(toml).not.toContain('upstream.baseUrl');
  });

  it('names what workerd.capnp names: the binding, the class, the compatibility date, the secrets', () => {
    const toml = wranglerConfig(config());
    const capnp = workerdConfig(config(), '/tmp/state');
    expect(capnp).toContain('(name = "GATEWAY_STATE", durableObjectNamespace = "GatewayState")');
    expect(capnp).toContain('durableObjectNamespaces = [ (className = "GatewayState"');
    expect(capnp).toContain(`compatibilityDate = ${/compatibility_date = (".*")/.exec(toml)![1]}`);
    for (const name of ['INTERNAL_SECRET', 'SUITE1_SECRET', 'SUITE1_TICKET']) expect(capnp).toContain(`(name = "${name}", fromEnvironment = "${name}")`);
  });

  it('says so when the config points at a sandbox on this machine, which a deployed Worker cannot reach', () => {
    expect(wranglerConfig(config('http://127.0.0.1:9100'))).toContain('# upstream.baseUrl (http://127.0.0.1:9100) is on this machine or its network');
  });
});
