#!/usr/bin/env node
/**
 * The soak: two gateway instances (real processes, the built CLI) sharing one Redis, in front
 * of a sandbox that misbehaves a little all the time, under a steady mix of every operation of
 * the contract for a fixed time. Every answer is classified; each instance's RSS is sampled.
 *
 * ```sh
 * npx -y pnpm@10 --filter @dingtalk-gateway/gateway build
 * node dist/reliability/soak.js --duration=60                   # from apps/gateway
 * npx -y pnpm@10 --filter @dingtalk-gateway/gateway soak -- --duration=1200
 * ```
 *
 * Options (all `--name=value`): `duration` (s, 60), `rate` (requests/s over both instances,
 * 200), `concurrency` (in flight at most, 32), `max-requests` (rate × duration), `sample-every`
 * (s, 5), `warmup` (s left out of the trends, min(120, duration/4)), `min-window` (s of samples
 * after the warm-up needed to judge a trend, 600), `slope-limit` (RSS, MB/min, 1),
 * `heap-slope-limit` (V8 heap used, MB/min, 1), `max-rss` (MB, 512), `redis-url` (REDIS_URL or
 * redis://127.0.0.1:6379), `own-redis` (a redis-server of its own instead), `revoke-every` (s, 7),
 * `slow-every` (s, 5), `token-lifetime` (s, 30), `sandbox-reset-every` (s, 30), `seed` (1),
 * `no-faults`, `instance-env` (NAME=value, repeatable, for diagnosis), `out` (a directory;
 * default a new one under the OS tmpdir). SIGINT/SIGTERM stop the load early, clean up, report.
 *
 * Expected answers: 2xx; DingTalk's errors the sandbox was told to inject (passed through);
 * `502 gateway.upstream.unreachable` on an operation with dropped connections; `504
 * gateway.upstream.timeout` on the slow operation during a slow episode. Everything else is
 * unexpected: a 500, any other gateway code, a client-side socket error (the sandbox only drops
 * connections between the gateway and itself, never the caller's), an answer that is not JSON,
 * `InvalidAuthentication` reaching a caller (the gateway replays once after a refresh; only two
 * revocations within one request could explain it), an error log line of a gateway, an instance
 * exiting non-zero. Counts are also reconciled with the sandbox's own counters (no more 502s than
 * dropped connections, no more injected errors than it injected).
 *
 * Memory: each instance's RSS from /proc/<pid>/status, its V8 heap from its /metrics. The trend
 * is the least-squares slope after the warm-up, judged only over at least `min-window` seconds:
 * over `slope-limit` (RSS) or `heap-slope-limit` (heap used) MB/min is growth. At the default
 * 200 requests/s (100 per instance) 1 MB/min is about 170 bytes retained per request, below what
 * a per-request leak (a map entry, a closure, a buffered body) retains. Shorter windows are
 * reported, not judged: the measured noise (heap used sawing by ~20 MB, RSS steps of ±30–45 MB
 * when V8 resizes its young generation or the allocator keeps or returns memory, RSS sawing by
 * ~30 MB every ~200 s) is larger than the limit there: over 338 s (a 450 s run) the fit read
 * 0.97–2.5 MB/min with the heap flat, on two builds (docs/RELIABILITY.md has the figures).
 *
 * Exit code: 0 pass, 1 fail (unexpected answers or RSS growth), 2 could not run.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type FaultConfig, type FaultRule, type RunningSandbox, startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { seededRandom } from '@dingtalk-gateway/test-support/random';
import { deleteKeys } from '@dingtalk-gateway/test-support/redis-keys';
import { Redis } from 'ioredis';
import { mintApiKey } from '@dingtalk-gateway/gateway';
import { type GatewayProcess, OwnRedis, freePort, startGatewayProcess } from '../processes/index.js';
import { type ContractOperation, contractOperations, validRequest } from './operations.js';

export interface SoakOptions {
  /** Seconds of load. */
  durationSec: number;
  /** Requests per second over both instances (a target; never more than `concurrency` in flight). */
  rate: number;
  concurrency: number;
  /** Hard bound on requests sent. Default: rate × duration. */
  maxRequests?: number;
  sampleEverySec: number;
  /** Seconds left out of the RSS trend. */
  warmupSec: number;
  /** RSS slope over this (MB per minute) after the warm-up is growth. */
  slopeLimitMbPerMin: number;
  /** V8 heap-used slope over this (MB per minute) after the warm-up is growth (a JS leak). */
  heapSlopeLimitMbPerMin: number;
  /** The slope is judged only over at least this many seconds after the warm-up. */
  minSlopeWindowSec: number;
  /** Any RSS sample over this (MB) fails the run. */
  maxRssMb: number;
  redisUrl: string;
  /** Start a redis-server of its own (on a free port) instead of using `redisUrl`. */
  ownRedis: boolean;
  /** Seconds between two token revocations at the sandbox (0: none). */
  revokeEverySec: number;
  /** Seconds between two slow episodes (one GET answering past the timeout; 0: none). */
  slowEverySec: number;
  /** Lifetime of the sandbox's tokens, so instances refresh through Redis during the run. */
  tokenLifetimeSec: number;
  faults: boolean;
  /** Seeds the sandbox's fault draws and the operation mix. */
  seed: number;
  /** Extra environment of the instances, for diagnosis (e.g. `MALLOC_ARENA_MAX=2`, `NODE_OPTIONS=…`). */
  instanceEnv?: Record<string, string>;
  /**
   * Seconds between two resets of the sandbox's world to its seed (0: never). What the POSTs
   * create would otherwise pile up and slow the sandbox (it scans every node to find a node's
   * children), and a soak of the gateway needs an upstream that stays the same. Every request
   * uses seeded ids only; tokens, counters and faults are not reset.
   */
  sandboxResetEverySec: number;
  /** Stops the load early (the script wires SIGINT/SIGTERM to it); the run is then reported as aborted. */
  signal?: AbortSignal;
  /** Directory for the CSV and JSON. Default: a new directory under the OS tmpdir. */
  out?: string;
  /** Progress lines. Default: none. */
  log?: (line: string) => void;
}

