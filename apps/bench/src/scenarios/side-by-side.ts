/**
 * Side by side: gateway builds (this workspace's and each `--extra-gateway`, memory stores)
 * driven **at the same time**, each at the same fixed request rate (`--rate`), for several
 * rounds; reported is each build's CPU time per request, and per round its ratio to this
 * workspace's build.
 *
 * Why not the comparison's interleaved rounds: on a shared VM the machine's speed drifts within
 * minutes (a pure-CPU loop took 345–360 ms, then 426–471 ms a quarter of an hour later, on the
 * same machine), so one build measured after another sees a different machine even when the
 * rounds alternate. Builds measured at the same moment share the drift; the ratio within each
 * round cancels it. Below saturation on purpose: a saturated build would take CPU from the
 * other (over the second, that is: the rate is autocannon's, whose quota for each second goes
 * out in a burst, the same for every build). Before/after an optimisation: `--extra-gateway=before=<copy>/apps/gateway/dist/cli/main.js`.
 * With `--extra-gateway-redis` instead, every build (this workspace's too) runs on the Redis
 * stores, each under a key prefix of its own, so a change to the Redis path is compared alike.
 */
import type { GatewayChild } from '../children.js';
import { cpuTimeUs, rssMb } from '../children.js';
import type { RunContext } from '../context.js';
import { benchApiKey } from '../gateway-config.js';
import type { GatewayRuntime } from '../options.js';
import { OPERATIONS as ALL_OPERATIONS, drive } from '../load.js';
import { redactUrl } from '../options.js';
import { median } from '../stats.js';
import { rotation } from './compare.js';

export interface SideBySideBuild {
  label: string;
  /** CPU time per answered request, each round. */
  cpuUsPerRequestByRound: number[];
  medianCpuUsPerRequest: number;
  /** Each round's CPU per request over the workspace build's in the same round; their median. */
  medianRatioToWorkspace: number;
  /** Rounds in which this build used less CPU per request than the workspace build. */
  roundsBelowWorkspace: number;
  requests: number;
  failures: number;
  rssMaxMb: number;
}

export interface SideBySideOperation {
  operationId: string;
  method: string;
  builds: SideBySideBuild[];
}

export interface SideBySideResult {
  /** Absent in results written before builds could run on Bun or Deno. */
  runtime?: 'node' | GatewayRuntime;
  /** Which stores every build ran on. */
  stores: 'memory' | 'redis';
  requestsPerSecondEach: number;
  connectionsEach: number;
  durationS: number;
  rounds: number;
  operations: SideBySideOperation[];
}

export const WORKSPACE_BUILD = 'workspace';

interface Build {
  label: string;
  child: GatewayChild;
}

/** Per round, `values[i] / reference[i]`; rounds where either is not a number are left out. */
export function roundRatios(values: readonly number[], reference: readonly number[]): number[] {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(values.length, reference.length); i++) {
    const ratio = values[i]! / reference[i]!;
    if (Number.isFinite(ratio)) ratios.push(ratio);
  }
  return ratios;
}

export async function runSideBySide(ctx: RunContext): Promise<SideBySideResult> {
  const { options, log } = ctx;
  // parseOptions refuses a mix of memory and Redis builds.
  const onRedis = options.extraGateways.some((extra) => extra.redis);
  if (onRedis && !(await ctx.redisAvailable())) throw new Error(`side-by-side: Redis at ${redactUrl(options.redisUrl)} is not reachable`);
  if (options.extraGateways.length === 0) log('side-by-side: no --extra-gateway given; measuring this workspace\'s build alone');
  const stores = onRedis ? 'redis' : 'memory';
  const redisPrefix = (label: string) => (onRedis ? ctx.redisPrefix(`side-${label}`) : undefined);
  const operations = ALL_OPERATIONS.filter((operation) => options.operations.includes(operation.name));
  const connectionsEach = Math.max(1, Math.floor(options.connections / 2));
  const upstream = await ctx.startUpstream();
  const builds: Build[] = [];
  try {
    const runtime = options.sideRuntime;
    builds.push({ label: WORKSPACE_BUILD, child: await ctx.startGateway({ name: 'side-workspace', upstreamUrl: upstream.url, redisPrefix: redisPrefix(WORKSPACE_BUILD), runtime }) });
    for (const extra of options.extraGateways) {
      builds.push({ label: extra.label, child: await ctx.startGateway({ name: `side-${extra.label}`, upstreamUrl: upstream.url, cli: extra.cli, redisPrefix: redisPrefix(extra.label), runtime }) });
    }
    const results: SideBySideOperation[] = [];
    for (const operation of operations) {
      const load = (build: Build, durationS: number) =>
        drive({ url: build.child.url, operation, connections: connectionsEach, durationS, apiKey: benchApiKey(0), overallRate: options.rate });
      await Promise.all(builds.map((build) => load(build, options.warmupS)));
      const cpu = builds.map(() => [] as number[]);
      const requests = builds.map(() => 0);
      const failures = builds.map(() => 0);
      const rss = builds.map(() => 0);
      for (let round = 0; round < options.rounds; round++) {
        const before = builds.map((build) => cpuTimeUs(build.child.pid));
        // The builds' loads start in a rotated order each round: the load generator serves its
        // clients in the order they started, and a build always started first measured up to 8 %
        // more CPU per request than an identical copy started second (Bun, 4,500 req/s each).
        const order = rotation(builds.map((_, i) => i), round);
        const started = new Array<Promise<Awaited<ReturnType<typeof load>>>>(builds.length);
        for (const i of order) started[i] = load(builds[i]!, options.durationS);
        const runs = await Promise.all(started);
        builds.forEach((build, i) => {
          const run = runs[i]!;
          cpu[i]!.push((cpuTimeUs(build.child.pid) - before[i]!) / Math.max(1, run.completed));
          requests[i]! += run.completed;
          failures[i]! += run.failures;
          rss[i] = Math.max(rss[i]!, rssMb(build.child.pid));
        });
        log(`  ${operation.name} round ${round + 1}: ${builds.map((build, i) => `${build.label} ${cpu[i]!.at(-1)!.toFixed(1)} µs/req`).join(', ')}`);
      }
      results.push({
        operationId: operation.operationId,
        method: operation.method,
        builds: builds.map((build, i) => {
          const ratios = roundRatios(cpu[i]!, cpu[0]!);
          return {
            label: build.label,
            cpuUsPerRequestByRound: cpu[i]!,
            medianCpuUsPerRequest: median(cpu[i]!),
            medianRatioToWorkspace: median(ratios),
            roundsBelowWorkspace: ratios.filter((ratio) => ratio < 1).length,
            requests: requests[i]!,
            failures: failures[i]!,
            rssMaxMb: rss[i]!,
          };
        }),
      });
    }
    return { runtime: runtime ?? 'node', stores, requestsPerSecondEach: options.rate, connectionsEach, durationS: options.durationS, rounds: options.rounds, operations: results };
  } finally {
    await Promise.all(builds.map((build) => build.child.stop()));
    await upstream.stop();
  }
}
