/**
 * The real thing: `dingtalk-gateway start` as its own process (the built CLI), in front of the
 * sandbox, stopped with SIGTERM while a request is in flight.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningSandbox, startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntilListening, mintApiKey } from '@dingtalk-gateway/gateway';
import { gatewayCli, track } from '../processes/index.js';

const key = mintApiKey();
let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ faults: { getWorkspace: { latencyMs: 400 } } });
});
afterAll(() => sandbox.close());

async function startProcess(): Promise<{ child: ChildProcess; url: string; stdout: () => string; stderr: () => string }> {
  const dir = mkdtempSync(join(tmpdir(), 'dtg-process-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    [
      'server: { port: 0 }',
      `upstream: { baseUrl: '${sandbox.url}' }`,
      'apps:',
      `  full: { type: internal, appKey: ${seeded.apps.full.appKey}, appSecretEnv: FULL_SECRET }`,
      'tenants:',
      `  t: { name: T, app: full, apiKeys: [{ sha256: ${key.sha256} }], scopes: [Wiki.Workspace.Read], rateLimit: { rate: 50, burst: 50 } }`,
      'observability: { logLevel: info, metrics: { enabled: false } }',
    ].join('\n'),
  );
  const child = track(spawn(process.execPath, [gatewayCli, 'start', '--config', file], { env: { PATH: process.env.PATH, FULL_SECRET: seeded.apps.full.appSecret }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += String(chunk)));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  const { url } = await waitUntilListening(child, 10_000);
  return { child, url, stdout: () => stdout, stderr: () => stderr };
}

describe('dingtalk-gateway start (a real process)', () => {
  it('on SIGTERM finishes the in-flight request, refuses new ones and exits 0, its access-log line written', async () => {
    const { child, url, stdout, stderr } = await startProcess();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const inFlight = fetch(`${url}/v2.0/wiki/workspaces/${seeded.workspaces.handbook.workspaceId}?operatorId=${seeded.users.alice.unionId}`, {
      headers: { authorization: `Bearer ${key.key}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await exited).toBe(0);
    expect(stderr()).toMatch(/SIGTERM: finishing in-flight requests/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    // The access log (stdout, written once per event-loop turn): the request answered during the
    // drain is there, with the others, by the time the process has exited.
    const requests = stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg: string; operation?: string; status?: number })
      .filter((line) => line.msg === 'request');
    expect(requests).toEqual([expect.objectContaining({ operation: 'getWorkspace', status: 200 })]);
  });

  it('refuses to start on a bad config, naming the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtg-bad-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'apps: {}\ntenants: {}\n');
    const child = track(spawn(process.execPath, [gatewayCli, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(`${file}:1:7: apps: expected at least one app`);
  });
});