export const DEFAULT_SOAK_OPTIONS: Omit<SoakOptions, 'warmupSec'> & { warmupSec?: number } = {
  durationSec: 60,
  rate: 200,
  concurrency: 32,
  sampleEverySec: 5,
  slopeLimitMbPerMin: 1,
  heapSlopeLimitMbPerMin: 1,
  minSlopeWindowSec: 600,
  maxRssMb: 512,
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  ownRedis: false,
  revokeEverySec: 7,
  slowEverySec: 5,
  sandboxResetEverySec: 30,
  tokenLifetimeSec: 30,
  faults: true,
  seed: 1,
};

export interface RssSeries {
  instance: number;
  pid: number | undefined;
  /** Seconds since the load started; RSS, V8 heap used and heap size in bytes (heap from /metrics, when it answered). */
  samples: Array<{ t: number; rss: number; heapUsed?: number; heapTotal?: number; external?: number; eventLoopLagMaxMs?: number }>;
  /** Least-squares slope after the warm-up, MB per minute (undefined: not enough samples). */
  slopeMbPerMin: number | undefined;
  /** The same for the V8 heap used. */
  heapSlopeMbPerMin: number | undefined;
  /** Whether the slope was judged (enough time after the warm-up). */
  judged: boolean;
  maxRssMb: number;
}

export interface SoakResult {
  ok: boolean;
  /** Stopped early by `signal`. */
  aborted: boolean;
  /** Why it failed (empty when ok). */
  failures: string[];
  startedAt: string;
  options: SoakOptions;
  elapsedSec: number;
  /** Requests of the timed load (bounded by `maxRequests`). */
  requests: number;
  /** Requests of the warm-up before it (each operation once per instance), classified too. */
  warmupRequests: number;
  /** Answers by kind, e.g. `2xx`, `dingtalk 500 systemError`, `gateway 502 gateway.upstream.unreachable`. */
  expected: Record<string, number>;
  unexpected: Record<string, number>;
  unexpectedTotal: number;
  /** The first unexpected answers, for diagnosis. */
  unexpectedSamples: Array<{ kind: string; operationId: string; instance: number; status: number; body: string; atSec: number }>;
  byOperation: Record<string, { requests: number; ok: number }>;
  byInstance: Array<{ requests: number; ok: number; exitCode: number | null | undefined; errorLogLines: number; warnings: Record<string, number> }>;
  revocations: number;
  slowEpisodes: number;
  /** The sandbox's view: calls, dropped connections, tokens issued. */
  sandbox: { calls: number; dropped: number; tokensIssued: number; byStatus: Record<string, Record<string, number>> };
  /** From each instance's /metrics at the end. */
  metrics: Array<{ redisFallbacks: number; tokenFetchesOk: number; tokenFetchesError: number }>;
  rss: RssSeries[];
  files: { csv: string; json: string };
}

interface InjectedFaults {
  rules: FaultConfig;
  /** Per operation, the DingTalk errors injected (status + code). */
  errors: Map<string, Array<{ status: number; code: string }>>;
  drops: Set<string>;
  /** The operation that answers past the response timeout during the slow episodes. */
  slow: ContractOperation | undefined;
}

/**
 * Response timeout of the instances. Generous, so that a stall of this machine (the sandbox
 * shares a process with the load driver) is not taken for a timeout; timeouts are injected on
 * purpose in short recorded episodes instead.
 */
