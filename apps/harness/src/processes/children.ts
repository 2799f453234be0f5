/**
 * Every process a suite or a benchmark starts is registered here and dies with it: on exit,
 * and (with `installCleanup`) on Ctrl-C, SIGTERM and SIGHUP. A test that times out never reaches
 * its cleanup; its children must not outlive it.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const live = new Set<ChildProcess>();

export function track<T extends ChildProcess>(child: T): T {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Pids of every child still running. */
export function childPids(): ReadonlySet<number> {
  return new Set([...live].map((child) => child.pid).filter((pid): pid is number => pid !== undefined));
}

/** SIGKILL to every child still running (on the way out, when nothing may wait). */
export function killAllChildren(): void {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  live.clear();
}
process.once('exit', killAllChildren);

let installed = false;
/** For a command-line run: Ctrl-C, SIGTERM and SIGHUP stop every child, then the run. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping every child process`);
      killAllChildren();
      process.exit(130);
    });
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code once the child is gone. */
export async function stopChild(child: ChildProcess, graceMs = 5_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** Resident memory of a process in MB (VmRSS from /proc). NaN once it is gone. */
export function rssMb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
