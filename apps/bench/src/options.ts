/**
 * Command-line options (each also settable through an environment variable). Pure, so tested.
 *
 *   pnpm bench                                  comparison + token storm + many tenants + call economy
 *   pnpm bench -- --scenario=call-economy       what the read cache and Idempotency-Key save of DingTalk's calls
 *   pnpm bench -- --quick                       a few-second smoke run of the same
 *   pnpm bench -- --scenario=compare --rounds=5 --duration=10s --connections=64
 *   pnpm bench -- --scenario=soak --duration=30m --sample-interval=5s
 *   pnpm bench -- --scenario=compare --profile  gateways under --cpu-prof
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export const GATEWAY_RUNTIMES = ['bun', 'deno'] as const;
export type GatewayRuntime = (typeof GATEWAY_RUNTIMES)[number];

export const SCENARIOS = ['compare', 'token-storm', 'many-tenants', 'call-economy', 'soak', 'side-by-side'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  scenarios: Scenario[];
  quick: boolean;
  /** Seconds per measured run (compare, many tenants), or of the whole soak. */
  durationS: number;
  warmupS: number;
  rounds: number;
  connections: number;
  /** Which of the comparison's operations to drive (`GET`, `POST`). */
  operations: string[];
  /** More gateways (memory stores) in the comparison, from other builds: before/after in one run. */
  extraGateways: Array<{ label: string; cli: string; redis: boolean }>;
  /** Skip the equal-rate latency runs of the comparison. */
  equalRate: boolean;
  /** The framework floor in the comparison (Hono and the gateway's upstream, no features). */
  floor: boolean;
  /** The fastify peer in the comparison (fastify + @fastify/http-proxy + @fastify/rate-limit + an API-key check). */
  fastifyPeer: boolean;
  /** The gateway on other runtimes too (memory stores), as targets of the comparison. */
  runtimes: GatewayRuntime[];
  /** Side by side: requests per second each build gets. */
  rate: number;
  /** Side by side: the runtime every build runs on (default Node). */
  sideRuntime: GatewayRuntime | undefined;
  redis: boolean;
  redisUrl: string;
  tenants: number;
  stormRequests: number;
  /** Call economy: the workload's caller requests (second tries of creates apart). */
  economyRequests: number;
  /** Call economy: caller requests started per second. */
  economyRate: number;
  sampleIntervalS: number;
  profile: boolean;
  /** Extra Node options for the gateway processes, e.g. `--max-semi-space-size=8`. */
  gatewayNodeArgs: string[];
  /** The runtime's own flags for the gateway on Bun and on Deno (e.g. `--smol`). */
  gatewayRuntimeArgs: Record<GatewayRuntime, string[]>;
  /** Wait (at most this many seconds) for load < 0.5 and no vitest before starting; 0: do not wait. */
  waitQuietS: number;
  /** Where latest.json (and the soak's CSV) go. */
  resultsDir: string;
  /** Also print the tables as Markdown (for docs/BENCHMARKS.md). */
  markdown: boolean;
  /** Keep the run's temporary directory (configs, access logs). */
  keepTemp: boolean;
  help: boolean;
}