const RESPONSE_TIMEOUT_MS = 1_500;
/** An episode: one GET operation answers past the timeout for this long. */
const SLOW_EPISODE_MS = 200;
const APP_KEY = seeded.apps.full.appKey;

/** Small, steady faults on every operation; one GET is also past the timeout during the slow episodes. */
function soakFaults(sandboxOperations: RunningSandbox['sandbox']['operations'], operations: ContractOperation[], enabled: boolean): InjectedFaults {
  const injected: InjectedFaults = { rules: {}, errors: new Map(), drops: new Set(), slow: undefined };
  if (!enabled) return injected;
  injected.slow = operations.find((o) => o.method === 'GET');
  for (const operation of operations) {
    const documented5xx = [...(sandboxOperations.get(operation.operationId as never)?.errors ?? new Map())].filter(([status]) => status >= 500);
    const [status, codes] = documented5xx[0] ?? [500, new Map([['systemError', undefined]])];
    const code = [...codes.keys()][0]!;
    const rule: FaultRule = {
      latencyMs: [0, 30],
      error: { status, code, fraction: operation.method === 'GET' ? 0.05 : 0.02 },
      dropConnection: { fraction: 0.01 },
    };
    injected.rules[operation.operationId] = rule;
    injected.errors.set(operation.operationId, [{ status, code }]);
    injected.drops.add(operation.operationId);
  }
  return injected;
}

/** The pid of our child process listening on `port` (Linux /proc), for its RSS. */
export function childListeningOn(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns.length < 10) continue;
      const localPort = Number.parseInt(columns[1]!.split(':')[1] ?? '', 16);
      if (localPort === port && columns[3] === '0A') inodes.add(columns[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match && inodes.has(match[1]!)) return Number(pid);
      }
    } catch {
      // the process went away, or is not ours to read
    }
  }
  return undefined;
}

/** VmRSS of a process in bytes (/proc/<pid>/status), or undefined. */
export function rssOf(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * RSS and V8 heap from the instance's own Prometheus metrics (prom-client reads
 * /proc/self/status for RSS too). The heap tells a leak (heap used keeps growing) from V8
 * growing its heap before it collects.
 */
async function memoryFromMetrics(metricsUrl: string): Promise<{ rss?: number; heapUsed?: number; heapTotal?: number; external?: number; eventLoopLagMaxMs?: number }> {
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(2_000) })).text();
    const value = (name: string) => {
      const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      return match ? Number(match[1]) : undefined;
    };
    const lag = value('dtg_nodejs_eventloop_lag_max_seconds');
    return {
      rss: value('dtg_process_resident_memory_bytes'),
      heapUsed: value('dtg_nodejs_heap_size_used_bytes'),
      heapTotal: value('dtg_nodejs_heap_size_total_bytes'),
      external: value('dtg_nodejs_external_memory_bytes'),
      eventLoopLagMaxMs: lag === undefined ? undefined : Math.round(lag * 1000),
    };
  } catch {
    return {};
  }
}

/** Least-squares slope of y over x. */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number | undefined {
  if (points.length < 3) return undefined;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? undefined : sxy / sxx;
}

