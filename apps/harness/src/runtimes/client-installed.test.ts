/**
 * The typed client as an internal service gets it: the publishable packages packed (as the
 * registry would serve them), installed with plain npm into a scratch project outside this
 * workspace, the client's own example type-checked there with TypeScript and run against the
 * gateway in front of the sandbox. Nothing of the workspace is visible to it, and nothing
 * server-only (ioredis) is installed with it.
 *
 * npm fetches the packages' public dependencies (openapi-fetch, TypeScript) from the registry.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type RunningSandbox, startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configSchema, mintApiKey, type RunningGateway, startGateway } from '@dingtalk-gateway/gateway';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 60_000 });

const workspaceRoot = new URL('../../../../', import.meta.url).pathname;
/** What an internal service installs: the client and the packages it depends on. */
const PUBLISHED = { client: 'packages/dingtalk-client', types: 'packages/dingtalk-types', errors: 'packages/errors', 'token-provider': 'packages/token-provider', 'circuit-breaker': 'packages/circuit-breaker' } as const;
/** The workspace's own pnpm (a devDependency of the root), by its `bin` (its `exports` list neither file). */
const pnpm = join(workspaceRoot, 'node_modules/pnpm/bin/pnpm.cjs');
const key = mintApiKey();
const run = promisify(execFile);

let sandbox: RunningSandbox;
let gateway: RunningGateway;
let scratch: string;

beforeAll(async () => {
  sandbox = await startSandbox({ qpsLimit: 100_000 });
  const config = configSchema.parse({
    server: { port: 0 },
    upstream: { baseUrl: sandbox.url },
    apps: { full: { type: 'internal', appKey: seeded.apps.full.appKey, appSecretEnv: 'FULL_SECRET' } },
    tenants: { service: { name: 'Service', app: 'full', apiKeys: [{ sha256: key.sha256 }], scopes: ['Wiki.Workspace.Read', 'Wiki.Workspace.Write', 'Document.WorkspaceDocument.Write'], rateLimit: { rate: 100, burst: 100 } } },
    cache: { operations: { getWorkspace: { ttlSeconds: 60 } } },
    observability: { metrics: { enabled: false } },
  });
  gateway = await startGateway({ config, env: { FULL_SECRET: seeded.apps.full.appSecret }, logger: pino({ level: 'silent' }) });
  scratch = mkdtempSync(join(tmpdir(), 'dtg-client-consumer-'));
});
afterAll(async () => {
  await gateway?.close();
  await sandbox?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('@dingtalk-gateway/client installed outside the workspace', () => {
  it('packs to tarballs that npm installs, with no server-only dependency, and its example type-checks and runs', async () => {
    // The tarballs, as `pnpm publish` would upload them (workspace:* become versions).
    const tarballs: Record<string, string> = {};
    for (const [name, dir] of Object.entries(PUBLISHED)) {
      const before = new Set(readdirSync(scratch));
      execFileSync(process.execPath, [pnpm, 'pack', '--pack-destination', scratch], { cwd: join(workspaceRoot, dir), stdio: 'pipe' });
      const made = readdirSync(scratch).find((file) => file.endsWith('.tgz') && !before.has(file));
      expect(made, dir).toBeDefined();
      tarballs[`@dingtalk-gateway/${name}`] = `file:./${made}`;
    }
    // A Node service's own toolchain, at the versions this workspace builds with.
    const typescript = JSON.parse(readFileSync(join(workspaceRoot, 'package.json'), 'utf8')).devDependencies.typescript as string;
    const nodeTypes = JSON.parse(readFileSync(join(workspaceRoot, PUBLISHED.client, 'package.json'), 'utf8')).devDependencies['@types/node'] as string;
    writeFileSync(
      join(scratch, 'package.json'),
      JSON.stringify({
        name: 'internal-service',
        private: true,
        type: 'module',
        dependencies: { '@dingtalk-gateway/client': tarballs['@dingtalk-gateway/client'] },
        devDependencies: { typescript, '@types/node': nodeTypes },
        // The registry would serve these at their versions; here, the tarballs.
        overrides: Object.fromEntries(Object.entries(tarballs).filter(([name]) => name !== '@dingtalk-gateway/client')),
      }),
    );
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: scratch, stdio: 'pipe', timeout: 180_000 });
    expect(existsSync(join(scratch, 'node_modules/@dingtalk-gateway/client/dist/index.js'))).toBe(true);
    expect(existsSync(join(scratch, 'node_modules/ioredis'))).toBe(false);
    const installed = JSON.parse(readFileSync(join(scratch, 'node_modules/@dingtalk-gateway/client/package.json'), 'utf8')) as { dependencies: Record<string, string>; private?: boolean };
    expect(installed.private).toBeUndefined();
    for (const version of Object.values(installed.dependencies)) expect(version).not.toMatch(/^workspace:/);

    // The client's own example, compiled by the service's TypeScript, strict, against the installed types.
    copyFileSync(join(workspaceRoot, 'packages/dingtalk-client/examples/through-the-gateway.ts'), join(scratch, 'through-the-gateway.ts'));
    writeFileSync(join(scratch, 'run.ts'), "import { main } from './through-the-gateway.js';\nawait main();\n");
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, outDir: 'dist', lib: ['ES2022', 'DOM'], types: ['node'] }, files: ['run.ts'] }),
    );
    const compiled = spawnSync(process.execPath, [join(scratch, 'node_modules/typescript/bin/tsc'), '-p', scratch], { cwd: scratch, encoding: 'utf8' });
    expect(compiled.status, compiled.stdout + compiled.stderr).toBe(0);

    // Asynchronously: the gateway and the sandbox answer from this process's event loop.
    const { stdout: output } = await run(process.execPath, [join(scratch, 'dist/run.js')], {
      cwd: scratch,
      env: { PATH: process.env.PATH, GATEWAY_URL: gateway.url, DTG_API_KEY: key.key, OPERATOR_ID: seeded.users.alice.unionId },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(output).toMatch(/^created Team handbook \(\w+\)$/m);
    expect(output).toMatch(/^read back Team handbook$/m);
    expect(output).toMatch(/^Team handbook\tOWNER$/m);
    expect(output).toMatch(/^not found \(request /m);
    expect(sandbox.sandbox.counters.snapshot().byOperation.addWorkspace).toBe(1);
  });
});
