/**
 * The comparison's own processes, as the harness starts them (the built `dist/processes/*.js`,
 * forked, `ready` over IPC): the floor must forward exactly what the baseline forwards, or the
 * comparison between them would measure something else; the sandbox must count what the call
 * economy reads from it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { OPERATIONS } from '../load.js';

const started: ChildProcess[] = [];

async function start(name: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(fileURLToPath(new URL(`../../dist/processes/${name}.js`, import.meta.url)), [], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  started.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (message: { type?: string; port?: number }) => message?.type === 'ready' && resolve(message.port!));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

function ask<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: { type?: string }) => {
      if (message?.type !== type) return;
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
    child.send({ type });
  });
}

let upstream: { child: ChildProcess; url: string };
let baseline: { url: string };
let floor: { url: string };

beforeAll(async () => {
  upstream = await start('upstream');
  const env = { BENCH_UPSTREAM_URL: upstream.url, BENCH_UPSTREAM_CONNECTIONS: '4' };
  [baseline, floor] = await Promise.all([start('baseline', env), start('floor', env)]);
}, 20_000);

afterAll(() => {
  for (const child of started) child.kill('SIGTERM');
});

async function call(base: string, method: string, path: string, body?: string) {
  const response = await fetch(base + path, { method, body, headers: { authorization: 'Bearer k', ...(body ? { 'content-type': 'application/json' } : {}) } });
  return { status: response.status, contentType: response.headers.get('content-type'), body: await response.text() };
}

describe('the framework floor', () => {
  it('answers every operation of the comparison as the baseline does, with the DingTalk token it fetched', async () => {
    for (const operation of OPERATIONS) {
      const viaBaseline = await call(baseline.url, operation.method, operation.path, operation.body);
      const viaFloor = await call(floor.url, operation.method, operation.path, operation.body);
      expect(viaBaseline.status).toBe(200);
      expect(viaFloor).toEqual(viaBaseline);
    }
    // An unknown path is DingTalk's 404 through both; no request reached the upstream without a token.
    expect(await call(floor.url, 'GET', '/v1.0/nothing')).toEqual(await call(baseline.url, 'GET', '/v1.0/nothing'));
    const stats = await ask<{ missingToken: number; tokenFetches: number; notFound: number }>(upstream.child, 'stats');
    expect(stats).toMatchObject({ missingToken: 0, tokenFetches: 2, notFound: 2 });
  });
});

describe('the sandbox process (call economy)', () => {
  it("is DingTalk's emulator with its limits out of reach, and reports DingTalk's own count of calls", async () => {
    const sandbox = await start('sandbox');
    const { appKey, appSecret } = seeded.apps.full;
    const token = await fetch(`${sandbox.url}/v1.0/oauth2/accessToken`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appKey, appSecret }) });
    const { accessToken } = (await token.json()) as { accessToken: string };
    // Past the standard edition's 20 QPS in one go: none refused.
    const reads = await Promise.all(
      Array.from({ length: 30 }, () => fetch(`${sandbox.url}/v2.0/wiki/workspaces?operatorId=${seeded.users.alice.unionId}`, { headers: { 'x-acs-dingtalk-access-token': accessToken } })),
    );
    expect(reads.map((r) => r.status)).toEqual(Array(30).fill(200));
    const stats = await ask<{ byOperation: Record<string, number>; metered: Record<string, Record<string, number>> }>(sandbox.child, 'stats');
    expect(stats.byOperation).toEqual({ getAccessToken: 1, listWorkspaces: 30 });
    expect(Object.values(stats.metered[seeded.apps.full.corpId] ?? {})).toEqual([30]);
  });
});
