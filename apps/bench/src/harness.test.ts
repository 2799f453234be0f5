import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseCpuTimes } from './children.js';
import { csvField, toCsv } from './csv.js';
import { benchApiKey, benchGatewayConfig } from './gateway-config.js';
import { parseDuration, parseOptions, redactUrl } from './options.js';
import { locationOf, selfTimes, totalTimes } from './profile-summary.js';
import { cpuBudget, renderReport, renderTable, targetChecks } from './report.js';
import { rotation, targetLabel } from './scenarios/compare.js';
import { roundRatios } from './scenarios/side-by-side.js';
import { SOAK_COLUMNS, soakCsv } from './scenarios/soak.js';
import type { TargetSummary } from './stats.js';

describe('CSV', () => {
  it('quotes only what needs quoting, and writes numbers plainly', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField(12.5)).toBe('12.5');
    expect(csvField(Number.NaN)).toBe('');
    expect(csvField(undefined)).toBe('');
  });

  it('writes a header row and one row per sample, CRLF-terminated, and refuses ragged rows', () => {
    expect(toCsv(['a', 'b'], [[1, 'x'], [2, 'y,z']])).toBe('a,b\r\n1,x\r\n2,"y,z"\r\n');
    expect(() => toCsv(['a', 'b'], [[1]])).toThrow(RangeError);
  });

  it("writes the soak's samples rounded, one column per field", () => {
    const csv = soakCsv([{ elapsedS: 5.0123, rssMb: 101.26, heapUsedMb: 30.04, requestsPerSecond: 4567.8, p99Ms: 3.14159, failures: 0 }]);
    expect(csv).toBe(`${SOAK_COLUMNS.join(',')}\r\n5,101.3,30,4568,3.142,0\r\n`);
  });
});

describe('options', () => {
  it('parses durations in ms, s, m and h', () => {
    expect(parseDuration('30')).toBe(30);
    expect(parseDuration('30s')).toBe(30);
    expect(parseDuration('1.5m')).toBe(90);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(() => parseDuration('soon')).toThrow(RangeError);
    expect(() => parseDuration('0')).toThrow(RangeError);
  });

  it('defaults to comparison, token storm, many tenants and call economy, and the soak to 10 minutes', () => {
    const defaults = parseOptions([], {}, '/r');
    expect(defaults.scenarios).toEqual(['compare', 'token-storm', 'many-tenants', 'call-economy']);
    expect(defaults).toMatchObject({ durationS: 5, rounds: 3, connections: 32, tenants: 10_000, stormRequests: 1000, economyRequests: 4000, economyRate: 200, redis: true, floor: true, fastifyPeer: true, resultsDir: '/r' });
    expect(parseOptions(['--no-fastify-peer'], {}, '/r').fastifyPeer).toBe(false);
    expect(parseOptions(['--scenario=call-economy', '--economy-requests=250', '--economy-rate=50'], {}, '/r')).toMatchObject({ scenarios: ['call-economy'], economyRequests: 250, economyRate: 50 });
    expect(parseOptions(['--no-floor'], {}, '/r').floor).toBe(false);
    expect(defaults.runtimes).toEqual(['bun', 'deno']);
    expect(parseOptions(['--runtimes=none'], {}, '/r').runtimes).toEqual([]);
    expect(parseOptions(['--runtimes=Bun'], {}, '/r').runtimes).toEqual(['bun']);
    expect(() => parseOptions(['--runtimes=workerd'], {}, '/r')).toThrow(/--runtimes/);
    expect(parseOptions(['--', '--scenario=soak'], {}, '/r')).toMatchObject({ scenarios: ['soak'], durationS: 600 });
    expect(parseOptions(['--scenario=soak', '--duration=30m', '--sample-interval=10s'], {}, '/r')).toMatchObject({ durationS: 1800, sampleIntervalS: 10 });
  });

  it('never shows a Redis password', () => {
    expect(redactUrl('redis://:s3cret@redis.internal:6379/0')).toBe('redis://***@redis.internal:6379/0');
    expect(redactUrl('rediss://user:pw@h:1')).toBe('rediss://***@h:1');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });

  it('makes --quick short, takes environment variables, and refuses nonsense', () => {
    const quick = parseOptions(['--quick'], {}, '/r');
    expect(quick).toMatchObject({ quick: true, durationS: 1, rounds: 1, tenants: 1000, stormRequests: 200, economyRequests: 400 });
    expect(quick.resultsDir).not.toBe('/r'); // a smoke run never overwrites the recorded results
    expect(parseOptions(['--quick', '--results-dir=/q'], {}, '/r').resultsDir).toBe('/q');
    expect(parseOptions([], { BENCH_ROUNDS: '5', BENCH_CONNECTIONS: '64', REDIS_URL: 'redis://h:1' }, '/r')).toMatchObject({ rounds: 5, connections: 64, redisUrl: 'redis://h:1' });
    expect(parseOptions(['--extra-gateway=before=/x/cli/main.js', '--operation=post'], {}, '/r')).toMatchObject({ extraGateways: [{ label: 'before', cli: '/x/cli/main.js', redis: false }], operations: ['POST'] });
    expect(() => parseOptions(['--scenario=fast'], {}, '/r')).toThrow(/unknown scenario/);
    expect(() => parseOptions(['--rounds=0'], {}, '/r')).toThrow(RangeError);
    expect(() => parseOptions(['--bogus'], {}, '/r')).toThrow();
  });
});

