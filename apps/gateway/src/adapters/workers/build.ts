/**
 * `dingtalk-gateway build-worker --config gateway.yaml --out <dir>`: the Cloudflare Workers
 * bundle of the gateway for one config. The config is parsed and checked here, at build time
 * (a Worker reads no file), and embedded with the docs portal's pages; the bundle is the real
 * core (`worker.ts`) for Workers' export conditions, with no Node built-in. Beside it, a
 * `workerd.capnp` that serves it on `server.host:server.port` with the real `workerd`, the DingTalk
 * secrets read from the environment variables the config names, and the shared state in one
 * Durable Object (`state.ts`).
 *
 * ```sh
 * dingtalk-gateway build-worker --config gateway.yaml --out worker/
 * FULL_SECRET=… workerd serve worker/workerd.capnp
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
  bytes: number;
}

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
  return { script, capnp, bytes: Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0) };
}

/** What a Worker has no way to do, refused at build time with the config's path. */
function refuseWhatWorkersCannotDo(config: GatewayConfig, file: string): void {
  const problems: Array<{ path: string; message: string }> = [];
  if (config.redis) problems.push({ path: 'redis', message: 'a Worker cannot reach Redis over TCP; remove redis (each isolate keeps its own state)' });
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
  const names = new Set<string>();
  for (const app of Object.values(config.apps)) {
    names.add(app.type === 'internal' ? app.appSecretEnv : app.suiteSecretEnv);
    if (app.type === 'isv' && 'env' in app.suiteTicket) names.add(app.suiteTicket.env);
  }
  const bindings = [...names].map((name) => `      (name = ${JSON.stringify(name)}, fromEnvironment = ${JSON.stringify(name)}),`).join('\n');
  // DingTalk is on the internet; a sandbox on this machine or the LAN needs the rest.
  const upstreamHost = new URL(config.upstream.baseUrl).hostname;
  const nearby = /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|localhost$|\[::1\]$)/.test(upstreamHost);
  const allow = nearby ? '["public", "private", "local"]' : '["public"]';
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
      (name = "GATEWAY_STATE", durableObjectNamespace = "GatewayState"),
  ],
  # The shared state (limits, ledger, read cache, Idempotency-Keys): one object; its storage (the ledger) on disk.
  durableObjectNamespaces = [ (className = "GatewayState", uniqueKey = "dingtalk-gateway-state") ],
  durableObjectStorage = (localDisk = "state"),
);
`;
}