export const USAGE = `Usage: pnpm bench [-- options]

  --scenario=<list>        compare,token-storm,many-tenants,call-economy (default) | soak | side-by-side; comma-separated   [BENCH_SCENARIO]
  --quick                  a short smoke run (1 round, 1 s runs, 1,000 tenants, 200 storm requests, 400 economy requests)
  --duration=<time>        per measured run (default 5s), or the whole soak (default 10m)       [BENCH_DURATION]
  --warmup=<time>          warm-up per target and operation (default 2s)                         [BENCH_WARMUP]
  --rounds=<n>             interleaved rounds (default 3)                                        [BENCH_ROUNDS]
  --connections=<n>        concurrent keep-alive connections (default 32)                        [BENCH_CONNECTIONS]
  --operation=<list>       GET,POST (default): the comparison's operations
  --extra-gateway=<l>=<cli> also compare the gateway built elsewhere (its dist/cli/main.js), labelled l; repeatable
  --extra-gateway-redis=<l>=<cli>  the same with the Redis stores (side-by-side: every build then on Redis)
  --no-equal-rate          skip the comparison's equal-request-rate latency runs
  --no-floor               skip the comparison's framework floor (Hono + the gateway's upstream, no features)
  --no-fastify-peer        skip the comparison's fastify peer (fastify + @fastify/http-proxy + @fastify/rate-limit + API keys)
  --runtimes=<list>        the gateway on these runtimes too, memory stores (default bun,deno; none: Node only)
  --rate=<n>               side-by-side: requests/s each build gets, all builds at once (default 5000)
  --side-runtime=<r>       side-by-side: every build on bun or deno (their entries built beside each --extra-gateway's CLI); default Node
  --no-redis               skip the gateway with the Redis stores
  --redis-url=<url>        default REDIS_URL or redis://127.0.0.1:6379
  --tenants=<n>            many-tenants scenario (default 10000)                                 [BENCH_TENANTS]
  --storm=<n>              token storm: concurrent cold requests (default 1000)                  [BENCH_STORM]
  --economy-requests=<n>   call economy: the workload's requests (default 4000)                  [BENCH_ECONOMY_REQUESTS]
  --economy-rate=<n>       call economy: requests started per second, open loop (default 200)
  --sample-interval=<time> soak: RSS sampling interval (default 5s)
  --profile                run the gateways with --cpu-prof (profiles in a temporary directory)
  --gateway-node-args=<s>  extra Node options for the gateway processes (space-separated)
  --gateway-bun-args=<s>   Bun's own options for the gateway on Bun (e.g. --smol)
  --gateway-deno-args=<s>  Deno's own options for the gateway on Deno (e.g. --v8-flags=--max-old-space-size=128)
  --wait-quiet=<time>      first wait up to this long for load < 0.5 and no vitest running
  --results-dir=<dir>      default apps/bench/results (with --quick: a temporary directory)
  --markdown               also print the tables as Markdown
  --keep-temp              keep the configs and access logs of the run
Times: 30, 30s, 5m, 1h.`;

