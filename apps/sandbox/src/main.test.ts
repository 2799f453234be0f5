import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { seeded } from './seed.js';

/** The CLI as `pnpm start` runs it: the build output (turbo builds before testing). */
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
/** The installed `dingtalk-sandbox` command (package.json `bin`), run as a shell would run it. */
const BIN = fileURLToPath(new URL('../bin/dingtalk-sandbox.js', import.meta.url));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function run(env: Record<string, string>, command: readonly string[] = [process.execPath, MAIN]) {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (turbo runs build before test)`);
  const started = performance.now();
  const child = spawn(command[0]!, command.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = new Promise<{ url: string; readyMs: number; wallMs: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line in 10 s:\n${stdout}\n${stderr}`)), 10_000);
    child.stdout!.on('data', () => {
      const match = /listening on (http:\/\/\S+) \(ready (\d+) ms after process start\)/.exec(stdout);
      if (match && stdout.includes('Users (operatorId')) {
        clearTimeout(timer);
        resolve({ url: match[1]!, readyMs: Number(match[2]), wallMs: performance.now() - started });
      }
    });
    void exited.then(() => reject(new Error(`exited before listening:\n${stdout}\n${stderr}`)));
  });
  listening.catch(() => {}); // only tests that wait for it care

  return { child, listening, exited, output: () => ({ stdout, stderr }) };
}

describe('the CLI (dist/main.js)', () => {
  it('starts in well under a second, prints the URL and the credentials, and stops on SIGTERM', async () => {
    const cli = run({ SANDBOX_PORT: '0', SANDBOX_ADMIN: '1' });
    const { url, readyMs, wallMs } = await cli.listening;
    console.log(`sandbox CLI: ready ${readyMs} ms after process start (${wallMs.toFixed(0)} ms from spawn to the "listening" line)`);
    expect(readyMs).toBeLessThan(1000);
    expect(cli.output().stdout).toContain(seeded.apps.full.appSecret);
    expect(cli.output().stdout).toContain(seeded.users.alice.unionId);
    expect((await fetch(`${url}/__sandbox/counters`)).status).toBe(200);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.output().stdout).toContain('SIGTERM: stopping');
  });

  it('is what the installed dingtalk-sandbox command runs', async () => {
    const cli = run({ SANDBOX_PORT: '0' }, [BIN]);
    const { url } = await cli.listening;
    expect((await fetch(`${url}/v1.0/oauth2/accessToken`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appKey: seeded.apps.full.appKey, appSecret: seeded.apps.full.appSecret }) })).status).toBe(200);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('exits 1 with a readable message on a bad setting', async () => {
    const cli = run({ SANDBOX_QPS_LIMIT: 'lots' });
    expect(await cli.exited).toBe(1);
    expect(cli.output().stderr).toContain('SANDBOX_QPS_LIMIT must be a positive integer');
  });
});
