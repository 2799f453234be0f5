/**
 * The comparison: the baseline forwarder, the framework floor, the fastify peer, the gateway
 * (memory stores) and the gateway (Redis stores), all running at once against one upstream,
 * driven in interleaved rounds (the order rotates every round, so drift and order effects
 * cancel) with the same load: a fixed number of keep-alive connections (throughput and latency
 * at saturation). Then, with the same rounds, at one fixed request rate below every target's
 * capacity (latency at one request volume). That rate is autocannon's `overallRate`: a quota
 * per connection and second, sent back to back at the start of each second, so these runs are
 * one-second bursts, not evenly spaced arrivals (an evenly paced generator was measured and not
 * adopted: docs/BENCHMARKS.md, round 4).
 *
 * The gateway's throughput is reported over the baseline's (every target's is), and also over
 * the floor's and the fastify peer's (`gatewayOver`): the peer is what a team would build with
 * fastify, @fastify/http-proxy, @fastify/rate-limit and an API-key check instead of the gateway
 * (`processes/fastify-peer.ts`; `--no-fastify-peer` leaves it out).
 *
 * `--extra-gateway=<label>=<cli>` adds more gateways (memory stores) built elsewhere, e.g. a copy
 * of the code before an optimisation, to measure before and after in the same run.
 * `--runtimes=bun,deno` (the default) adds the same gateway on Bun and on Deno (memory stores),
 * each through its own entry (`dist/bun/main.js`, `dist/deno/main.js`).
 */
import { type ForkedChild, type GatewayChild, childPids } from '../children.js';
import type { RunContext } from '../context.js';
import { redactUrl } from '../options.js';
import { benchApiKey } from '../gateway-config.js';
import { OPERATIONS as ALL_OPERATIONS, drive, measure } from '../load.js';
import { foreignProcesses } from '../machine.js';
import { type RunMeasurement, type TargetSummary, ratio, summarizeRounds } from '../stats.js';

const RUNTIME_NAMES: Record<string, string> = { bun: 'Bun', deno: 'Deno' };

/** `baseline`, `floor`, `fastifyPeer`, `gateway`, `gatewayRedis`, `runtime:<bun|deno>`, `runtimeRedis:<bun|deno>` or `extra:<label>`. */
export type TargetName = string;

export function targetLabel(name: TargetName): string {
  if (name === 'baseline') return 'baseline (node:http + undici Pool)';
  if (name === 'floor') return 'floor (Hono + the gateway\'s upstream, no features)';
  if (name === 'fastifyPeer') return 'fastify peer (fastify + http-proxy + rate-limit + API key)';
  if (name === 'gateway') return 'gateway, memory stores';
  if (name === 'gatewayRedis') return 'gateway, Redis stores';
  if (name.startsWith('runtime:')) return `gateway on ${RUNTIME_NAMES[name.slice('runtime:'.length)] ?? name}, memory stores`;
  if (name.startsWith('runtimeRedis:')) return `gateway on ${RUNTIME_NAMES[name.slice('runtimeRedis:'.length)] ?? name}, Redis stores`;
  return `gateway ${name.slice('extra:'.length)}`;
}

interface Target {
  name: TargetName;
  url: string;
  pid: number;
  /** On the Redis stores: redis-server's pid, to measure its CPU per request too. */
  redisPid?: number;
}

export interface TargetRatios {
  /** Throughput / the baseline's. */
  throughput: number;
  /** p99 / the baseline's, same connections. */
  p99: number;
  /** p99 / the baseline's, same request rate. */
  p99EqualRate: number;
}

export interface OperationComparison {
  operationId: string;
  method: string;
  path: string;
  saturated: Record<TargetName, TargetSummary>;
  /** Latency at one fixed request rate for every target. */
  equalRate?: { requestsPerSecond: number; targets: Record<TargetName, TargetSummary> };
  /** For every target but the baseline. */
  ratios: Record<TargetName, TargetRatios>;
  /**
   * The gateway's (memory stores, Node) throughput and p99 over those of the floor and of the
   * fastify peer, same connections; only the targets that ran.
   */
  gatewayOver: Record<TargetName, { throughput: number; p99: number }>;
}

/** The targets the gateway is also measured against (`gatewayOver`), besides the baseline. */
export const GATEWAY_REFERENCES: readonly TargetName[] = ['floor', 'fastifyPeer'];

export interface CompareResult {
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  redis: 'on' | 'skipped: not reachable' | 'skipped: --no-redis';
  operations: OperationComparison[];
  /** Foreign test runners seen between rounds (the numbers may be disturbed if any). */
  disturbances: string[];
  upstream: { requests: number; tokenFetches: number; missingToken: number; notFound: number };
  /** Per gateway target: spawn to listening, spawn to the first answer, and RSS at start. */
  starts: Record<TargetName, StartUp>;
}

const key = benchApiKey(0);

export interface StartUp {
  startMs: number;
  /** Absent in results written before it was measured. */
  firstAnswerMs?: number;
  rssAtStartMb: number;
}