/** `30`, `30s`, `1.5m`, `2h`, `500ms` → seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new RangeError(`not a duration: "${text}" (e.g. 30s, 5m, 1h)`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const seconds = unit === 'ms' ? value / 1000 : unit === 'm' ? value * 60 : unit === 'h' ? value * 3600 : value;
  if (!(seconds > 0)) throw new RangeError(`a duration must be > 0: "${text}"`);
  return seconds;
}

function positiveInt(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${name} must be a whole number >= 1, got "${text}"`);
  return value;
}

function extraGateway(text: string, redis: boolean): { label: string; cli: string; redis: boolean } {
  const at = text.indexOf('=');
  if (at <= 0 || at === text.length - 1) throw new RangeError(`--extra-gateway: expected <label>=<path to dist/cli/main.js>, got "${text}"`);
  return { label: text.slice(0, at), cli: text.slice(at + 1), redis };
}

function runtimeList(text: string): GatewayRuntime[] {
  if (text.trim() === 'none') return [];
  const list = text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const runtime of list) if (!(GATEWAY_RUNTIMES as readonly string[]).includes(runtime)) throw new RangeError(`--runtimes: ${GATEWAY_RUNTIMES.join(', ')} or none, got "${runtime}"`);
  return list as GatewayRuntime[];
}

function operationList(text: string): string[] {
  const list = text.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  for (const op of list) if (op !== 'GET' && op !== 'POST') throw new RangeError(`--operation: GET or POST, got "${op}"`);
  if (list.length === 0) throw new RangeError('--operation: none given');
  return list;
}

export function parseOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, defaultResultsDir: string): BenchOptions {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg !== '--'),
    options: {
      scenario: { type: 'string' },
      quick: { type: 'boolean' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      operation: { type: 'string' },
      'extra-gateway': { type: 'string', multiple: true },
      'extra-gateway-redis': { type: 'string', multiple: true },
      'no-equal-rate': { type: 'boolean' },
      'no-floor': { type: 'boolean' },
      'no-fastify-peer': { type: 'boolean' },
      runtimes: { type: 'string' },
      rate: { type: 'string' },
      'side-runtime': { type: 'string' },
      'no-redis': { type: 'boolean' },
      'redis-url': { type: 'string' },
      tenants: { type: 'string' },
      storm: { type: 'string' },
      'economy-requests': { type: 'string' },
      'economy-rate': { type: 'string' },
      'sample-interval': { type: 'string' },
      profile: { type: 'boolean' },
      'gateway-node-args': { type: 'string' },
      'gateway-bun-args': { type: 'string' },
      'gateway-deno-args': { type: 'string' },
      'wait-quiet': { type: 'string' },
      'results-dir': { type: 'string' },
      markdown: { type: 'boolean' },
      'keep-temp': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const quick = values.quick ?? env.BENCH_QUICK === '1';
  const scenarioText = values.scenario ?? env.BENCH_SCENARIO ?? 'compare,token-storm,many-tenants,call-economy';
  const scenarios = scenarioText.split(',').map((s) => s.trim()).filter(Boolean) as Scenario[];
  for (const scenario of scenarios) {
    if (!SCENARIOS.includes(scenario)) throw new RangeError(`unknown scenario "${scenario}"; one of ${SCENARIOS.join(', ')}`);
  }
  if (scenarios.length === 0) throw new RangeError('no scenario given');
  const soakOnly = scenarios.length === 1 && scenarios[0] === 'soak';
  if (scenarios.includes('side-by-side') && values['extra-gateway'] !== undefined && values['extra-gateway-redis'] !== undefined) {
    throw new RangeError('side-by-side runs every build on the same stores: give --extra-gateway (memory) or --extra-gateway-redis, not both');
  }
  const durationText = values.duration ?? env.BENCH_DURATION;
  return {
    scenarios,
    quick,
    durationS: durationText !== undefined ? parseDuration(durationText) : soakOnly ? (quick ? 10 : 600) : quick ? 1 : 5,
    warmupS: parseDuration(values.warmup ?? env.BENCH_WARMUP ?? (quick ? '0.5s' : '2s')),
    rounds: positiveInt('rounds', values.rounds ?? env.BENCH_ROUNDS ?? (quick ? '1' : '3')),
    connections: positiveInt('connections', values.connections ?? env.BENCH_CONNECTIONS ?? '32'),
    operations: operationList(values.operation ?? 'GET,POST'),
    extraGateways: [...(values['extra-gateway'] ?? []).map((t) => extraGateway(t, false)), ...(values['extra-gateway-redis'] ?? []).map((t) => extraGateway(t, true))],
    equalRate: !(values['no-equal-rate'] ?? false),
    floor: !(values['no-floor'] ?? false),
    fastifyPeer: !(values['no-fastify-peer'] ?? false),
    runtimes: runtimeList(values.runtimes ?? 'bun,deno'),
    rate: positiveInt('rate', values.rate ?? (quick ? '500' : '5000')),
    sideRuntime: values['side-runtime'] === undefined || values['side-runtime'] === 'node' ? undefined : runtimeList(values['side-runtime'])[0],
    redis: !(values['no-redis'] ?? false),
    redisUrl: values['redis-url'] ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    tenants: positiveInt('tenants', values.tenants ?? env.BENCH_TENANTS ?? (quick ? '1000' : '10000')),
    stormRequests: positiveInt('storm', values.storm ?? env.BENCH_STORM ?? (quick ? '200' : '1000')),
    economyRequests: positiveInt('economy-requests', values['economy-requests'] ?? env.BENCH_ECONOMY_REQUESTS ?? (quick ? '400' : '4000')),
    economyRate: positiveInt('economy-rate', values['economy-rate'] ?? '200'),
    sampleIntervalS: parseDuration(values['sample-interval'] ?? (quick ? '1s' : '5s')),
    profile: values.profile ?? false,
    gatewayNodeArgs: (values['gateway-node-args'] ?? '').split(' ').filter(Boolean),
    gatewayRuntimeArgs: { bun: (values['gateway-bun-args'] ?? '').split(' ').filter(Boolean), deno: (values['gateway-deno-args'] ?? '').split(' ').filter(Boolean) },
    waitQuietS: values['wait-quiet'] !== undefined ? parseDuration(values['wait-quiet']) : 0,
    // A smoke run must not overwrite the recorded results: it writes to a temporary directory.
    resultsDir: values['results-dir'] ?? (quick ? join(tmpdir(), 'dtg-bench-quick') : defaultResultsDir),
    markdown: values.markdown ?? false,
    keepTemp: values['keep-temp'] ?? false,
    help: values.help ?? false,
  };
}

/** A URL with any `user:password@` replaced, for logs and results. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
