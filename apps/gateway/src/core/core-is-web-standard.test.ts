/**
 * The core (this folder: `createGateway` and every step of the request path) must run on any
 * runtime with Web-standard APIs (Node, Bun, Deno, Workers): every module in it, its real module
 * graph and its packages' included, as a Workers bundler sees it (esbuild, neutral
 * platform, the `workerd`/`worker`/`browser` export conditions), may import no Node built-in and
 * no Node-only package; and it must run where code generation from strings is forbidden (Workers
 * forbid `new Function`: its validators were compiled at build time). The Node adapter
 * (`../adapters/node`) wires pino, prom-client, ioredis and undici in.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { mintApiKey } from '../adapters/node/api-key.js';

/** Packages that need Node's own modules (or a Node-compatible runtime's TCP). */
const NODE_ONLY_PACKAGES = ['pino', 'prom-client', 'ioredis', 'undici', '@hono/node-server', 'thread-stream', 'sonic-boom'];

interface Graph {
  /** Imports of Node built-ins and Node-only packages, as `importer → module`. */
  nodeImports: string[];
  /** Every package bundled (the Node-only ones are left out of the bundle and listed above). */
  packages: Set<string>;
}

/**
 * Every module of the core (this folder and below), tests, their helpers (`*.testing.ts`) and
 * declarations aside, and the Redis stores (`redis.ts`): they sit beside their interfaces, as in
 * the packages' `…/redis` subpaths, and only the Node adapter loads them
 * (`adapters/node/redis-stores.ts`).
 */
function coreModules(): string[] {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const isCore = (file: string) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.testing.ts') && !file.endsWith('.d.ts') && !file.endsWith('/redis.ts');
  return (readdirSync(here, { recursive: true }) as string[]).filter(isCore).map((file) => join(here, file));
}

async function graphOf(entries: string[]): Promise<Graph> {
  const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];
  const result = await build({
    entryPoints: entries.map((entry) => fileURLToPath(new URL(entry, import.meta.url))),
    outdir: 'unused',
    bundle: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    external: [...nodeBuiltins, ...NODE_ONLY_PACKAGES, ...NODE_ONLY_PACKAGES.map((name) => `${name}/*`)],
  });
  const nodeImports: string[] = [];
  const packages = new Set<string>();
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    const inPackage = /^node_modules\/(@[^/]+\/[^/]+|[^/]+)\//.exec(file.slice(file.lastIndexOf('node_modules/')));
    if (inPackage) packages.add(inPackage[1]!);
    for (const imported of input.imports) if (imported.external) nodeImports.push(`${file.replace(/^.*?(node_modules|src)\//, '$1/')} → ${imported.path}`);
  }
  return { nodeImports, packages };
}

describe('the gateway core', () => {
  it('bundles for Workers with no Node built-in and no Node-only package, every module of it and its dependencies included', async () => {
    const modules = coreModules();
    expect(modules.map((file) => file.slice(file.lastIndexOf('/core/') + 6))).toEqual(expect.arrayContaining(['create-gateway.ts', 'steps/authenticate/index.ts', 'proxy/handler.ts']));
    const core = await graphOf(modules.map((file) => new URL(`file://${file}`).href));
    expect(core.nodeImports).toEqual([]);
    expect(core.packages).toContain('hono'); // the check followed the packages, not only relative imports
  });

  it('the check sees Node when it is there: the Node adapter', async () => {
    const imported = (await graphOf(['../adapters/node/server.ts'])).nodeImports.map((line) => line.slice(line.indexOf('→ ') + 2));
    expect(imported).toEqual(expect.arrayContaining(['node:fs', 'pino', 'prom-client', 'ioredis', 'undici', '@hono/node-server']));
  });
});

/**
 * The built core in a Node process that may not generate code from strings, as on Workers: a
 * gateway from the default contract, DingTalk a fetch function, asked a good read and a bad one.
 */
const UNDER_NO_EVAL = `
import { createGateway } from './dist/core/create-gateway.js';
import { configSchema } from './dist/config/schema.js';
import { createFetchUpstream } from './dist/core/proxy/fetch-upstream.js';
const json = (value) => new Response(JSON.stringify(value), { headers: { 'content-type': 'application/json' } });
const dingtalk = async (request) => new URL(request.url).pathname === '/v1.0/oauth2/accessToken'
  ? json({ accessToken: 'token', expireIn: 7200 })
  : json({ workspaces: [], nextToken: '' });
const config = configSchema.parse({
  server: { port: 0 },
  upstream: { baseUrl: 'https://dingtalk.invalid' },
  apps: { full: { type: 'internal', appKey: 'dingapp', appSecretEnv: 'UNUSED' } },
  tenants: { service: { name: 'Service', app: 'full', apiKeys: [{ sha256: process.env.KEY_SHA256 }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 100, burst: 100 } } },
  observability: { logLevel: 'silent', metrics: { enabled: false } },
});
const gateway = createGateway(config, {
  upstream: createFetchUpstream({ baseUrl: config.upstream.baseUrl, fetch: dingtalk, responseTimeoutMs: 2000, maxResponseBytes: 1 << 20 }),
  secrets: { appSecret: () => 'secret', suiteTicket: async () => '' },
});
const ask = async (query) => {
  const response = await gateway.app.request('/v2.0/wiki/workspaces?' + query, { headers: { authorization: 'Bearer ' + process.env.KEY } });
  return { status: response.status, body: await response.json() };
};
console.log(JSON.stringify([await ask('operatorId=u'), await ask('operatorId=u&maxResults=99')]));
`;

describe('the gateway core where code generation from strings is forbidden', () => {
  it('answers DingTalk\'s read and refuses bad input under node --disallow-code-generation-from-strings', async () => {
    const key = mintApiKey();
    const { stdout } = await promisify(execFile)(process.execPath, ['--disallow-code-generation-from-strings', '--input-type=module', '-e', UNDER_NO_EVAL], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { PATH: process.env.PATH, KEY: key.key, KEY_SHA256: key.sha256 },
      timeout: 30_000,
    });
    const [read, refused] = JSON.parse(stdout) as Array<{ status: number; body: Record<string, unknown> }>;
    expect(read).toEqual({ status: 200, body: { workspaces: [], nextToken: '' } });
    expect(refused).toMatchObject({ status: 400, body: { code: 'paramError', message: expect.stringContaining('maxResults') } });
  });

  it('the check sees code generation when it is there: Ajv compiling a contract at run time', async () => {
    const compileNow = `import { createSpecValidator } from '@dingtalk-gateway/spec-validator';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
createSpecValidator(loadGatewayContract());`;
    await expect(
      promisify(execFile)(process.execPath, ['--disallow-code-generation-from-strings', '--input-type=module', '-e', compileNow], { cwd: fileURLToPath(new URL('../..', import.meta.url)), timeout: 30_000 }),
    ).rejects.toThrow(/Code generation from strings disallowed/);
  });
});