describe('side by side', () => {
  it('is its own scenario, 5,000 req/s per build by default (500 with --quick)', () => {
    expect(parseOptions(['--scenario=side-by-side', '--extra-gateway=before=/b/cli/main.js'], {}, '/r')).toMatchObject({ scenarios: ['side-by-side'], rate: 5000, extraGateways: [{ label: 'before', redis: false }] });
    expect(parseOptions(['--scenario=side-by-side', '--extra-gateway-redis=before=/b/cli/main.js'], {}, '/r')).toMatchObject({ extraGateways: [{ label: 'before', redis: true }] });
    expect(() => parseOptions(['--scenario=side-by-side', '--extra-gateway=a=/a/cli/main.js', '--extra-gateway-redis=b=/b/cli/main.js'], {}, '/r')).toThrow(/same stores/);
    expect(parseOptions(['--scenario=side-by-side', '--quick'], {}, '/r').rate).toBe(500);
    expect(parseOptions(['--scenario=side-by-side', '--rate=8000'], {}, '/r').rate).toBe(8000);
    expect(() => parseOptions(['--rate=0'], {}, '/r')).toThrow(RangeError);
  });

  it('runs every build on Node by default, or on the runtime --side-runtime names', () => {
    expect(parseOptions(['--scenario=side-by-side'], {}, '/r').sideRuntime).toBeUndefined();
    expect(parseOptions(['--scenario=side-by-side', '--side-runtime=node'], {}, '/r').sideRuntime).toBeUndefined();
    expect(parseOptions(['--scenario=side-by-side', '--side-runtime=bun'], {}, '/r').sideRuntime).toBe('bun');
    expect(() => parseOptions(['--scenario=side-by-side', '--side-runtime=workerd'], {}, '/r')).toThrow(RangeError);
    const text = renderReport({ sideBySide: { runtime: 'deno', stores: 'redis', requestsPerSecondEach: 3000, connectionsEach: 16, durationS: 3, rounds: 6, operations: [{ operationId: 'listWorkspaces', method: 'GET', builds: [] }] } }, 'text');
    expect(text).toContain('Side by side, GET listWorkspaces: every build at once on Deno, redis stores, 3,000 req/s each');
  });

  it('compares builds round by round, leaving out rounds that measured nothing', () => {
    expect(roundRatios([90, 80, 120], [100, 100, 100])).toEqual([0.9, 0.8, 1.2]);
    expect(roundRatios([90, Number.NaN, 50], [100, 100, 0])).toEqual([0.9]);
    expect(roundRatios([1, 2], [1])).toEqual([1]);
  });

  it('reports each build against the workspace build', () => {
    const build = (label: string, cpu: number[]) => ({ label, cpuUsPerRequestByRound: cpu, medianCpuUsPerRequest: cpu[1]!, medianRatioToWorkspace: label === 'workspace' ? 1 : 0.914, roundsBelowWorkspace: 2, requests: 3000, failures: 0, rssMaxMb: 130 });
    const text = renderReport({ sideBySide: { stores: 'memory', requestsPerSecondEach: 5000, connectionsEach: 16, durationS: 3, rounds: 3, operations: [{ operationId: 'listWorkspaces', method: 'GET', builds: [build('workspace', [80, 79, 90]), build('before', [88, 87, 95])] }] } }, 'text');
    expect(text).toContain('Side by side, GET listWorkspaces: every build at once, memory stores, 5,000 req/s each on 16 connections, 3 rounds of 3 s');
    expect(text).toMatch(/before\s+87\.0\s+0\.914\s+2 of 3\s+88 \/ 87 \/ 95/);
    expect(targetChecks({ sideBySide: { stores: 'memory', requestsPerSecondEach: 1, connectionsEach: 1, durationS: 1, rounds: 1, operations: [] } })).toEqual([]);
  });
});

