/**
 * Tables for people (aligned text on the terminal, or Markdown for docs/BENCHMARKS.md), and the
 * list of targets each result is checked against.
 */
import { type CallEconomyResult, STANDARD_MONTHLY_CALLS } from './scenarios/call-economy.js';
import type { CompareResult } from './scenarios/compare.js';
import { type OperationComparison, targetLabel } from './scenarios/compare.js';
import type { ManyTenantsResult, ManyTenantsTarget } from './scenarios/many-tenants.js';
import { type SideBySideResult, WORKSPACE_BUILD } from './scenarios/side-by-side.js';
import type { SoakResult } from './scenarios/soak.js';
import type { StormResult } from './scenarios/token-storm.js';
import { type TargetCheck, checkTarget } from './stats.js';

export type TableFormat = 'text' | 'markdown';

export function renderTable(columns: readonly string[], rows: ReadonlyArray<readonly string[]>, format: TableFormat): string {
  if (format === 'markdown') {
    const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
    return [line(columns), line(columns.map(() => '---')), ...rows.map(line)].join('\n');
  }
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const n = (value: number, digits = 0) => (Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–');
const x = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '–');

export interface AllResults {
  compare?: CompareResult;
  tokenStorm?: StormResult;
  /** One result per target (runtime and heap setting). */
  manyTenants?: ManyTenantsResult[];
  callEconomy?: CallEconomyResult;
  soak?: SoakResult;
  sideBySide?: SideBySideResult;
}

/**
 * Where a request's CPU goes, from the saturated runs (medians, µs per request): the framework
 * (the floor over the baseline) and the features (the gateway over the floor), and what the
 * features could cost for the gateway to reach `throughputTarget` × the baseline's throughput,
 * the target process being CPU-bound: baseline / target − floor. Undefined without a floor.
 */
export function cpuBudget(op: OperationComparison, throughputTarget = 0.8): { frameworkUs: number; featuresUs: number; featuresBudgetUs: number } | undefined {
  const { baseline, floor, gateway } = op.saturated;
  if (!baseline || !floor || !gateway) return undefined;
  return {
    frameworkUs: floor.cpuUsPerRequest - baseline.cpuUsPerRequest,
    featuresUs: gateway.cpuUsPerRequest - floor.cpuUsPerRequest,
    featuresBudgetUs: baseline.cpuUsPerRequest / throughputTarget - floor.cpuUsPerRequest,
  };
}

/** The issue's targets, for whatever scenarios ran. */
export function targetChecks(results: AllResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  if (results.compare) {
    let rss = Number.NEGATIVE_INFINITY;
    let rssRedis = Number.NEGATIVE_INFINITY;
    for (const op of results.compare.operations) {
      const memory = op.ratios.gateway!;
      const redis = op.ratios.gatewayRedis;
      checks.push(checkTarget(`${op.method} throughput, gateway (memory) / baseline`, memory.throughput, 'atLeast', 0.8));
      if (redis) checks.push(checkTarget(`${op.method} throughput, gateway (Redis) / baseline`, redis.throughput, 'atLeast', 0.6));
      checks.push(checkTarget(`${op.method} p99, gateway (memory) / baseline, same connections`, memory.p99, 'atMost', 1.5));
      const bun = op.ratios['runtime:bun'];
      if (bun) checks.push(checkTarget(`${op.method} throughput, gateway on Bun (memory) / baseline`, bun.throughput, 'atLeast', 1.0));
      const bunRedis = op.ratios['runtimeRedis:bun'];
      if (bunRedis) checks.push(checkTarget(`${op.method} throughput, gateway on Bun (Redis) / baseline`, bunRedis.throughput, 'atLeast', 0.7));
      const overPeer = op.gatewayOver.fastifyPeer;
      if (overPeer) checks.push(checkTarget(`${op.method} throughput, gateway (memory) / fastify peer`, overPeer.throughput, 'atLeast', 1.0));
      const overFloor = op.gatewayOver.floor;
      if (overFloor) checks.push(checkTarget(`${op.method} throughput, gateway (memory) / floor`, overFloor.throughput, 'atLeast', 0.8));
      for (const runtime of ['bun', 'deno']) {
        const ratios = op.ratios[`runtime:${runtime}`];
        if (ratios) checks.push(checkTarget(`${op.method} p99, gateway on ${runtime === 'bun' ? 'Bun' : 'Deno'} (memory) / baseline, same connections`, ratios.p99, 'atMost', 1.5));
      }
      if (op.equalRate) checks.push(checkTarget(`${op.method} p99, gateway (memory) / baseline, same request rate`, memory.p99EqualRate, 'atMost', 1.5));
      rss = Math.max(rss, op.saturated.gateway?.rssMaxMb ?? Number.NaN);
      if (op.saturated.gatewayRedis) rssRedis = Math.max(rssRedis, op.saturated.gatewayRedis.rssMaxMb);
    }
    checks.push(checkTarget('RSS under load, gateway (memory), MB', rss, 'atMost', 150));
    if (Number.isFinite(rssRedis)) checks.push(checkTarget('RSS under load, gateway (Redis), MB', rssRedis, 'atMost', 150));
  }
  if (results.tokenStorm) {
    for (const v of results.tokenStorm.variants) {
      const c = checkTarget(`token storm (${v.stores}, ${v.gateways} gateway${v.gateways > 1 ? 's' : ''}, ${v.requests} requests): token fetches`, v.upstreamTokenFetches, 'atMost', 1);
      checks.push({ ...c, goal: '= 1, all answered 200', met: v.upstreamTokenFetches === 1 && (v.statuses['200'] ?? 0) === v.requests });
    }
  }
  if (results.manyTenants?.length) {
    // At least one runtime, its heap setting stated: the lowest of the targets' highest RSS.
    const peaks = results.manyTenants.map((mt) => ({ mt, peakMb: Math.max(mt.oneTenant.rssMaxMb, mt.allTenants.rssMaxMb) }));
    const best = peaks.reduce((a, b) => (b.peakMb < a.peakMb ? b : a));
    checks.push(checkTarget(`RSS under load, ${best.mt.tenants} tenants, MB (best: ${runtimeLabel(best.mt)})`, best.peakMb, 'atMost', 150));
  }
  if (results.callEconomy) {
    for (const v of results.callEconomy.variants.filter((variant) => variant.economy)) {
      const failed = v.callerRequests - Object.entries(v.statuses).reduce((sum, [status, count]) => sum + (/^2\d\d\b/.test(status) ? count : 0), 0);
      const c = checkTarget(`call economy, ${v.label}: Knowledge Bases and docs created twice`, v.duplicates, 'atMost', 0);
      checks.push({ ...c, goal: '= 0, all answered 2xx', met: v.duplicates === 0 && failed === 0 });
    }
  }
  if (results.soak) {
    const t = results.soak.trend;
    checks.push({
      name: `soak: RSS slope, MB/min over ${Math.round(results.soak.durationS)} s (fitted rise ${t.riseMb.toFixed(1)} MB)`,
      measured: t.slopeMbPerMin,
      target: 0,
      direction: 'atMost',
      goal: `no upward trend (rise ≤ max(5 MB, 5% of ${t.meanMb.toFixed(0)} MB))`,
      met: !t.upward,
    });
  }
  return checks;
}

export function renderReport(results: AllResults, format: TableFormat): string {
  const out: string[] = [];
  const heading = (text: string) => out.push('', format === 'markdown' ? `### ${text}` : `== ${text}`, '');
  const c = results.compare;
  if (c) {
    for (const op of c.operations) {
      heading(`${op.method} ${op.operationId}: ${c.connections} connections, ${c.rounds} interleaved rounds of ${c.durationS} s (medians)`);
      const rows = Object.keys(op.saturated).map((name) => {
        const s = op.saturated[name]!;
        const vsBaseline = name === 'baseline' ? '' : ` (${x(s.requestsPerSecond / op.saturated.baseline!.requestsPerSecond)})`;
        const p99VsBaseline = name === 'baseline' ? '' : ` (${x(s.p99Ms / op.saturated.baseline!.p99Ms)})`;
        const redisCpu = s.redisCpuUsPerRequest === undefined ? '-' : n(s.redisCpuUsPerRequest);
        return [targetLabel(name), `${n(s.requestsPerSecond)}${vsBaseline}`, n(s.p50Ms, 2), `${n(s.p99Ms, 2)}${p99VsBaseline}`, n(s.p999Ms, 2), n(s.rssMaxMb), n(s.cpuUsPerRequest), n(s.systemCpuUsPerRequest), redisCpu, s.requestsPerSecondByRound.map((r) => n(r)).join(' / '), n(s.foreignCoresMax, 2)];
      });
      out.push(renderTable(['target', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'RSS MB', 'CPU µs/req', 'of which kernel', 'redis-server CPU µs/req', 'req/s by round', 'others (cores, max)'], rows, format));
      const over = Object.entries(op.gatewayOver);
      if (over.length > 0) {
        out.push('', `The gateway (memory stores) over ${over.map(([name, r]) => `the ${name === 'fastifyPeer' ? 'fastify peer' : name}: throughput ${x(r.throughput)}, p99 ${x(r.p99)}`).join('; over ')}.`);
      }
      const budget = cpuBudget(op);
      if (budget) {
        out.push(
          '',
          `CPU per request: the framework (floor − baseline) ${n(budget.frameworkUs, 1)} µs, the gateway's features (gateway − floor) ${n(budget.featuresUs, 1)} µs; ` +
            `for 0.8× the baseline's throughput the features could cost ${n(budget.featuresBudgetUs, 1)} µs (baseline / 0.8 − floor).`,
        );
      }
      if (op.equalRate) {
        out.push('', `At one rate for all, ${n(op.equalRate.requestsPerSecond)} req/s (60% of the slowest target's capacity):`, '');
        const eqRows = Object.keys(op.equalRate.targets).map((name) => {
          const s = op.equalRate!.targets[name]!;
          const vsBaseline = name === 'baseline' ? '' : ` (${x(s.p99Ms / op.equalRate!.targets.baseline!.p99Ms)})`;
          return [targetLabel(name), n(s.requestsPerSecond), n(s.p50Ms, 2), `${n(s.p99Ms, 2)}${vsBaseline}`, n(s.p999Ms, 2), n(s.cpuUsPerRequest), n(s.systemCpuUsPerRequest)];
        });
        out.push(renderTable(['target', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'CPU µs/req', 'of which kernel'], eqRows, format));
      }
    }
    if (c.starts && Object.keys(c.starts).length > 0) {
      heading('Start-up: from the spawn to the listening line (config read and checked, sockets open) and to the first answer (GET /healthz), and RSS then');
      out.push(renderTable(['target', 'listening ms', 'first answer ms', 'RSS at start MB'], Object.entries(c.starts).map(([name, start]) => [targetLabel(name), n(start.startMs), start.firstAnswerMs === undefined ? '-' : n(start.firstAnswerMs), n(start.rssAtStartMb)]), format));
    }
    if (c.disturbances.length > 0) out.push('', `Disturbed: ${c.disturbances.join('; ')}`);
  }
  const storm = results.tokenStorm;
  if (storm) {
    heading(`Token storm: cold gateways, token endpoint answering after ${storm.tokenDelayMs} ms`);
    out.push(
      renderTable(
        ['stores', 'gateways', 'requests', 'answers', 'token fetches (upstream)', 'token fetches (metrics)', 'requests that waited for the fetch', 'time'],
        storm.variants.map((v) => [v.stores, String(v.gateways), n(v.requests), Object.entries(v.statuses).map(([s, k]) => `${k}× ${s}`).join(', '), String(v.upstreamTokenFetches), String(v.metricTokenFetches), n(v.waitedForFetch), `${n(v.elapsedMs)} ms`]),
        format,
      ),
    );
  }
  for (const mt of results.manyTenants ?? []) {
    heading(`Many tenants on ${runtimeLabel(mt)}: ${n(mt.tenants)} tenants in the config, ${mt.operationId}, ${mt.connections} connections, ${mt.rounds} rounds of ${mt.durationS} s`);
    out.push(
      renderTable(
        ['keys on the requests', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'RSS MB (max)', 'CPU µs/req'],
        [
          ['one tenant', n(mt.oneTenant.requestsPerSecond), n(mt.oneTenant.p50Ms, 2), n(mt.oneTenant.p99Ms, 2), n(mt.oneTenant.p999Ms, 2), n(mt.oneTenant.rssMaxMb), n(mt.oneTenant.cpuUsPerRequest)],
          [`all ${n(mt.tenants)} in turn`, `${n(mt.allTenants.requestsPerSecond)} (${x(mt.throughputRatio)})`, n(mt.allTenants.p50Ms, 2), n(mt.allTenants.p99Ms, 2), n(mt.allTenants.p999Ms, 2), n(mt.allTenants.rssMaxMb), n(mt.allTenants.cpuUsPerRequest)],
        ],
        format,
      ),
      '',
      `Start with ${n(mt.tenants)} tenants: ${mt.startSeconds.toFixed(1)} s, RSS after start ${n(mt.rssAfterStartMb)} MB (V8 heap ${n(mt.heapAfterStart.usedMb)} MB used of ${n(mt.heapAfterStart.totalMb)} MB; after the runs ${n(mt.heapAfterLoad.usedMb)} of ${n(mt.heapAfterLoad.totalMb)} MB); every tenant was hit about ${n(mt.requestsPerTenant)} times.`,
    );
  }
  const economy = results.callEconomy;
  if (economy) {
    const mix = Object.entries(economy.mix).map(([operation, share]) => `${operation} ${Math.round(share * 100)}%`).join(', ');
    heading(
      `Call economy: ${n(economy.requests)} caller requests at ${n(economy.rate)}/s (${mix}; ${Math.round(economy.retriedShare * 100)}% of creates sent twice), ${economy.workspaces} Knowledge Bases read with a Zipf skew, cache TTL ${economy.ttlSeconds} s`,
    );
    const served = (v: (typeof economy.variants)[number]) => (v.meteredCalls > 0 ? (STANDARD_MONTHLY_CALLS * v.callerRequests) / v.meteredCalls : Number.POSITIVE_INFINITY);
    out.push(
      renderTable(
        ['cache and keys', 'caller requests', 'req/s', 'DingTalk calls', 'per caller request', 'metered calls', 'from the cache', 'replayed creates', 'created twice', 'answers', `caller requests per ${n(STANDARD_MONTHLY_CALLS)} calls`],
        economy.variants.map((v) => [
          v.label,
          n(v.callerRequests),
          n(v.requestsPerSecond),
          n(v.dingtalkCallsTotal),
          n(v.callsPerCallerRequest, 3),
          n(v.meteredCalls),
          n((v.answers['read from the cache'] ?? 0) + (v.answers['read, waited for another caller'] ?? 0)),
          n(v.answers['write replayed'] ?? 0),
          n(v.duplicates),
          Object.entries(v.statuses).map(([status, count]) => `${n(count)}× ${status}`).join(', '),
          n(served(v)),
        ]),
        format,
      ),
      '',
      'Latency by operation and by how the answer was made (ms, from the caller):',
      '',
      renderTable(
        ['cache and keys', 'operation', 'answer', 'count', 'p50', 'p99', 'max'],
        economy.variants.flatMap((v) =>
          Object.entries(v.latencyMs).flatMap(([operationId, byClass]) => Object.entries(byClass).map(([answerClass, l]) => [v.label, operationId, answerClass, n(l.count), n(l.p50, 2), n(l.p99, 2), n(l.max, 2)])),
        ),
        format,
      ),
    );
  }
  const soak = results.soak;
  if (soak) {
    heading(`Soak: ${n(soak.durationS)} s, ${soak.connections} connections, RSS every ${soak.sampleIntervalS} s`);
    const t = soak.trend;
    out.push(
      renderTable(
        ['requests', 'failures', 'samples (after warm-up share)', 'RSS mean MB', 'RSS max MB', 'slope MB/min', 'fitted rise MB', 'r²', 'upward trend'],
        [[n(soak.requests), n(soak.failures), String(t.samples), n(t.meanMb, 1), n(t.maxMb, 1), n(t.slopeMbPerMin, 3), n(t.riseMb, 2), n(t.r2, 2), t.upward ? 'yes' : 'no']],
        format,
      ),
      '',
      `Samples: ${soak.csvFile}`,
    );
  }
  const side = results.sideBySide;
  if (side) {
    for (const op of side.operations) {
      heading(`Side by side, ${op.method} ${op.operationId}: every build at once${side.runtime && side.runtime !== 'node' ? ` on ${side.runtime === 'bun' ? 'Bun' : 'Deno'}` : ''}, ${side.stores} stores, ${n(side.requestsPerSecondEach)} req/s each on ${side.connectionsEach} connections, ${side.rounds} rounds of ${side.durationS} s`);
      out.push(
        renderTable(
          ['build', 'CPU µs/req (median)', `× ${WORKSPACE_BUILD} (median of rounds)`, `rounds below ${WORKSPACE_BUILD}`, 'CPU µs/req by round', 'requests', 'failures', 'RSS MB (max)'],
          op.builds.map((b) => [b.label, n(b.medianCpuUsPerRequest, 1), b.label === WORKSPACE_BUILD ? '' : b.medianRatioToWorkspace.toFixed(3), b.label === WORKSPACE_BUILD ? '' : `${b.roundsBelowWorkspace} of ${b.cpuUsPerRequestByRound.length}`, b.cpuUsPerRequestByRound.map((v) => n(v)).join(' / '), n(b.requests), n(b.failures), n(b.rssMaxMb)]),
          format,
        ),
      );
    }
  }
  const checks = targetChecks(results);
  if (checks.length > 0) {
    heading('Targets');
    out.push(
      renderTable(
        ['target', 'measured', 'goal', ''],
        checks.map((check) => [check.name, n(check.measured, 2), check.goal ?? `${check.direction === 'atLeast' ? '≥' : '≤'} ${check.target}`, check.met ? '✅' : '❌']),
        format,
      ),
    );
  }
  return out.join('\n');
}

/** `node`, `node --max-old-space-size=128 …`, `bun`: the runtime and the flags it was given. */
export function runtimeLabel(target: ManyTenantsTarget): string {
  return `${target.runtime === 'node' ? 'Node' : target.runtime === 'bun' ? 'Bun' : 'Deno'}${target.runtimeArgs.length ? ` (${target.runtimeArgs.join(' ')})` : ''}`;
}