const sum = (values: Iterable<number>) => [...values].reduce((s, v) => s + v, 0);
const bump = (map: Record<string, number>, key: string, by = 1) => {
  map[key] = (map[key] ?? 0) + by;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function metricValue(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((label) => l.includes(label)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** Runs the soak and returns its result; never throws for a failing run (only when it cannot run). */
export async function runSoak(partial: Partial<SoakOptions> = {}): Promise<SoakResult> {
  const base = { ...DEFAULT_SOAK_OPTIONS, ...partial };
  const options: SoakOptions = { ...base, warmupSec: partial.warmupSec ?? Math.min(120, base.durationSec / 4) };
  const maxRequests = options.maxRequests ?? Math.ceil(options.rate * options.durationSec);
  const log = options.log ?? (() => {});
  const out = options.out ? resolve(options.out) : mkdtempSync(join(tmpdir(), 'dtg-soak-'));
  mkdirSync(out, { recursive: true });
  const startedAt = new Date().toISOString();
  const random = seededRandom(options.seed);
  const operations = contractOperations();
  const key = mintApiKey();

  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    // Redis: the shared one (a unique key prefix) or one of our own.
    let redisUrl = options.redisUrl;
    if (options.ownRedis) {
      const own = new OwnRedis(await freePort());
      await own.start();
      cleanups.unshift(() => own.stop());
      redisUrl = own.url;
    }
    const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      throw new Error(`Redis at ${redisUrl} is unreachable (${(error as Error).message}); start one or pass --own-redis`);
    }
    const keyPrefix = `dtg:soak:${process.pid}:${Date.now()}:`;
    cleanups.unshift(async () => {
      await deleteKeys(redis, keyPrefix);
      redis.disconnect();
    });

    // Millions of calls: DingTalk's monthly quota and per-IP window (the sandbox's and the gateway's) out of reach.
    const sandbox = await startSandbox({ qpsLimit: 1_000_000, monthlyCallQuota: 1_000_000_000, ipWindow: { limit: 1_000_000, windowMs: 1_000 }, tokenLifetimeSeconds: options.tokenLifetimeSec, random: seededRandom(options.seed + 1) });
    cleanups.unshift(() => sandbox.close());
    const faults = soakFaults(sandbox.sandbox.operations, operations, options.faults);
    sandbox.sandbox.faults.set(faults.rules);

    const config = [
      'server: { port: 0, shutdownGraceMs: 5000 }',
      `upstream: { baseUrl: '${sandbox.url}', responseTimeoutMs: ${RESPONSE_TIMEOUT_MS} }`,
      // Far over DingTalk's per-IP window (10,000 calls in 20 s): the guard kept, out of reach, and the sandbox's too.
      'dingtalk: { qpsLimit: 1000000, ipWindow: { limit: 1000000, windowMs: 1000 } }',
      'orgs: { soak: { monthlyCallQuota: 1000000000 } }',
      'apps:',
      `  full: { type: internal, appKey: ${APP_KEY}, appSecretEnv: FULL_SECRET }`,
      'tenants:',
      `  soak: { name: Soak, app: full, apiKeys: [{ sha256: "${key.sha256}" }], scopes: [Wiki.Workspace.Read, Wiki.Workspace.Write, Document.WorkspaceDocument.Write, Drive.Space.Write], rateLimit: { rate: 1000000, burst: 1000000 } }`,
      `redis: { url: '${redisUrl}', keyPrefix: '${keyPrefix}' }`,
      'observability: { logLevel: warn, metrics: { port: 0 } }',
    ].join('\n');
    const instances: GatewayProcess[] = [];
    const exitCodes: Array<number | null | undefined> = [undefined, undefined];
    cleanups.unshift(async () => {
      await Promise.all(instances.map(async (instance, i) => (exitCodes[i] ??= await instance.stop())));
    });
    for (const started of await Promise.allSettled([0, 1].map(() => startGatewayProcess({ config, env: { ...options.instanceEnv, FULL_SECRET: seeded.apps.full.appSecret } })))) {
      if (started.status === 'fulfilled') instances.push(started.value);
    }
    if (instances.length !== 2) throw new Error('a gateway instance did not start (is the gateway built? `npx tsc -p tsconfig.build.json`)');
    const pids = instances.map((instance) => childListeningOn(Number(new URL(instance.url).port)));
    log(`soak: sandbox ${sandbox.url}, instances ${instances.map((g, i) => `${g.url} (pid ${pids[i] ?? '?'})`).join(', ')}, Redis ${redisUrl} prefix ${keyPrefix}, out ${out}`);

    // The run.
    const t0 = performance.now();
    const since = () => (performance.now() - t0) / 1000;
    const expected: Record<string, number> = {};
    const unexpected: Record<string, number> = {};
    const unexpectedSamples: SoakResult['unexpectedSamples'] = [];
    const byOperation: SoakResult['byOperation'] = Object.fromEntries(operations.map((o) => [o.operationId, { requests: 0, ok: 0 }]));
    const byInstance = instances.map(() => ({ requests: 0, ok: 0 }));
    const passedThrough = new Map<string, number>(); // `${op} ${status}` → injected errors seen by callers
    const unreachable = new Map<string, number>(); // op → 502 gateway.upstream.unreachable seen by callers
    const revokedAt: number[] = [];
    /** Slow episodes, [from, to] in seconds since the start. */
    const episodes: Array<[number, number]> = [];
    const rss: RssSeries[] = instances.map((_, i) => ({ instance: i, pid: pids[i], samples: [], slopeMbPerMin: undefined, heapSlopeMbPerMin: undefined, judged: false, maxRssMb: 0 }));

    const sample = async () => {
      const t = since();
      await Promise.all(
        instances.map(async (instance, i) => {
          const pid = pids[i];
          const fromProc = pid !== undefined ? rssOf(pid) : undefined;
          const fromMetrics = await memoryFromMetrics(instance.metricsUrl);
          const value = fromProc ?? fromMetrics.rss;
          if (value !== undefined) rss[i]!.samples.push({ t, rss: value, heapUsed: fromMetrics.heapUsed, heapTotal: fromMetrics.heapTotal, external: fromMetrics.external, eventLoopLagMaxMs: fromMetrics.eventLoopLagMaxMs });
        }),
      );
    };
    await sample();

    // GETs three times as often as POSTs: a read-mostly mix, and bounded growth of the sandbox.
    const weighted = operations.flatMap((o) => Array<ContractOperation>(o.method === 'GET' ? 3 : 1).fill(o));
    let sent = 0;
    const endAt = options.durationSec * 1000;
    const classify = (operation: ContractOperation, instance: number, status: number, text: string, startedSec: number, clientError?: string) => {
      let kind: string;
      let ok = false;
      if (clientError !== undefined) {
        kind = `client ${clientError}`;
      } else {
        let body: { code?: unknown } | undefined;
        try {
          body = JSON.parse(text) as { code?: unknown };
        } catch {
          body = undefined;
        }
        if (body === undefined || typeof body !== 'object' || body === null) kind = `${status} body is not JSON`;
        else if (status >= 200 && status < 300) {
          kind = '2xx';
          ok = true;
        } else {
          const code = typeof body.code === 'string' ? body.code : '(no code)';
          const madeBy = code.startsWith('gateway.') ? 'gateway' : 'dingtalk';
          kind = `${madeBy} ${status} ${code}`;
          const injectedError = faults.errors.get(operation.operationId)?.some((e) => e.status === status && e.code === code);
          const endSec = since();
          const revocationsDuring = revokedAt.filter((t) => t >= startedSec - 0.001 && t <= endSec + 0.001).length;
          if (injectedError) {
            ok = true;
            passedThrough.set(`${operation.operationId} ${status}`, (passedThrough.get(`${operation.operationId} ${status}`) ?? 0) + 1);
          } else if (status === 502 && code === 'gateway.upstream.unreachable' && faults.drops.has(operation.operationId)) {
            ok = true;
            unreachable.set(operation.operationId, (unreachable.get(operation.operationId) ?? 0) + 1);
          } else if (status === 504 && code === 'gateway.upstream.timeout' && operation === faults.slow && episodes.some(([from, to]) => startedSec <= to + 0.05 && endSec >= from - 0.05)) {
            ok = true;
          } else if (status === 400 && code === 'InvalidAuthentication' && revocationsDuring >= 2) {
            ok = true;
          }
        }
      }
      const stats = byOperation[operation.operationId]!;
      stats.requests += 1;
      byInstance[instance]!.requests += 1;
      if (kind === '2xx') {
        stats.ok += 1;
        byInstance[instance]!.ok += 1;
      }
      if (ok) bump(expected, kind);
      else {
        bump(unexpected, kind);
        if (unexpectedSamples.length < 20) unexpectedSamples.push({ kind, operationId: operation.operationId, instance, status, body: text.slice(0, 300), atSec: Math.round(startedSec * 10) / 10 });
      }
    };

    const worker = async () => {
      for (;;) {
        const index = sent;
        if (index >= maxRequests || options.signal?.aborted) return;
        const due = (index / options.rate) * 1000;
        // Fixed duration by the clock too: a run that falls behind its rate still ends on time.
        if (due >= endAt || performance.now() - t0 - loadStart >= endAt) return;
        sent += 1;
        const wait = loadStart + due - (performance.now() - t0);
        if (wait > 0) await sleep(wait);
        await send(weighted[Math.floor(random() * weighted.length)]!, index % instances.length, index);
      }
    };
    const send = async (operation: ContractOperation, instance: number, n: number) => {
      const request = validRequest(operation, n, `soak${process.pid}`);
      const startedSec = since();
      try {
        const response = await fetch(instances[instance]!.url + request.path, {
          method: request.method,
          headers: { authorization: `Bearer ${key.key}`, ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}) },
          body: request.body,
          signal: AbortSignal.timeout(10_000),
        });
        classify(operation, instance, response.status, await response.text(), startedSec);
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const name = (error as Error).name === 'TimeoutError' ? 'timeout' : (cause?.code ?? cause?.message ?? (error as Error).message);
        classify(operation, instance, 0, '', startedSec, name);
      }
    };

    // Warm-up: every operation once through each instance (classified like the rest), so the
    // run does not start with cold code paths in the sandbox and the instances at once.
    for (const [instance] of instances.entries()) for (const [i, operation] of operations.entries()) await send(operation, instance, -1 - i - instance * operations.length);

    const loadStart = performance.now() - t0;
    const sampler = setInterval(() => void sample(), options.sampleEverySec * 1000);
    const slowRule = faults.slow && faults.rules[faults.slow.operationId];
    const slower =
      slowRule && options.slowEverySec > 0
        ? setInterval(() => {
            const from = since();
            sandbox.sandbox.faults.set({ [faults.slow!.operationId]: { ...slowRule, latencyMs: Math.round(RESPONSE_TIMEOUT_MS * 1.2) } });
            setTimeout(() => {
              sandbox.sandbox.faults.set({ [faults.slow!.operationId]: slowRule });
              episodes.push([from, since()]);
            }, SLOW_EPISODE_MS);
          }, options.slowEverySec * 1000)
        : undefined;
    const revoker =
      options.revokeEverySec > 0 && options.faults
        ? setInterval(() => {
            sandbox.sandbox.revokeTokens(APP_KEY);
            revokedAt.push(since());
          }, options.revokeEverySec * 1000)
        : undefined;
    const resetter =
      options.sandboxResetEverySec > 0 ? setInterval(() => sandbox.sandbox.state.reset(), options.sandboxResetEverySec * 1000) : undefined;
    const progress = setInterval(() => log(`soak: ${Math.round(since())} s, ${sent} requests, unexpected ${sum(Object.values(unexpected))}`), 10_000);
    try {
      await Promise.all(Array.from({ length: options.concurrency }, worker));
    } finally {
      clearInterval(sampler);
      if (revoker) clearInterval(revoker);
      if (slower) clearInterval(slower);
      if (resetter) clearInterval(resetter);
      clearInterval(progress);
    }
    await sample();
    const elapsedSec = since();

    // The instances' own view, then a clean stop.
    const metrics = await Promise.all(
      instances.map(async (instance) => {
        const text = await (await fetch(instance.metricsUrl, { signal: AbortSignal.timeout(2_000) })).text();
        return {
          redisFallbacks: ['rateLimits', 'ledger', 'tokens', 'readCache'].reduce((s, store) => s + metricValue(text, 'dtg_redis_fallbacks_total', `store="${store}"`), 0),
          tokenFetchesOk: metricValue(text, 'dtg_token_fetches_total', 'result="ok"'),
          tokenFetchesError: metricValue(text, 'dtg_token_fetches_total', 'result="error"'),
        };
      }),
    );
    for (const [i, instance] of instances.entries()) exitCodes[i] = await instance.stop();
    /** Warning lines by message (and error), e.g. Redis fallbacks. */
    const warnings = instances.map((instance) => {
      const byMessage: Record<string, number> = {};
      for (const line of instance.output().split('\n')) {
        try {
          const parsed = JSON.parse(line) as { level?: number; msg?: string; error?: string; store?: string };
          if (parsed.level === 40) bump(byMessage, [parsed.msg, parsed.store, parsed.error].filter(Boolean).join(' | '));
        } catch {
          // not a log line
        }
      }
      return byMessage;
    });
    const errorLogLines = instances.map((instance) =>
      instance
        .output()
        .split('\n')
        .filter((line) => {
          try {
            return (JSON.parse(line) as { level?: number }).level! >= 50;
          } catch {
            return false;
          }
        }),
    );

    const counters = sandbox.sandbox.counters.snapshot();
    const failures: string[] = [];
    for (const [i, lines] of errorLogLines.entries()) {
      if (lines.length > 0) {
        bump(unexpected, `instance ${i} logged errors`, lines.length);
        for (const line of lines.slice(0, 3)) unexpectedSamples.push({ kind: 'error log line', operationId: '-', instance: i, status: 0, body: line.slice(0, 300), atSec: -1 });
      }
      if (exitCodes[i] !== 0) bump(unexpected, `instance ${i} exited with ${exitCodes[i]}`);
    }
    // Reconcile with what the sandbox did: callers cannot see more faults than were injected.
    for (const [entry, seen] of passedThrough) {
      const [operationId, status] = entry.split(' ') as [string, string];
      const injected = counters.byStatus[operationId]?.[status] ?? 0;
      if (seen > injected) bump(unexpected, `more ${status}s on ${operationId} than the sandbox answered (${seen} > ${injected})`);
    }
    for (const [operationId, seen] of unreachable) {
      const dropped = counters.byStatus[operationId]?.dropped ?? 0;
      if (seen > dropped) bump(unexpected, `more 502s on ${operationId} than dropped connections (${seen} > ${dropped})`);
    }
    const unexpectedTotal = sum(Object.values(unexpected));
    if (unexpectedTotal > 0) failures.push(`${unexpectedTotal} unexpected answers or events`);

    for (const series of rss) {
      series.maxRssMb = Math.max(0, ...series.samples.map((s) => s.rss / 2 ** 20));
      const after = series.samples.filter((s) => s.t >= options.warmupSec);
      const window = after.length > 0 ? after.at(-1)!.t - after[0]!.t : 0;
      const perSec = slope(after.map((s) => ({ x: s.t, y: s.rss / 2 ** 20 })));
      series.slopeMbPerMin = perSec === undefined ? undefined : perSec * 60;
      const heapPerSec = slope(after.filter((s) => s.heapUsed !== undefined).map((s) => ({ x: s.t, y: s.heapUsed! / 2 ** 20 })));
      series.heapSlopeMbPerMin = heapPerSec === undefined ? undefined : heapPerSec * 60;
      series.judged = series.slopeMbPerMin !== undefined && window >= options.minSlopeWindowSec;
      if (series.samples.length === 0) failures.push(`instance ${series.instance}: no RSS sample`);
      if (series.maxRssMb > options.maxRssMb) failures.push(`instance ${series.instance}: RSS ${series.maxRssMb.toFixed(1)} MB over ${options.maxRssMb} MB`);
      if (series.judged && series.slopeMbPerMin! > options.slopeLimitMbPerMin) {
        failures.push(`instance ${series.instance}: RSS grows ${series.slopeMbPerMin!.toFixed(2)} MB/min after the warm-up (limit ${options.slopeLimitMbPerMin})`);
      }
      if (series.judged && series.heapSlopeMbPerMin !== undefined && series.heapSlopeMbPerMin > options.heapSlopeLimitMbPerMin) {
        failures.push(`instance ${series.instance}: V8 heap used grows ${series.heapSlopeMbPerMin.toFixed(2)} MB/min after the warm-up (limit ${options.heapSlopeLimitMbPerMin})`);
      }
    }

    const files = { csv: join(out, 'soak-rss.csv'), json: join(out, 'soak-summary.json') };
    const result: SoakResult = {
      ok: failures.length === 0 && !options.signal?.aborted,
      aborted: options.signal?.aborted ?? false,
      failures: options.signal?.aborted ? [...failures, 'aborted'] : failures,
      startedAt,
      options: { ...options, log: undefined, signal: undefined, maxRequests },
      elapsedSec: Math.round(elapsedSec * 10) / 10,
      requests: sent,
      warmupRequests: 2 * operations.length,
      expected,
      unexpected,
      unexpectedTotal,
      unexpectedSamples,
      byOperation,
      byInstance: byInstance.map((b, i) => ({ ...b, exitCode: exitCodes[i], errorLogLines: errorLogLines[i]!.length, warnings: warnings[i]! })),
      revocations: revokedAt.length,
      slowEpisodes: episodes.length,
      sandbox: {
        calls: counters.total,
        dropped: sum(Object.values(counters.byStatus).map((s) => s.dropped ?? 0)),
        tokensIssued: counters.tokensIssued[APP_KEY] ?? 0,
        byStatus: counters.byStatus,
      },
      metrics,
      rss,
      files,
    };
    writeFileSync(
      files.csv,
      [
        't_s,instance,rss_bytes,heap_used_bytes,heap_total_bytes,external_bytes,event_loop_lag_max_ms',
        ...rss.flatMap((s) => s.samples.map((p) => `${p.t.toFixed(2)},${s.instance},${p.rss},${p.heapUsed ?? ''},${p.heapTotal ?? ''},${p.external ?? ''},${p.eventLoopLagMaxMs ?? ''}`)),
      ].join('\n') + '\n',
    );
    writeFileSync(files.json, JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  }
}