describe('rotation', () => {
  it('runs every target once per round, each round starting one further (A B C, B C A, C A B, A B C)', () => {
    expect([0, 1, 2, 3].map((round) => rotation(['A', 'B', 'C'], round).join(''))).toEqual(['ABC', 'BCA', 'CAB', 'ABC']);
  });
});

describe('CPU time of a process', () => {
  it('reads user and system time from /proc/<pid>/stat, whatever the command name holds', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const stat = '4242 (node) (x) 1) R 1 4242 4242 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 11 0';
    expect(parseCpuTimes(stat)).toEqual({ userUs: 2_500_000, systemUs: 750_000 });
  });
});

describe('the gateway config of a run', () => {
  it('has one key per tenant, stored as its SHA-256, limits out of reach, logs at info and metrics on', () => {
    const yaml = benchGatewayConfig({ upstreamUrl: 'http://127.0.0.1:9', tenants: 2, upstreamConnections: 128, redis: { keyPrefix: 'p:' } });
    for (const i of [0, 1]) expect(yaml).toContain(createHash('sha256').update(benchApiKey(i)).digest('hex'));
    expect(yaml).not.toContain(benchApiKey(0));
    expect(yaml).toMatch(/rateLimit: \{ rate: 1000000, burst: 1000000 \}/);
    expect(yaml).toMatch(/logLevel: info/);
    expect(yaml).toMatch(/metrics:\n {4}enabled: true/);
    expect(yaml).toMatch(/redis:\n {2}urlEnv: REDIS_URL\n {2}keyPrefix: 'p:'/);
    expect(benchGatewayConfig({ upstreamUrl: 'http://127.0.0.1:9', upstreamConnections: 8 })).not.toMatch(/redis:/);
  });
});

