/**
 * Two isolates, one gateway: the Workers bundle built by `dingtalk-gateway build-worker`, served
 * by the real workerd as two services (two isolates, two sockets) that share the `GatewayState`
 * Durable Object, in front of the sandbox. What Redis does for Node instances, the object does
 * for isolates: one DingTalk token, one tenant budget, one read cache, one record per
 * Idempotency-Key.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
/** A second team, with a budget the token cases cannot spend. */
const roomyKey = mintApiKey();
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
  dir = mkdtempSync(join(tmpdir(), 'dtg-isolates-'));
  const ports: [number, number] = [await freePort(), await freePort()];
  const config = {
    server: { host: '127.0.0.1', port: ports[0] },
    upstream: { baseUrl: sandbox.url },
    apps: { full: { type: 'internal', appKey: seeded.apps.full.appKey, appSecretEnv: 'FULL_SECRET' } },
    tenants: {
      t: { name: 'T', app: 'full', apiKeys: [{ sha256: key.sha256 }], scopes: ['Wiki.Workspace.Read', 'Wiki.Workspace.Write'], rateLimit: { rate: 1, burst: BURST } },
      roomy: { name: 'Roomy', app: 'full', apiKeys: [{ sha256: roomyKey.sha256 }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 1_000, burst: 1_000 } },
    },
    // The token cases send their requests at once: no wait for DingTalk's QPS slots.
    dingtalk: { qpsLimit: 1_000 },
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
/** Where build-worker wrote the bundle and its configs. */
let dir: string;

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

/** Calls to DingTalk's token endpoint (an internal app's repeated call returns the same token, so not `tokensIssued`). */
const tokenFetches = () => sandbox.sandbox.counters.snapshot().byOperation.getAccessToken ?? 0;

/** `perIsolate` reads sent at once through each isolate, by the roomy team: their statuses. */
async function readsThroughBoth(perIsolate: number): Promise<number[]> {
  const responses = await Promise.all(
    Array.from({ length: 2 * perIsolate }, async (_, i) => {
      const response = await fetch(`${isolates[i % 2]}/v2.0/wiki/workspaces?operatorId=${operatorId}`, { headers: { authorization: `Bearer ${roomyKey.key}` } });
      await response.arrayBuffer();
      return response.status;
    }),
  );
  return responses;
}

describe('the gateway on Workers, two isolates sharing the GatewayState Durable Object', () => {
  // First: both isolates start with no token (workerd was only asked /healthz).
  it('fetches one DingTalk token for both isolates: requests at once through each make one token fetch', async () => {
    expect(tokenFetches()).toBe(0);
    expect(await readsThroughBoth(8), output).toEqual(Array(16).fill(200));
    expect(tokenFetches(), output).toBe(1);
    // Later requests through either isolate use it.
    expect(await readsThroughBoth(2)).toEqual(Array(4).fill(200));
    expect(tokenFetches()).toBe(1);
  });

  it('a token revoked at DingTalk: both isolates recover with one token fetch in total, no caller sees the error', async () => {
    const before = tokenFetches();
    sandbox.sandbox.revokeTokens(seeded.apps.full.appKey);
    expect(await readsThroughBoth(8), output).toEqual(Array(16).fill(200));
    expect(tokenFetches() - before, output).toBe(1);
  });

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

  it('build-worker wrote, beside the bundle served here, a wrangler.toml for the same Worker: its object binding, migration and secret names', () => {
    const toml = readFileSync(join(dir, 'wrangler.toml'), 'utf8');
    expect(toml).toMatch(/^main = "worker\.js"$/m);
    expect(toml).toMatch(/^\[\[durable_objects\.bindings\]\]\nname = "GATEWAY_STATE"\nclass_name = "GatewayState"$/m);
    expect(toml).toMatch(/^\[\[migrations\]\]\ntag = "v1"\nnew_sqlite_classes = \["GatewayState"\]$/m);
    expect(toml).toContain('npx wrangler secret put FULL_SECRET');
    expect(toml).not.toContain(seeded.apps.full.appSecret);
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