/** The human summary printed by the script. */
export function formatSummary(result: SoakResult): string {
  const lines: string[] = [];
  const o = result.options;
  lines.push(`soak ${result.startedAt}: ${result.elapsedSec} s, ${result.requests} requests (target ${o.rate}/s, ≤ ${o.concurrency} in flight), 2 instances, Redis`);
  lines.push(`faults: ${o.faults ? `latency, 5xx, dropped connections, ${result.slowEpisodes} episodes of one GET past the ${RESPONSE_TIMEOUT_MS} ms timeout, ${result.revocations} token revocations, token lifetime ${o.tokenLifetimeSec} s` : 'none'}`);
  lines.push('expected answers:');
  for (const [kind, n] of Object.entries(result.expected).sort((a, b) => b[1] - a[1])) lines.push(`  ${String(n).padStart(8)}  ${kind}`);
  lines.push(`unexpected: ${result.unexpectedTotal}`);
  for (const [kind, n] of Object.entries(result.unexpected).sort((a, b) => b[1] - a[1])) lines.push(`  ${String(n).padStart(8)}  ${kind}`);
  for (const s of result.unexpectedSamples.slice(0, 5)) lines.push(`    e.g. ${s.kind} on ${s.operationId} via instance ${s.instance} at ${s.atSec} s: ${s.body}`);
  lines.push('by operation: ' + Object.entries(result.byOperation).map(([id, b]) => `${id} ${b.ok}/${b.requests}`).join(', '));
  lines.push(`sandbox: ${result.sandbox.calls} calls, ${result.sandbox.dropped} dropped connections, ${result.sandbox.tokensIssued} tokens issued; instances' token fetches ok ${result.metrics.map((m) => m.tokenFetchesOk).join('+')}, failed ${result.metrics.map((m) => m.tokenFetchesError).join('+')}; Redis fallbacks ${result.metrics.map((m) => m.redisFallbacks).join('+')}`);
  for (const [i, instance] of result.byInstance.entries()) {
    for (const [message, n] of Object.entries(instance.warnings).sort((a, b) => b[1] - a[1]).slice(0, 5)) lines.push(`instance ${i} warned ${n}×: ${message}`);
  }
  for (const s of result.rss) {
    const series = s.samples.map((p) => `${Math.round(p.t)}s:${(p.rss / 2 ** 20).toFixed(1)}`).join(' ');
    const heap = s.samples.map((p) => (p.heapUsed === undefined ? '?' : `${(p.heapUsed / 2 ** 20).toFixed(1)}/${((p.heapTotal ?? 0) / 2 ** 20).toFixed(0)}`)).join(' ');
    const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : `${v >= 0 ? '+' : ''}${v.toFixed(2)} MB/min`);
    const judged = s.judged ? '' : ` (not judged: under ${o.minSlopeWindowSec} s after the warm-up)`;
    lines.push(`instance ${s.instance} (pid ${s.pid ?? '?'}): max RSS ${s.maxRssMb.toFixed(1)} MB; after the ${o.warmupSec} s warm-up RSS ${fmt(s.slopeMbPerMin)}, heap used ${fmt(s.heapSlopeMbPerMin)}${judged}`);
    lines.push(`  RSS MB: ${series}`);
    lines.push(`  heap used/total MB: ${heap}`);
    lines.push(`  event-loop lag max per interval ms: ${s.samples.map((p) => p.eventLoopLagMaxMs ?? '?').join(' ')}`);
  }
  lines.push(`files: ${result.files.csv}, ${result.files.json}`);
  lines.push(result.ok ? 'PASS' : `FAIL: ${result.failures.join('; ')}`);
  return lines.join('\n');
}