describe('report', () => {
  it('renders aligned text and Markdown tables', () => {
    expect(renderTable(['a', 'n'], [['x', '1'], ['yy', '22']], 'text')).toBe('a    n\n--  --\nx    1\nyy  22');
    expect(renderTable(['a', 'n'], [['x|y', '1']], 'markdown')).toBe('| a | n |\n| --- | --- |\n| x\\|y | 1 |');
  });

  it('splits the CPU per request into framework and features, and what the features may cost for 0.8×', () => {
    const summary = (cpuUsPerRequest: number) => ({ cpuUsPerRequest }) as TargetSummary;
    const op = { operationId: 'listWorkspaces', method: 'GET', path: '/', ratios: {}, gatewayOver: {}, saturated: { baseline: summary(32), floor: summary(35), gateway: summary(50) } };
    expect(cpuBudget(op)).toEqual({ frameworkUs: 3, featuresUs: 15, featuresBudgetUs: 5 });
    expect(cpuBudget({ ...op, saturated: { baseline: summary(32), gateway: summary(50) } })).toBeUndefined();
  });

  it("shows the gateway's throughput over the fastify peer's and the floor's, and checks them against 1.0× and 0.8×", () => {
    const summary = (requestsPerSecond: number, p99Ms: number) => ({ requestsPerSecond, p50Ms: 1, p99Ms, p999Ms: 5, rssMaxMb: 100, cpuUsPerRequest: 40, systemCpuUsPerRequest: 15, requestsPerSecondByRound: [requestsPerSecond], foreignCoresMax: 0 }) as TargetSummary;
    const op = (method: string, gateway: number) => ({
      operationId: method === 'GET' ? 'listWorkspaces' : 'addWorkspace',
      method,
      path: '/',
      saturated: { baseline: summary(10_000, 2), floor: summary(9_000, 2), fastifyPeer: summary(6_000, 3), gateway: summary(gateway, 3) },
      ratios: { gateway: { throughput: gateway / 10_000, p99: 1.5, p99EqualRate: Number.NaN } },
      gatewayOver: { floor: { throughput: gateway / 9_000, p99: 1.5 }, fastifyPeer: { throughput: gateway / 6_000, p99: 1 } },
    });
    const compare = { connections: 32, durationS: 5, warmupS: 2, rounds: 1, redis: 'skipped: --no-redis' as const, operations: [op('GET', 7_500), op('POST', 5_400)], disturbances: [], upstream: { requests: 0, tokenFetches: 3, missingToken: 0, notFound: 0 }, starts: {} };
    const text = renderReport({ compare }, 'text');
    expect(text).toMatch(/fastify peer \(fastify \+ http-proxy \+ rate-limit \+ API key\)\s+6,000 \(0\.60×\)/);
    expect(text).toContain('The gateway (memory stores) over the floor: throughput 0.83×, p99 1.50×; over the fastify peer: throughput 1.25×, p99 1.00×.');
    const checks = Object.fromEntries(targetChecks({ compare }).map((c) => [c.name, c.met]));
    expect(checks).toMatchObject({
      'GET throughput, gateway (memory) / fastify peer': true,
      'GET throughput, gateway (memory) / floor': true,
      'POST throughput, gateway (memory) / fastify peer': false,
      'POST throughput, gateway (memory) / floor': false,
    });
  });

  it('names the gateway on Bun and Deno with each store, checks Bun with Redis against 0.7×, and shows when each runtime first answered', () => {
    expect(targetLabel('runtime:bun')).toBe('gateway on Bun, memory stores');
    expect(targetLabel('runtimeRedis:deno')).toBe('gateway on Deno, Redis stores');
    const summary = (requestsPerSecond: number) => ({ requestsPerSecond, p50Ms: 1, p99Ms: 3, p999Ms: 5, rssMaxMb: 100, cpuUsPerRequest: 40, systemCpuUsPerRequest: 15, requestsPerSecondByRound: [requestsPerSecond], foreignCoresMax: 0 }) as TargetSummary;
    const op = (method: string, bunRedis: number) => ({
      operationId: method === 'GET' ? 'listWorkspaces' : 'addWorkspace',
      method,
      path: '/',
      saturated: { baseline: summary(10_000), gateway: summary(6_000), 'runtimeRedis:bun': { ...summary(bunRedis), redisCpuUsPerRequest: 31 } },
      ratios: { gateway: { throughput: 0.6, p99: 1.5, p99EqualRate: Number.NaN }, 'runtimeRedis:bun': { throughput: bunRedis / 10_000, p99: 1.2, p99EqualRate: Number.NaN } },
      gatewayOver: {},
    });
    const starts = { gateway: { startMs: 650, firstAnswerMs: 701, rssAtStartMb: 100 }, 'runtime:bun': { startMs: 420, rssAtStartMb: 90 } };
    const compare = { connections: 32, durationS: 5, warmupS: 2, rounds: 1, redis: 'on' as const, operations: [op('GET', 7_100), op('POST', 6_900)], disturbances: [], upstream: { requests: 0, tokenFetches: 3, missingToken: 0, notFound: 0 }, starts };
    const checks = Object.fromEntries(targetChecks({ compare }).map((c) => [c.name, c.met]));
    expect(checks).toMatchObject({ 'GET throughput, gateway on Bun (Redis) / baseline': true, 'POST throughput, gateway on Bun (Redis) / baseline': false });
    const text = renderReport({ compare }, 'text');
    expect(text).toMatch(/gateway, memory stores\s+650\s+701\s+100/);
    // redis-server's CPU per request beside a Redis target's own; '-' for a target without Redis.
    expect(text).toMatch(/gateway on Bun, Redis stores\s+7,100 \(0\.71×\)(\s+\S+){7}\s+31\s/);
    expect(text).toMatch(/gateway, memory stores\s+6,000 \(0\.60×\)(\s+\S+){7}\s+-\s/);
    // Results written before the first answer was measured still render.
    expect(text).toMatch(/gateway on Bun, memory stores\s+420\s+-\s+90/);
  });

  it('checks a token storm for exactly one fetch with every request answered', () => {
    const variant = { stores: 'memory' as const, gateways: 1, requests: 3, upstreamTokenFetches: 1, metricTokenFetches: 1, waitedForFetch: 3, elapsedMs: 1, exactlyOne: true };
    const ok = targetChecks({ tokenStorm: { tokenDelayMs: 1, variants: [{ ...variant, statuses: { '200': 3 } }] } });
    expect(ok.map((c) => c.met)).toEqual([true]);
    const failedRequest = targetChecks({ tokenStorm: { tokenDelayMs: 1, variants: [{ ...variant, statuses: { '200': 2, '503': 1 } }] } });
    expect(failedRequest.map((c) => c.met)).toEqual([false]);
    const twoFetches = targetChecks({ tokenStorm: { tokenDelayMs: 1, variants: [{ ...variant, upstreamTokenFetches: 2, statuses: { '200': 3 } }] } });
    expect(twoFetches.map((c) => c.met)).toEqual([false]);
  });
});

