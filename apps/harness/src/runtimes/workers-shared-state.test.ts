/**
 * Two isolates, one gateway: the Workers bundle built by `dingtalk-gateway build-worker`, served
 * by the real workerd as two services (two isolates, two sockets) that share the `GatewayState`
 * Durable Object, in front of the sandbox. What Redis does for Node instances, the object does
 * for isolates: one tenant budget, one read cache, one record per Idempotency-Key.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type RunningSandbox, startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, gatewayCli, track, untilServing, workerdBinary } from '../processes/index.js';
import { mintApiKey } from '@dingtalk-gateway/gateway';

const require = createRequire(import.meta.url);
const key = mintApiKey();
const operatorId = seeded.users.alice.unionId;
const BURST = 10;

let sandbox: RunningSandbox;
let workerd: ChildProcess;
let isolates: [string, string];
/** What workerd printed (the gateways' errors, at `error`): shown when a case fails. */
let output = '';


/** workerd's config for two services from the one bundle; the second binds the first's object. */
function twoIsolates(ports: [number, number], stateDir: string): string {
  const worker = (binding: string) => `(
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "internet",
  bindings = [ (name = "FULL_SECRET", fromEnvironment = "FULL_SECRET"), (name = "GATEWAY_STATE", durableObjectNamespace = ${binding}) ],
`;
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "gateway-a", worker = .a),
    (name = "gateway-b", worker = .b),
    (name = "internet", network = (allow = ["public", "private", "local"])),
    (name = "state", disk = (path = ${JSON.stringify(stateDir)}, writable = true)),
  ],
  sockets = [
    (name = "a", address = "127.0.0.1:${ports[0]}", http = (), service = "gateway-a"),
    (name = "b", address = "127.0.0.1:${ports[1]}", http = (), service = "gateway-b"),
  ],
);
const a :Workerd.Worker = ${worker('"GatewayState"')}  durableObjectNamespaces = [ (className = "GatewayState", uniqueKey = "dtg-shared-state-test") ],
  durableObjectStorage = (localDisk = "state"),
);
const b :Workerd.Worker = ${worker('(className = "GatewayState", serviceName = "gateway-a")')});
`;
}

beforeAll(async () => {
  sandbox = await startSandbox({ qpsLimit: 100_000 });
  const dir = mkdtempSync(join(tmpdir(), 'dtg-isolates-'));
  const ports: [number, number] = [await freePort(), await freePort()];
  const config = {
    server: { host: '127.0.0.1', port: ports[0] },
    upstream: { baseUrl: sandbox.url },
    apps: { full: { type: 'internal', appKey: seeded.apps.full.appKey, appSecretEnv: 'FULL_SECRET' } },
    tenants: { t: { name: 'T', app: 'full', apiKeys: [{ sha256: key.sha256 }], scopes: ['Wiki.Workspace.Read', 'Wiki.Workspace.Write'], rateLimit: { rate: 1, burst: BURST } } },
    cache: { operations: { getWorkspace: { ttlSeconds: 60 } } },
    observability: { logLevel: 'error' },
  };
  writeFileSync(join(dir, 'gateway.yaml'), JSON.stringify(config));
  await promisify(execFile)(process.execPath, [gatewayCli, 'build-worker', '--config', join(dir, 'gateway.yaml'), '--out', dir]);
  // build-worker made state/ for its own workerd.capnp; this config shares it.
  capnp = join(dir, 'two.capnp');
  writeFileSync(capnp, twoIsolates(ports, join(dir, 'state')));
  isolates = [`http://127.0.0.1:${ports[0]}`, `http://127.0.0.1:${ports[1]}`];
  await startWorkerd();
}, 60_000);

let capnp: string;

async function startWorkerd(): Promise<void> {
  workerd = track(spawn(workerdBinary(), ['serve', capnp], { env: { PATH: process.env.PATH, FULL_SECRET: seeded.apps.full.appSecret }, stdio: ['ignore', 'pipe', 'pipe'] }));
  workerd.stdout!.on('data', (chunk: Buffer) => (output += String(chunk)));
  workerd.stderr!.on('data', (chunk: Buffer) => (output += String(chunk)));
  await untilServing(isolates, workerd, 20_000, () => output);
}

afterAll(async () => {
  workerd?.kill('SIGKILL');
  await sandbox?.close();
});

const headers = { authorization: `Bearer ${key.key}` };

describe('the gateway on Workers, two isolates sharing the GatewayState Durable Object', () => {
  it('gives the tenant one budget across both isolates, not one each', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 2 * BURST; i++) {
      const response = await fetch(`${isolates[i % 2]}/v2.0/wiki/workspaces?operatorId=${operatorId}`, { headers });
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    const admitted = statuses.filter((status) => status === 200).length;
    // A burst of 10 at 1 a second: 10 (or 11, if a second passed) in all, where isolates each on their own would admit 20.
    expect(admitted, output).toBeGreaterThanOrEqual(BURST);
    expect(admitted).toBeLessThanOrEqual(BURST + 1);
    expect(statuses.filter((status) => status !== 200).every((status) => status === 429)).toBe(true);
    // The budget refills at 1 a second: wait it out for what follows.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  }, 20_000);

  it('answers a read through one isolate from what the other fetched', async () => {
    const path = `/v2.0/wiki/workspaces/${seeded.workspaces.handbook.workspaceId}?operatorId=${operatorId}`;
    const before = sandbox.sandbox.counters.snapshot().byOperation.getWorkspace ?? 0;
    const first = await fetch(isolates[0] + path, { headers });
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-status')).toMatch(/fwd=miss; stored/);
    const second = await fetch(isolates[1] + path, { headers });
    expect(second.status).toBe(200);
    expect(second.headers.get('cache-status')).toMatch(/; hit/);
    expect(await second.json()).toEqual(await first.json());
    expect((sandbox.sandbox.counters.snapshot().byOperation.getWorkspace ?? 0) - before).toBe(1);
  });

  it('replays through one isolate the create another made with the same Idempotency-Key', async () => {
    const send = (url: string) =>
      fetch(`${url}/v2.0/wiki/workspaces?operatorId=${operatorId}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': 'two-isolates-1' }, body: JSON.stringify({ name: 'Made once' }) });
    const before = sandbox.sandbox.counters.snapshot().byOperation.addWorkspace ?? 0;
    const first = await send(isolates[0]);
    expect(first.status).toBe(200);
    const retry = await send(isolates[1]);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.json()).toEqual(await first.json());
    expect((sandbox.sandbox.counters.snapshot().byOperation.addWorkspace ?? 0) - before).toBe(1);
  });

  it("keeps the month's ledger through a restart of workerd (the object's storage on disk)", async () => {
    const usage = async () => ((await (await fetch(`${isolates[1]}/gateway/usage`, { headers })).json()) as { org: { used: number } }).org.used;
    const used = await usage();
    const metered = Object.values(sandbox.sandbox.counters.snapshot().metered[seeded.orgs.sandbox.corpId] ?? {}).reduce((a, b) => a + b, 0);
    expect(used).toBe(metered);
    expect(used).toBeGreaterThan(0);
    // Written at most once a second: let the last write happen, then stop it hard.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const exited = new Promise((resolve) => workerd.once('exit', resolve));
    workerd.kill('SIGKILL');
    await exited;
    await startWorkerd();
    expect(await usage()).toBe(used);
  }, 40_000);
});