function parseOptions(argv: string[]): Partial<SoakOptions> {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--'),
    options: {
      duration: { type: 'string' },
      rate: { type: 'string' },
      concurrency: { type: 'string' },
      'max-requests': { type: 'string' },
      'sample-every': { type: 'string' },
      warmup: { type: 'string' },
      'slope-limit': { type: 'string' },
      'heap-slope-limit': { type: 'string' },
      'min-window': { type: 'string' },
      'max-rss': { type: 'string' },
      'redis-url': { type: 'string' },
      'own-redis': { type: 'boolean' },
      'revoke-every': { type: 'string' },
      'slow-every': { type: 'string' },
      'sandbox-reset-every': { type: 'string' },
      'token-lifetime': { type: 'string' },
      seed: { type: 'string' },
      'no-faults': { type: 'boolean' },
      out: { type: 'string' },
      'instance-env': { type: 'string', multiple: true },
    },
  });
  const number = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a non-negative number, got ${value}`);
    return n;
  };
  const options: Partial<SoakOptions> = {
    durationSec: number('duration', values.duration),
    rate: number('rate', values.rate),
    concurrency: number('concurrency', values.concurrency),
    maxRequests: number('max-requests', values['max-requests']),
    sampleEverySec: number('sample-every', values['sample-every']),
    warmupSec: number('warmup', values.warmup),
    slopeLimitMbPerMin: number('slope-limit', values['slope-limit']),
    heapSlopeLimitMbPerMin: number('heap-slope-limit', values['heap-slope-limit']),
    minSlopeWindowSec: number('min-window', values['min-window']),
    maxRssMb: number('max-rss', values['max-rss']),
    redisUrl: values['redis-url'],
    ownRedis: values['own-redis'],
    revokeEverySec: number('revoke-every', values['revoke-every']),
    slowEverySec: number('slow-every', values['slow-every']),
    sandboxResetEverySec: number('sandbox-reset-every', values['sandbox-reset-every']),
    tokenLifetimeSec: number('token-lifetime', values['token-lifetime']),
    seed: number('seed', values.seed),
    faults: values['no-faults'] ? false : undefined,
    out: values.out,
    instanceEnv: values['instance-env']
      ? Object.fromEntries(
          values['instance-env'].map((pair) => {
            const at = pair.indexOf('=');
            if (at < 1) throw new Error(`--instance-env: expected NAME=value, got ${pair}`);
            return [pair.slice(0, at), pair.slice(at + 1)];
          }),
        )
      : undefined,
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<SoakOptions>;
}

async function main(): Promise<number> {
  let options: Partial<SoakOptions>;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  try {
    const abort = new AbortController();
    const stop = (signal: NodeJS.Signals) => {
      if (abort.signal.aborted) process.exit(130); // a second signal: give up at once
      console.error(`soak: ${signal}: stopping the load, then the instances and the sandbox (again to exit at once)`);
      abort.abort();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const result = await runSoak({ ...options, log: (line) => console.error(line), signal: abort.signal });
    console.log(formatSummary(result));
    return result.ok ? 0 : 1;
  } catch (error) {
    console.error(`soak could not run: ${(error as Error).message}`);
    return 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((code) => process.exit(code));
}