describe('profile summary', () => {
  // root → a → b (self 30 µs), root → a (self 20 µs), root → c (self 50 µs)
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 4] },
      { id: 2, callFrame: { functionName: 'a', url: 'file:///w/node_modules/.pnpm/hono@4/node_modules/hono/dist/x.js', lineNumber: 0 }, children: [3] },
      { id: 3, callFrame: { functionName: 'b', url: 'file:///w/apps/gateway/dist/proxy/handler.js', lineNumber: 9 } },
      { id: 4, callFrame: { functionName: 'c', url: 'node:net', lineNumber: 1 } },
    ],
    startTime: 0,
    endTime: 100,
    samples: [3, 2, 4],
    timeDeltas: [0, 30, 20, 50],
  };

  it('adds up self time and inclusive time per function', () => {
    const self = Object.fromEntries(selfTimes(profile, (f) => f.functionName).map((s) => [s.name, s.ms * 1000]));
    expect(self).toEqual({ b: 30, a: 20, c: 50 });
    const total = Object.fromEntries(totalTimes(profile, (f) => f.functionName).map((s) => [s.name, s.ms * 1000]));
    expect(total).toEqual({ '(root)': 100, a: 50, b: 30, c: 50 });
  });

  it('names where code lives: a package, a workspace file, Node itself', () => {
    expect(locationOf('file:///w/node_modules/.pnpm/hono@4/node_modules/hono/dist/x.js')).toBe('hono/dist/x.js');
    expect(locationOf('file:///w/node_modules/.pnpm/@hono+node-server@2/node_modules/@hono/node-server/dist/index.mjs')).toBe('@hono/node-server/dist/index.mjs');
    expect(locationOf('file:///w/apps/gateway/dist/proxy/handler.js')).toBe('gateway/proxy/handler.js');
    expect(locationOf('node:net')).toBe('node:net');
    expect(locationOf('')).toBe('(native/V8)');
  });
});
