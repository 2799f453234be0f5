/**
 * Many tenants: one gateway configured with N tenants (N API keys, N limiter keys), driven in
 * interleaved rounds with (a) one tenant's key on every request and (b) the N keys in turn, so
 * every tenant hits the limiter. Both use the same per-request header path of the load
 * generator, so the throughput ratio isolates what N tenants cost. RSS: after start (config
 * with N tenants loaded), and the highest under load. Run once per target: Node as it starts by
 * default, Node with a heap ceiling (`MANY_TENANTS_NODE_HEAP`), and each of `--runtimes`.
 */
import type { ForkedChild, GatewayChild } from '../children.js';
import { childPids, rssMb } from '../children.js';
import type { RunContext } from '../context.js';
import type { GatewayRuntime } from '../options.js';
import { benchApiKey } from '../gateway-config.js';
import { OPERATIONS, drive, measure } from '../load.js';
import { type RunMeasurement, type TargetSummary, ratio, summarizeRounds } from '../stats.js';
import { fmt } from './compare.js';

/**
 * The heap setting under which Node holds 10,000 tenants below 150 MB under load: an old
 * generation of at most 128 MB (V8 then grows it by a smaller factor) and semi-spaces of 2 MB.
 */
export const MANY_TENANTS_NODE_HEAP = ['--max-old-space-size=128', '--max-semi-space-size=2'] as const;

/** A gateway the scenario measures: a runtime and the flags it is given. */
export interface ManyTenantsTarget {
  runtime: 'node' | GatewayRuntime;
  /** The runtime's own flags (the heap setting); none means its defaults. */
  runtimeArgs: readonly string[];
}

/** Node with its defaults, Node with `MANY_TENANTS_NODE_HEAP`, then each runtime with its defaults. */
export function manyTenantsTargets(runtimes: readonly GatewayRuntime[]): ManyTenantsTarget[] {
  return [{ runtime: 'node', runtimeArgs: [] }, { runtime: 'node', runtimeArgs: [...MANY_TENANTS_NODE_HEAP] }, ...runtimes.map((runtime) => ({ runtime, runtimeArgs: [] }))];
}

export interface ManyTenantsResult extends ManyTenantsTarget {
  tenants: number;
  operationId: string;
  connections: number;
  durationS: number;
  rounds: number;
  startSeconds: number;
  rssAfterStartMb: number;
  /** V8 heap (used/total, MB) from the gateway's own /metrics, after start and after the runs: shows how much of the RSS is heap. */
  heapAfterStart: { usedMb: number; totalMb: number };
  heapAfterLoad: { usedMb: number; totalMb: number };
  oneTenant: TargetSummary;
  allTenants: TargetSummary;
  /** Throughput with N tenants in turn / with one. */
  throughputRatio: number;
  /** Requests sent per tenant over the measured runs (every tenant was hit). */
  requestsPerTenant: number;
}

export async function runManyTenants(ctx: RunContext, target: ManyTenantsTarget): Promise<ManyTenantsResult> {
  const { options, log } = ctx;
  const { runtime, runtimeArgs } = target;
  const label = `${runtime}${runtimeArgs.length ? ` ${runtimeArgs.join(' ')}` : ''}`;
  const n = options.tenants;
  const started: Array<ForkedChild | GatewayChild> = [];
  try {
    const upstream = await ctx.startUpstream();
    started.push(upstream);
    const t0 = performance.now();
    const gateway = await ctx.startGateway({ name: `many-tenants-${n}-${runtime}`, upstreamUrl: upstream.url, tenants: n, runtimeArgs, ...(runtime === 'node' ? {} : { runtime }) });
    started.push(gateway);
    const startSeconds = (performance.now() - t0) / 1000;
    const rssAfterStartMb = rssMb(gateway.pid);
    const heapAfterStart = await heapMb(gateway.metricsUrl);
    log(`  ${n} tenants on ${label}: gateway started in ${startSeconds.toFixed(1)} s, RSS ${rssAfterStartMb.toFixed(0)} MB, V8 heap ${heapAfterStart.usedMb.toFixed(0)} MB used of ${heapAfterStart.totalMb.toFixed(0)} MB`);

    const keys = Array.from({ length: n }, (_, i) => benchApiKey(i));
    let next = 0;
    const everyTenant = () => {
      const k = keys[next]!;
      next = next + 1 === n ? 0 : next + 1;
      return k;
    };
    const oneKey = keys[0]!;
    const sameTenant = () => oneKey;
    const operation = OPERATIONS[0]!;

    await drive({ url: gateway.url, operation, connections: options.connections, durationS: options.warmupS, apiKey: everyTenant });
    const one: RunMeasurement[] = [];
    const all: RunMeasurement[] = [];
    let sentToAll = 0;
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? (['one', 'all'] as const) : (['all', 'one'] as const);
      for (const which of order) {
        const m = await measure({ url: gateway.url, pid: gateway.pid, operation, connections: options.connections, durationS: options.durationS, apiKey: which === 'one' ? sameTenant : everyTenant, ownPids: childPids });
        (which === 'one' ? one : all).push(m);
        if (which === 'all') sentToAll += m.requestsPerSecond * options.durationS;
        log(`  round ${round + 1}/${options.rounds} ${which === 'one' ? '1 tenant   ' : `${n} tenants`} ${fmt(m.requestsPerSecond, 0).padStart(7)} req/s  p99 ${fmt(m.latencyMs.p99, 2)} ms  RSS ${fmt(m.rssMaxMb, 0)} MB  ${fmt(m.cpuUsPerRequest, 0)} µs CPU/req  others ${fmt(m.foreignCores ?? Number.NaN, 2)} cores${m.failures ? `  FAILURES ${m.failures} ${JSON.stringify(m.statusCounts)}` : ''}`);
      }
    }
    const heapAfterLoad = await heapMb(gateway.metricsUrl);
    const oneTenant = summarizeRounds(one);
    const allTenants = summarizeRounds(all);
    return {
      runtime,
      runtimeArgs,
      tenants: n,
      operationId: operation.operationId,
      connections: options.connections,
      durationS: options.durationS,
      rounds: options.rounds,
      startSeconds,
      rssAfterStartMb,
      heapAfterStart,
      heapAfterLoad,
      oneTenant,
      allTenants,
      throughputRatio: ratio(allTenants.requestsPerSecond, oneTenant.requestsPerSecond),
      requestsPerTenant: sentToAll / n,
    };
  } finally {
    for (const child of started.reverse()) await child.stop();
  }
}

/** The gateway's V8 heap from its own metrics (prom-client's default process metrics). */
export async function heapMb(metricsUrl: string): Promise<{ usedMb: number; totalMb: number }> {
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) })).text();
    const value = (name: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) / 1024 / 1024 : Number.NaN;
    };
    return { usedMb: value('dtg_nodejs_heap_size_used_bytes'), totalMb: value('dtg_nodejs_heap_size_total_bytes') };
  } catch {
    return { usedMb: Number.NaN, totalMb: Number.NaN };
  }
}
