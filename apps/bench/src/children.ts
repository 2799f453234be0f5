/**
 * The processes a run starts (upstream, baseline, gateways), each in its own process so the load
 * generator never shares their event loop. Every child is registered and killed when the run
 * ends, fails, or is interrupted; starts and stops are bounded in time.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { waitUntilListening } from '@dingtalk-gateway/gateway';
import type { GatewayRuntime } from './options.js';

const live = new Set<ChildProcess>();

/** Pids of every child process still running (the run's own processes). */
export function childPids(): ReadonlySet<number> {
  return new Set([...live].map((child) => child.pid).filter((pid): pid is number => pid !== undefined));
}

/** Kill every child still running (SIGKILL: used on the way out, when nothing may wait). */
export function killAllChildren(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}

let installed = false;
/** Children die with the harness: on exit, Ctrl-C, SIGTERM and uncaught errors. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping every child process`);
      killAllChildren();
      process.exit(130);
    });
  }
}

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Sends SIGTERM, then SIGKILL after `graceMs`. Resolves once the child is gone. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface ForkedChild {
  child: ChildProcess;
  pid: number;
  port: number;
  url: string;
  /** Send a message and wait for the first answer of the same `type`. */
  ask<T>(type: string, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

/** Forks one of this package's own processes (`dist/processes/*.js`), which reports `{ type: 'ready', port }`. */
export async function forkProcess(name: string, env: Record<string, string>, options: { execArgv?: string[]; timeoutMs?: number } = {}): Promise<ForkedChild> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const entry = new URL(`./processes/${name}.js`, import.meta.url).pathname;
  const child = fork(entry, [], { env: { ...process.env, ...env }, execArgv: options.execArgv ?? [], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  track(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + String(chunk)).slice(-10_000)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    child.on('message', (message: { type?: string; port?: number }) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolve(message.port!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${stderr}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    ask<T>(type: string, askTimeoutMs = 5_000) {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.off('message', onMessage);
          reject(new Error(`${name} did not answer "${type}"`));
        }, askTimeoutMs);
        const onMessage = (message: { type?: string }) => {
          if (message?.type !== type) return;
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(message as T);
        };
        child.on('message', onMessage);
        child.send({ type });
      });
    },
    stop: () => stopChild(child),
  };
}

export interface GatewayChild {
  child: ChildProcess;
  pid: number;
  url: string;
  metricsUrl: string;
  /** The access log file (pino's JSON lines, the gateway's stdout). */
  logFile: string;
  /** From the spawn to the listening line (config read, stores connected, sockets open). */
  startMs: number;
  /** RSS right after start, before any request. */
  rssAtStartMb: number;
  stderr(): string;
  stop(): Promise<void>;
}

const gatewayCli = () => import.meta.resolve('@dingtalk-gateway/gateway').replace(/index\.js$/, 'cli/main.js');

/**
 * How a runtime runs the gateway's CLI (`cli` the Node entry, `dist/cli/main.js`): its binary
 * (from the gateway package's devDependencies, the process itself so that its pid is measured)
 * and arguments.
 */
function runtimeCommand(runtime: 'node' | GatewayRuntime, cli: string, nodeArgs: string[]): { command: string; args: string[]; cwd?: string } {
  const dist = dirname(dirname(cli));
  const fromGateway = createRequire(join(dist, '..', 'package.json'));
  if (runtime === 'bun') return { command: join(dirname(fromGateway.resolve('bun/package.json')), 'bin', 'bun.exe'), args: [join(dist, 'adapters', 'bun', 'main.js')] };
  if (runtime === 'deno') return { command: join(dirname(fromGateway.resolve('deno/package.json')), 'deno'), args: ['run', '--allow-all', join(dist, 'adapters', 'deno', 'main.js')], cwd: join(dist, '..') };
  return { command: process.execPath, args: [...nodeArgs, cli] };
}

/**
 * The gateway through its real entry, the built CLI (`dingtalk-gateway start --config`), with
 * its stdout (the access log) going to `logFile`: pino writing to a file descriptor, as in
 * production. `nodeArgs` e.g. `--cpu-prof`.
 */
export async function startGatewayProcess(options: {
  /** Default: the built CLI of the workspace's gateway. */
  cli?: string;
  configFile: string;
  logFile: string;
  env: Record<string, string>;
  nodeArgs?: string[];
  timeoutMs?: number;
  /** Default: Node. */
  runtime?: 'node' | GatewayRuntime;
}): Promise<GatewayChild> {
  const cli = options.cli ?? new URL(gatewayCli()).pathname;
  const { command, args, cwd } = runtimeCommand(options.runtime ?? 'node', cli, options.nodeArgs ?? []);
  const fd = openSync(options.logFile, 'a');
  const spawnedAt = performance.now();
  const child = spawn(command, [...args, 'start', '--config', options.configFile], {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', fd, 'pipe'],
    ...(cwd ? { cwd } : {}),
  });
  closeSync(fd);
  track(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + String(chunk)).slice(-20_000)));
  const { url, metricsUrl } = await waitUntilListening(child, options.timeoutMs ?? 30_000);
  const startMs = performance.now() - spawnedAt;
  if (metricsUrl === undefined) throw new Error('the benchmark reads the gateway\'s metrics: its config must enable them');
  return {
    child,
    pid: child.pid!,
    url,
    metricsUrl,
    logFile: options.logFile,
    startMs,
    rssAtStartMb: rssMb(child.pid!),
    stderr: () => stderr,
    // The gateway drains on SIGTERM (and a --cpu-prof profile is written on that clean exit).
    stop: () => stopChild(child, 15_000),
  };
}

/** Resident memory of a process in MB (VmRSS from /proc). NaN once it is gone. */
export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux this runs on

/** CPU time (user + system) a process has used so far, in microseconds. */
export function cpuTimeUs(pid: number): number {
  const { userUs, systemUs } = cpuTimes(pid);
  return userUs + systemUs;
}

/**
 * CPU time a process has used so far, in microseconds, split: `userUs` in the process itself
 * (JavaScript, V8, Node's C++), `systemUs` in the kernel on its behalf (system calls, the
 * loopback network). NaN once it is gone.
 */
export function cpuTimes(pid: number): { userUs: number; systemUs: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return parseCpuTimes(stat);
  } catch {
    return { userUs: Number.NaN, systemUs: Number.NaN };
  }
}

/** utime and stime (fields 14 and 15 of `/proc/<pid>/stat`) in microseconds. */
export function parseCpuTimes(stat: string): { userUs: number; systemUs: number } {
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { userUs: (Number(fields[11]) * 1e6) / CLOCK_TICKS_PER_SECOND, systemUs: (Number(fields[12]) * 1e6) / CLOCK_TICKS_PER_SECOND };
}

/** Samples a process's RSS every `intervalMs` until stopped; returns the highest value. */
export function sampleRss(pid: number, intervalMs = 250): { stop(): number } {
  let max = rssMb(pid);
  const timer = setInterval(() => {
    const value = rssMb(pid);
    if (value > max || Number.isNaN(max)) max = value;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const value = rssMb(pid);
      return value > max || Number.isNaN(max) ? value : max;
    },
  };
}
