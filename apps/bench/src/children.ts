/**
 * The processes a run starts (upstream, baseline, gateways), each in its own process so the load
 * generator never shares their event loop. Every child is registered (the harness's process
 * helpers) and killed when the run ends, fails, or is interrupted; starts and stops are bounded
 * in time.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type GatewayProcess, type GatewayProcessOptions, rssMb, startGatewayProcess as startGatewayInstance, stopChild, track } from '@dingtalk-gateway/harness/processes';

export { childPids, installCleanup, killAllChildren, rssMb, stopChild } from '@dingtalk-gateway/harness/processes';

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
    stop: async () => {
      await stopChild(child);
    },
  };
}

/** A gateway process whose access log goes to `logFile`. */
export interface GatewayChild extends GatewayProcess {
  logFile: string;
}

/**
 * The gateway through its real entry, the built CLI (`dingtalk-gateway start --config`), with
 * its stdout (the access log) going to `logFile`: pino writing to a file descriptor, as in
 * production. `runtimeArgs` e.g. Node's `--cpu-prof` (a profile is written on the clean exit SIGTERM gives).
 */
export async function startGatewayProcess(options: GatewayProcessOptions & { logFile: string }): Promise<GatewayChild> {
  return { ...(await startGatewayInstance({ timeoutMs: 30_000, ...options })), logFile: options.logFile };
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