const startOf = (child: GatewayChild): StartUp => ({ startMs: child.startMs, firstAnswerMs: child.firstAnswerMs, rssAtStartMb: child.rssAtStartMb });

/** Other processes' CPU (in cores) during a run above which the run is reported as disturbed. */
export const FOREIGN_CORES_DISTURBING = 0.15;

/** Round r runs the targets in the order rotated by r: A B C, B C A, C A B, … */
export function rotation<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export async function runCompare(ctx: RunContext): Promise<CompareResult> {
  const { options, log } = ctx;
  const operations = ALL_OPERATIONS.filter((operation) => options.operations.includes(operation.name));
  const started: Array<ForkedChild | GatewayChild> = [];
  try {
    const upstream = await ctx.startUpstream();
    started.push(upstream);
    const baseline = await ctx.startBaseline(upstream.url);
    started.push(baseline);
    const targets: Target[] = [{ name: 'baseline', url: baseline.url, pid: baseline.pid }];
    if (options.floor) {
      const floor = await ctx.startFloor(upstream.url);
      started.push(floor);
      targets.push({ name: 'floor', url: floor.url, pid: floor.pid });
    }
    if (options.fastifyPeer) {
      const peer = await ctx.startFastifyPeer(upstream.url);
      started.push(peer);
      targets.push({ name: 'fastifyPeer', url: peer.url, pid: peer.pid });
    }
    const starts: CompareResult['starts'] = {};
    const gateway = await ctx.startGateway({ name: 'gateway', upstreamUrl: upstream.url });
    started.push(gateway);
    targets.push({ name: 'gateway', url: gateway.url, pid: gateway.pid });
    starts.gateway = startOf(gateway);
    let redis: CompareResult['redis'] = options.redis ? 'on' : 'skipped: --no-redis';
    let redisPid: number | undefined;
    if (options.redis) {
      if (await ctx.redisAvailable()) {
        redisPid = await ctx.redisServerPid();
        const gatewayRedis = await ctx.startGateway({ name: 'gateway-redis', upstreamUrl: upstream.url, redisPrefix: ctx.redisPrefix('compare') });
        started.push(gatewayRedis);
        targets.push({ name: 'gatewayRedis', url: gatewayRedis.url, pid: gatewayRedis.pid, redisPid });
      } else {
        redis = 'skipped: not reachable';
        log(`Redis at ${redactUrl(options.redisUrl)} is not reachable: the Redis variant is skipped`);
      }
    }
    for (const runtime of options.runtimes) {
      const child = await ctx.startGateway({ name: `gateway-${runtime}`, upstreamUrl: upstream.url, runtime });
      started.push(child);
      targets.push({ name: `runtime:${runtime}`, url: child.url, pid: child.pid });
      starts[`runtime:${runtime}`] = startOf(child);
      if (redis === 'on') {
        const onRedis = await ctx.startGateway({ name: `gateway-${runtime}-redis`, upstreamUrl: upstream.url, runtime, redisPrefix: ctx.redisPrefix(`compare-${runtime}`) });
        started.push(onRedis);
        targets.push({ name: `runtimeRedis:${runtime}`, url: onRedis.url, pid: onRedis.pid, redisPid });
      }
    }
    for (const extra of options.extraGateways) {
      if (extra.redis && redis !== 'on') continue;
      const redisPrefix = extra.redis ? ctx.redisPrefix(`extra-${extra.label}`) : undefined;
      const child = await ctx.startGateway({ name: `extra-${extra.label}`, upstreamUrl: upstream.url, cli: extra.cli, redisPrefix });
      started.push(child);
      targets.push({ name: `extra:${extra.label}`, url: child.url, pid: child.pid, ...(extra.redis ? { redisPid } : {}) });
    }
    const disturbances: string[] = [];
    // Another process using more than this share of a core during a run is recorded as a disturbance.
    const noteForeign = (what: string, cores: number | undefined) => {
      if (cores !== undefined && cores > FOREIGN_CORES_DISTURBING) disturbances.push(`${what}: other processes used ${cores.toFixed(2)} cores`);
    };
    const checkDisturbance = (when: string) => {
      const pids = foreignProcesses('vitest', childPids());
      if (pids.length > 0) {
        disturbances.push(`${when}: vitest running (pids ${pids.join(', ')})`);
        log(`warning: vitest is running (pids ${pids.join(', ')}); this round may be disturbed`);
      }
    };

    // Warm-up: JIT, connection pools, the gateways' token caches.
    for (const operation of operations) {
      for (const target of targets) {
        await drive({ url: target.url, operation, connections: options.connections, durationS: options.warmupS, apiKey: key });
      }
    }

    const saturated = new Map<string, RunMeasurement[]>();
    for (let round = 0; round < options.rounds; round++) {
      checkDisturbance(`saturated round ${round + 1}`);
      for (const operation of operations) {
        for (const target of rotation(targets, round)) {
          const m = await measure({ url: target.url, pid: target.pid, redisPid: target.redisPid, operation, connections: options.connections, durationS: options.durationS, apiKey: key, ownPids: childPids });
          push(saturated, `${operation.name}/${target.name}`, m);
          noteForeign(`saturated round ${round + 1} ${operation.name} ${target.name}`, m.foreignCores);
          log(
            `  round ${round + 1}/${options.rounds} ${operation.name.padEnd(4)} ${target.name.padEnd(14)} ${fmt(m.requestsPerSecond, 0).padStart(7)} req/s  p50 ${fmt(m.latencyMs.p50, 2)} ms  p99 ${fmt(m.latencyMs.p99, 2)} ms  RSS ${fmt(m.rssMaxMb, 0)} MB  ${fmt(m.cpuUsPerRequest, 0)} µs CPU/req (kernel ${fmt(m.systemCpuUsPerRequest, 0)})${m.redisCpuUsPerRequest === undefined ? '' : `  Redis ${fmt(m.redisCpuUsPerRequest, 0)} µs/req`}  others ${fmt(m.foreignCores ?? Number.NaN, 2)} cores${m.failures ? `  FAILURES ${m.failures} ${JSON.stringify(m.statusCounts)}` : ''}`,
          );
        }
      }
    }

    const results: OperationComparison[] = operations.map((operation) => {
      const sat: Record<TargetName, TargetSummary> = {};
      for (const target of targets) sat[target.name] = summarizeRounds(saturated.get(`${operation.name}/${target.name}`)!);
      return { operationId: operation.operationId, method: operation.method, path: operation.path, saturated: sat, ratios: {}, gatewayOver: {} };
    });

    if (options.equalRate) {
      const equal = new Map<string, RunMeasurement[]>();
      // 60% of the slowest target's capacity: every target keeps up with the same request volume.
      const rates = new Map(results.map((r, i) => [operations[i]!.name, Math.max(100, Math.round(0.6 * Math.min(...Object.values(r.saturated).map((s) => s.requestsPerSecond))))]));
      for (let round = 0; round < options.rounds; round++) {
        checkDisturbance(`equal-rate round ${round + 1}`);
        for (const operation of operations) {
          for (const target of rotation(targets, round)) {
            const rate = rates.get(operation.name)!;
            const m = await measure({ url: target.url, pid: target.pid, operation, connections: options.connections, durationS: options.durationS, apiKey: key, overallRate: rate, ownPids: childPids });
            push(equal, `${operation.name}/${target.name}`, m);
            noteForeign(`equal-rate round ${round + 1} ${operation.name} ${target.name}`, m.foreignCores);
            log(`  equal rate ${rate}/s round ${round + 1}/${options.rounds} ${operation.name.padEnd(4)} ${target.name.padEnd(14)} p50 ${fmt(m.latencyMs.p50, 2)} ms  p99 ${fmt(m.latencyMs.p99, 2)} ms  p99.9 ${fmt(m.latencyMs.p999, 2)} ms  ${fmt(m.cpuUsPerRequest, 0)} µs CPU/req (kernel ${fmt(m.systemCpuUsPerRequest, 0)})  others ${fmt(m.foreignCores ?? Number.NaN, 2)} cores`);
          }
        }
      }
      results.forEach((result, i) => {
        const operation = operations[i]!;
        const byTarget: Record<TargetName, TargetSummary> = {};
        for (const target of targets) byTarget[target.name] = summarizeRounds(equal.get(`${operation.name}/${target.name}`)!);
        result.equalRate = { requestsPerSecond: rates.get(operation.name)!, targets: byTarget };
      });
    }

    for (const result of results) {
      const base = result.saturated.baseline!;
      const baseEqual = result.equalRate?.targets.baseline;
      for (const target of targets) {
        if (target.name === 'baseline') continue;
        const s = result.saturated[target.name]!;
        result.ratios[target.name] = {
          throughput: ratio(s.requestsPerSecond, base.requestsPerSecond),
          p99: ratio(s.p99Ms, base.p99Ms),
          p99EqualRate: ratio(result.equalRate?.targets[target.name]?.p99Ms ?? Number.NaN, baseEqual?.p99Ms ?? Number.NaN),
        };
      }
      const gateway = result.saturated.gateway!;
      for (const name of GATEWAY_REFERENCES) {
        const reference = result.saturated[name];
        if (reference) result.gatewayOver[name] = { throughput: ratio(gateway.requestsPerSecond, reference.requestsPerSecond), p99: ratio(gateway.p99Ms, reference.p99Ms) };
      }
    }

    const { type: _type, ...upstreamStats } = await upstream.ask<CompareResult['upstream'] & { type: string }>('stats');
    return { connections: options.connections, durationS: options.durationS, warmupS: options.warmupS, rounds: options.rounds, redis, operations: results, disturbances, upstream: upstreamStats, starts };
  } finally {
    for (const child of started.reverse()) await child.stop();
  }
}

function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const list = map.get(k);
  if (list) list.push(v);
  else map.set(k, [v]);
}

export function fmt(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}
