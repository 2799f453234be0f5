/**
 * A gateway instance as a real process: the built CLI (`dingtalk-gateway start --config`) on
 * Node, Bun or Deno, as an operator runs it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntilListening } from '@dingtalk-gateway/gateway';
import { rssMb, stopChild, track } from './children.js';
import { type Runtime, gatewayCommand } from './gateway-package.js';

export interface GatewayProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  /** The metrics listener (the config must turn it on: the suites and the benchmark read it). */
  metricsUrl: string;
  /** From the spawn to the listening line (config read, stores connected, sockets open). */
  startMs: number;
  /** From the spawn to the first answer: the answer to a `GET /healthz` sent once it listens. */
  firstAnswerMs: number;
  /** RSS right after start, before any request. */
  rssAtStartMb: number;
  stderr(): string;
  /** The JSON log lines (stdout), when they are kept in memory (no `logFile`). */
  output(): string;
  /** SIGTERM (the gateway drains), SIGKILL after `graceMs`. Resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL: no shutdown, nothing flushed (a crash). */
  kill(): Promise<number | null>;
}

export interface GatewayProcessOptions {
  /** The config's YAML (written to a file of its own), or `configFile`. */
  config?: string;
  configFile?: string;
  /** The whole environment besides PATH (the secrets' variables). */
  env: Record<string, string>;
  /** Default: Node. */
  runtime?: Runtime;
  /** Another build's Node CLI (`…/dist/cli/main.js`); default this workspace's. */
  cli?: string;
  /** The runtime's own flags: Node's `--cpu-prof`, Bun's `--smol`, Deno's `--v8-flags=…`. */
  runtimeArgs?: string[];
  /** The access log to a file (pino writing to a file descriptor, as in production) instead of memory. */
  logFile?: string;
  timeoutMs?: number;
}

export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const configFile = options.configFile ?? writeConfig(options.config);
  const { command, args, cwd } = gatewayCommand(options.runtime ?? 'node', options.runtimeArgs, options.cli);
  const logFd = options.logFile === undefined ? undefined : openSync(options.logFile, 'a');
  const spawnedAt = performance.now();
  const child = track(
    spawn(command, [...args, 'start', '--config', configFile], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['ignore', logFd ?? 'pipe', 'pipe'],
    }),
  );
  if (logFd !== undefined) closeSync(logFd);
  let stderr = '';
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + String(chunk)).slice(-100_000)));
  child.stdout?.on('data', (chunk: Buffer) => (output += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const { url, metricsUrl } = await waitUntilListening(child, options.timeoutMs ?? 20_000);
  if (metricsUrl === undefined) throw new Error(`the gateway's config must turn the metrics listener on (${configFile})`);
  const startMs = performance.now() - spawnedAt;
  const rssAtStartMb = rssMb(child.pid!);
  const health = await fetch(`${url}/healthz`);
  await health.arrayBuffer();
  if (!health.ok) throw new Error(`the gateway listens but answers GET /healthz with ${health.status}:\n${stderr}`);
  const firstAnswerMs = performance.now() - spawnedAt;
  return {
    child,
    pid: child.pid!,
    url,
    metricsUrl,
    startMs,
    firstAnswerMs,
    rssAtStartMb,
    stderr: () => stderr,
    output: () => output,
    stop: (graceMs = 15_000) => stopChild(child, graceMs),
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

function writeConfig(yaml: string | undefined): string {
  if (yaml === undefined) throw new Error('startGatewayProcess needs `config` or `configFile`');
  const file = join(mkdtempSync(join(tmpdir(), 'dtg-instance-')), 'gateway.yaml');
  writeFileSync(file, yaml);
  return file;
}
