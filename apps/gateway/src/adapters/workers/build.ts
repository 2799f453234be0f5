/**
 * `dingtalk-gateway build-worker --config gateway.yaml --out <dir>`: the Cloudflare Workers
 * bundle of the gateway for one config. The config is parsed and checked here, at build time
 * (a Worker reads no file), and embedded with the docs portal's pages; the bundle is the real
 * core (`worker.ts`) for Workers' export conditions, with no Node built-in. Beside it, a
 * `workerd.capnp` that serves it on `server.host:server.port` with the real `workerd`, the DingTalk
 * secrets read from the environment variables the config names, and the shared state in one
 * Durable Object (`state.ts`); and a `wrangler.toml` that deploys the same bundle to Cloudflare
 * (the object's binding and migration, the secrets to set; not exercised by the tests: wrangler
 * needs Node 22 and Cloudflare's API).
 *
 * ```sh
 * dingtalk-gateway build-worker --config gateway.yaml --out worker/
 * FULL_SECRET=… workerd serve worker/workerd.capnp
 * cd worker && npx wrangler secret put FULL_SECRET && npx wrangler deploy
 * ```
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docsDir, docsPages } from '@dingtalk-gateway/docs';
import { build } from 'esbuild';
import { ConfigError } from '../../config/load.js';
import type { GatewayConfig } from '../../config/schema.js';

/** The Workers runtime's version of the APIs the bundle relies on (Web-standard ones only). */
const COMPATIBILITY_DATE = '2025-09-01';

export interface BuiltWorker {
  script: string;
  capnp: string;
  /** `wrangler.toml`, for `wrangler deploy` from `outDir`. */
  wrangler: string;
  bytes: number;
}

/** The Worker's binding of the shared state's Durable Object namespace, and the object's class (exported by `worker.ts`). */
const STATE_BINDING = 'GATEWAY_STATE';
const STATE_CLASS = 'GatewayState';

export async function buildWorker(config: GatewayConfig, file: string, outDir: string): Promise<BuiltWorker> {
  refuseWhatWorkersCannotDo(config, file);
  const pages = new Map<string, string>();
  for (const page of Object.values(docsPages)) {
    const path = new URL(page.file, docsDir);
    if (existsSync(path)) pages.set(page.file, readFileSync(path, 'utf8'));
  }
  mkdirSync(outDir, { recursive: true });
  const script = join(outDir, 'worker.js');
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./worker.js', import.meta.url))],
    bundle: true,
    outfile: script,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    // The Workers runtime's own module (Durable Objects).
    external: ['cloudflare:workers'],
    logLevel: 'silent',
    metafile: true,
    plugins: [
      {
        name: 'dingtalk-gateway-embedded',
        setup(esbuild) {
          esbuild.onResolve({ filter: /^dingtalk-gateway:embedded$/ }, () => ({ path: 'embedded', namespace: 'dingtalk-gateway' }));
          esbuild.onLoad({ filter: /.*/, namespace: 'dingtalk-gateway' }, () => ({
            loader: 'js',
            contents: `export const config = ${JSON.stringify(config)};\nexport const docsPages = new Map(${JSON.stringify([...pages])});\n`,
          }));
        },
      },
    ],
  });
  const capnp = join(outDir, 'workerd.capnp');
  const stateDir = resolve(outDir, 'state');
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(capnp, workerdConfig(config, stateDir));
  const wrangler = join(outDir, 'wrangler.toml');
  writeFileSync(wrangler, wranglerConfig(config));
  return { script, capnp, wrangler, bytes: Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0) };
}

