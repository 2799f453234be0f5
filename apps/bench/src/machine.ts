/**
 * What a result must say about where it was measured (CPU, cores, memory, Node), and whether
 * the machine was quiet: the 1-minute load average before the run, and any test runner
 * (vitest) of someone else running meanwhile.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  kernel: string;
}

export function machineInfo(): MachineInfo {
  const cpuinfo = safeRead('/proc/cpuinfo');
  const meminfo = safeRead('/proc/meminfo');
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? Number.NaN);
  return {
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGb: Math.round((memKb / 1024 / 1024) * 10) / 10,
    node: process.version,
    kernel: release(),
  };
}

/** The 1-, 5- and 15-minute load averages. */
export function loadAverage(): [number, number, number] {
  const [one, five, fifteen] = safeRead('/proc/loadavg').split(' ').map(Number);
  return [one ?? Number.NaN, five ?? Number.NaN, fifteen ?? Number.NaN];
}

/** Pids of processes (not this one or its children) whose command line mentions `word`. */
export function foreignProcesses(word: string, ownPids: ReadonlySet<number>): number[] {
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || ownPids.has(pid)) continue;
    const cmdline = safeRead(`/proc/${entry}/cmdline`).replaceAll('\0', ' ');
    if (cmdline.includes(word)) found.push(pid);
  }
  return found;
}

/**
 * CPU time (user + system, µs) used so far by every user process outside `ownPids` (and this one):
 * sampled before and after a round, the difference says how much of the machine someone else
 * took meanwhile (another engineer's tests, a soak, …).
 */
export function foreignCpuUs(ownPids: ReadonlySet<number>): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return Number.NaN;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || ownPids.has(pid)) continue;
    const stat = safeRead(`/proc/${entry}/stat`);
    if (stat === '') continue;
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Kernel threads (PF_KTHREAD) do our own loopback traffic's softirq work too; the shared
    // redis-server is part of the Redis variant's measurement. Neither counts as someone else.
    if ((Number(fields[6]) & 0x00200000) !== 0 || comm === 'redis-server') continue;
    total += ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  }
  return total;
}

/** Measures how many cores other processes used between `start()` and `stop()`. */
export function foreignLoad(ownPids: () => ReadonlySet<number>): { stop(): number } {
  const before = foreignCpuUs(ownPids());
  const started = performance.now();
  return {
    stop() {
      const elapsedUs = (performance.now() - started) * 1000;
      return elapsedUs > 0 ? (foreignCpuUs(ownPids()) - before) / elapsedUs : Number.NaN;
    },
  };
}

export interface QuietState {
  load1: number;
  vitestPids: number[];
  quiet: boolean;
}

export function quietState(maxLoad: number, ownPids: ReadonlySet<number> = new Set()): QuietState {
  const [load1] = loadAverage();
  const vitestPids = foreignProcesses('vitest', ownPids);
  return { load1, vitestPids, quiet: load1 < maxLoad && vitestPids.length === 0 };
}

/** Waits (polling every 5 s, at most `timeoutS`) until the machine is quiet. Returns the last state. */
export async function waitForQuiet(maxLoad: number, timeoutS: number, log: (line: string) => void): Promise<QuietState> {
  const deadline = performance.now() + timeoutS * 1000;
  let state = quietState(maxLoad);
  while (!state.quiet && performance.now() < deadline) {
    log(`waiting for a quiet machine: load ${state.load1.toFixed(2)} (want < ${maxLoad}), vitest processes: ${state.vitestPids.length}`);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    state = quietState(maxLoad);
  }
  return state;
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
