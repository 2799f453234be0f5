/**
 * Test support: gateway instances as real processes (the built CLI), a redis-server of the
 * test's own that can be stopped and restarted, and a bounded load driver.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntilListening } from '../cli/listening.js';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;

// A test that times out never reaches its cleanup: whatever was spawned dies with the test process.
const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned) if (child.exitCode === null) child.kill('SIGKILL');
});
function track(child: ChildProcess): ChildProcess {
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  return child;
}

export interface GatewayProcess {
  url: string;
  metricsUrl: string;
  stderr(): string;
  /** The JSON log lines (stdout). */
  output(): string;
  stop(): Promise<number | null>;
  /** SIGKILL: no shutdown, nothing flushed (a crash). */
  kill(): Promise<number | null>;
}

export async function startGatewayProcess(configYaml: string, env: Record<string, string>): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'dtg-instance-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, configYaml);
  const child = track(spawn(process.execPath, [cli, 'start', '--config', file], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  child.stdout!.on('data', (chunk: Buffer) => (output += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const { url, metricsUrl } = await waitUntilListening(child, 15_000);
  if (metricsUrl === undefined) throw new Error('the scale-out tests need the metrics listener on');
  return {
    url,
    metricsUrl,
    stderr: () => stderr,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

/**
 * Resolves once every one of `urls` answers `/healthz` with 2xx; rejects, with `output()`, when
 * `child` exits first or `timeoutMs` passes (for a server that prints no listening line: workerd).
 */
export async function untilServing(urls: readonly string[], child: ChildProcess, timeoutMs: number, output: () => string = () => ''): Promise<void> {
  for (let waited = 0; ; waited += 100) {
    const up = await Promise.all(urls.map((url) => fetch(`${url}/healthz`).then((r) => r.ok, () => false)));
    if (up.every(Boolean)) return;
    if (waited > timeoutMs || child.exitCode !== null) throw new Error(`${urls.join(' and ')} not served within ${timeoutMs} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A redis-server of the test's own (the shared one must not be stopped). */
export class OwnRedis {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = track(spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 5_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        out += String(chunk);
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('error', reject);
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

export interface LoadResult {
  statuses: Map<number, number>;
  codes: Map<string, number>;
  maxLatencyMs: number;
  admittedAt: number[];
}

/**
 * Sends requests round-robin over `urls` with `concurrency` callers until `durationMs` passes
 * (bounded by `maxRequests`). Records statuses, error codes, the worst latency and when each
 * admitted (2xx) request was sent.
 */
export async function drive(options: { urls: string[]; path: string; key: string; concurrency: number; durationMs: number; maxRequests: number; timeoutMs?: number }): Promise<LoadResult> {
  const result: LoadResult = { statuses: new Map(), codes: new Map(), maxLatencyMs: 0, admittedAt: [] };
  const started = performance.now();
  let sent = 0;
  const worker = async (id: number) => {
    while (performance.now() - started < options.durationMs && sent < options.maxRequests) {
      const url = options.urls[(sent + id) % options.urls.length]!;
      sent += 1;
      const at = performance.now() - started;
      let status: number;
      let code = '';
      try {
        const response = await fetch(url + options.path, {
          headers: { authorization: `Bearer ${options.key}` },
          signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
        });
        status = response.status;
        const text = await response.text();
        if (status >= 400) code = (JSON.parse(text) as { code?: string }).code ?? '?';
      } catch (error) {
        status = 0;
        code = (error as Error).name;
      }
      result.maxLatencyMs = Math.max(result.maxLatencyMs, performance.now() - started - at);
      result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
      if (code) result.codes.set(code, (result.codes.get(code) ?? 0) + 1);
      if (status >= 200 && status < 300) result.admittedAt.push(at);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, id) => worker(id)));
  return result;
}