/** What a Worker has no way to do, refused at build time with the config's path. */
function refuseWhatWorkersCannotDo(config: GatewayConfig, file: string): void {
  const problems: Array<{ path: string; message: string }> = [];
  if (config.redis) problems.push({ path: 'redis', message: 'a Worker cannot reach Redis over TCP; remove redis (on Workers the shared state is the GatewayState Durable Object)' });
  for (const [appId, app] of Object.entries(config.apps)) {
    if (app.type === 'isv' && 'file' in app.suiteTicket) problems.push({ path: `apps.${appId}.suiteTicket.file`, message: 'a Worker reads no file; use suiteTicket.env (a Worker binding)' });
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
}

/**
 * workerd's own config: the bundle as a module worker, its secrets from the environment, an
 * outbound network to DingTalk, and the shared state's Durable Object stored in `stateDir`.
 */
export function workerdConfig(config: GatewayConfig, stateDir: string): string {
  const bindings = secretNames(config).map((name) => `      (name = ${JSON.stringify(name)}, fromEnvironment = ${JSON.stringify(name)}),`).join('\n');
  // DingTalk is on the internet; a sandbox on this machine or the LAN needs the rest.
  const allow = upstreamIsNearby(config) ? '["public", "private", "local"]' : '["public"]';
  return `# Written by \`dingtalk-gateway build-worker\`: serve with \`workerd serve workerd.capnp\`.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "gateway", worker = .gateway),
    (name = "internet", network = (allow = ${allow}, tlsOptions = (trustBrowserCas = true))),
    (name = "state", disk = (path = ${JSON.stringify(stateDir)}, writable = true)),
  ],
  sockets = [ (name = "http", address = ${JSON.stringify(`${config.server.host}:${config.server.port}`)}, http = (), service = "gateway") ],
);

const gateway :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = ${JSON.stringify(COMPATIBILITY_DATE)},
  globalOutbound = "internet",
  bindings = [
${bindings}
      (name = "${STATE_BINDING}", durableObjectNamespace = "${STATE_CLASS}"),
  ],
  # The shared state (DingTalk tokens, limits, ledger, read cache, Idempotency-Keys): one object; its storage (the ledger) on disk.
  durableObjectNamespaces = [ (className = "${STATE_CLASS}", uniqueKey = "dingtalk-gateway-state") ],
  durableObjectStorage = (localDisk = "state"),
);
`;
}

/**
 * Wrangler's config for deploying the bundle to Cloudflare from `outDir`: the bundle as it is
 * (`no_bundle`: built already), the shared state's Durable Object (its binding, and the migration
 * that creates its class on the first deploy), and the DingTalk secrets to set with
 * `wrangler secret put` (names only: a secret is never written here).
 */
export function wranglerConfig(config: GatewayConfig): string {
  const secrets = secretNames(config).map((name) => `#   npx wrangler secret put ${name}`).join('\n');
  const upstream = upstreamIsNearby(config)
    ? `\n# upstream.baseUrl (${config.upstream.baseUrl}) is on this machine or its network: a Worker on Cloudflare\n# reaches public hosts only. Build from a config whose upstream is DingTalk before deploying.\n`
    : '';
  return `# Written by \`dingtalk-gateway build-worker\` beside worker.js: deploy with \`npx wrangler deploy\` from this
# directory. (Not exercised by the gateway's tests: wrangler needs Node >= 22 and Cloudflare's API.)
# The config is embedded in worker.js: change gateway.yaml and run build-worker again.
name = "dingtalk-gateway"
main = "worker.js"
compatibility_date = ${JSON.stringify(COMPATIBILITY_DATE)}
# worker.js is bundled already (esbuild, Workers' export conditions): uploaded as it is.
no_bundle = true
${upstream}
# The shared state (DingTalk tokens, limits, monthly ledger, read cache, Idempotency-Keys): one
# Durable Object of the class worker.js exports, reached by every isolate through this binding.
[[durable_objects.bindings]]
name = "${STATE_BINDING}"
class_name = "${STATE_CLASS}"

# Creates the class on the first deploy; a later rename or deletion of the class is a migration of its own.
[[migrations]]
tag = "v1"
new_sqlite_classes = ["${STATE_CLASS}"]

# The DingTalk secrets are Worker secrets, never in this file; set each (kept across deploys) with:
${secrets}
`;
}

/** The Worker bindings holding DingTalk secrets: the environment variables the config names. */
function secretNames(config: GatewayConfig): string[] {
  const names = new Set<string>();
  for (const app of Object.values(config.apps)) {
    names.add(app.type === 'internal' ? app.appSecretEnv : app.suiteSecretEnv);
    if (app.type === 'isv' && 'env' in app.suiteTicket) names.add(app.suiteTicket.env);
  }
  return [...names];
}

/** Whether DingTalk's stand-in is on this machine or its network (a sandbox), not on the internet. */
function upstreamIsNearby(config: GatewayConfig): boolean {
  const host = new URL(config.upstream.baseUrl).hostname;
  return /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|localhost$|\[::1\]$)/.test(host);
}
