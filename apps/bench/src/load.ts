/**
 * The load: autocannon in this process (the targets each run in their own), keep-alive, a
 * fixed number of connections, one request in flight per connection. Latency is taken from
 * autocannon's per-response event at sub-millisecond resolution (its own histogram keeps whole
 * milliseconds, too coarse for a p50 around 1 ms).
 */
import autocannon from 'autocannon';
import { cpuTimes, sampleRss } from './children.js';
import { foreignLoad } from './machine.js';
import { type RunMeasurement, summarizeLatencies } from './stats.js';

export interface Operation {
  /** `GET` / `POST`: the name in tables. */
  name: string;
  operationId: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

export const OPERATOR_ID = 'tXguN309iPhE4roSKPlLURAiEiE';

/** The two operations every comparison drives: a read with query parameters, a write with a JSON body. */
export const OPERATIONS: readonly Operation[] = [
  { name: 'GET', operationId: 'listWorkspaces', method: 'GET', path: `/v2.0/wiki/workspaces?operatorId=${OPERATOR_ID}&maxResults=10` },
  {
    name: 'POST',
    operationId: 'addWorkspace',
    method: 'POST',
    path: `/v2.0/wiki/workspaces?operatorId=${OPERATOR_ID}`,
    body: JSON.stringify({ name: 'Team handbook', option: { description: 'Everything the team knows, in one place', teamId: 'lHiicjNFM2iSFYSdz2iPuI8ZwiEiE' } }),
  },
];

export function requestHeaders(operation: Operation, apiKey: string): Record<string, string> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${apiKey}`,
    accept: 'application/json',
    'user-agent': 'dtg-bench/0.1',
  };
  if (operation.body !== undefined) headers['content-type'] = 'application/json';
  return headers;
}

/** A growable list of latencies in ms, kept as doubles without boxing. */
class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  take(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

export interface LoadOptions {
  url: string;
  operation: Operation;
  connections: number;
  durationS: number;
  /** The API key; or a function choosing one per request (many tenants). */
  apiKey: string | (() => string);
  /** Requests per second over all connections; default: as fast as answers come. */
  overallRate?: number;
}

export interface LoadResult {
  completed: number;
  ok: number;
  failures: number;
  elapsedS: number;
  latenciesMs: Float64Array;
  statusCounts: Record<string, number>;
}

/** Drives `url` for `durationS` seconds; every response's latency is kept. */
export async function drive(options: LoadOptions): Promise<LoadResult> {
  const { operation } = options;
  const pickKey = options.apiKey;
  const base = { method: operation.method, path: operation.path, body: operation.body };
  const requests =
    typeof pickKey === 'function'
      ? [{ ...base, setupRequest: (request: object) => ({ ...request, headers: requestHeaders(operation, pickKey()) }) }]
      : [{ ...base, headers: requestHeaders(operation, pickKey) }];
  const latencies = new Samples();
  let ok = 0;
  let completed = 0;
  const started = performance.now();
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    duration: options.durationS,
    timeout: 10,
    requests,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    completed += 1;
    if (statusCode >= 200 && statusCode < 300) ok += 1;
    latencies.push(responseTimeMs);
  });
  const result = await instance;
  const elapsedS = (performance.now() - started) / 1000;
  const statusCounts: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats)) statusCounts[status] = count;
  return {
    completed,
    ok,
    failures: completed - ok + result.errors + result.timeouts,
    elapsedS,
    latenciesMs: latencies.take(),
    statusCounts,
  };
}

/** One measured run against a target process: throughput, latency, its RSS and CPU per request. */
export async function measure(options: LoadOptions & { pid: number; ownPids?: () => ReadonlySet<number>; redisPid?: number }): Promise<RunMeasurement & { statusCounts: Record<string, number> }> {
  const foreign = options.ownPids ? foreignLoad(options.ownPids) : undefined;
  const redisBefore = options.redisPid === undefined ? undefined : cpuTimes(options.redisPid);
  const cpuBefore = cpuTimes(options.pid);
  const rss = sampleRss(options.pid);
  const load = await drive(options);
  const rssMaxMb = rss.stop();
  const foreignCores = foreign?.stop();
  const cpuAfter = cpuTimes(options.pid);
  const userUs = cpuAfter.userUs - cpuBefore.userUs;
  const systemUs = cpuAfter.systemUs - cpuBefore.systemUs;
  const redisAfter = options.redisPid === undefined ? undefined : cpuTimes(options.redisPid);
  const redisUs = redisBefore && redisAfter ? redisAfter.userUs + redisAfter.systemUs - (redisBefore.userUs + redisBefore.systemUs) : Number.NaN;
  return {
    requestsPerSecond: load.ok / load.elapsedS,
    latencyMs: summarizeLatencies(load.latenciesMs),
    rssMaxMb,
    cpuUsPerRequest: load.completed > 0 ? (userUs + systemUs) / load.completed : Number.NaN,
    systemCpuUsPerRequest: load.completed > 0 ? systemUs / load.completed : Number.NaN,
    ...(options.redisPid === undefined ? {} : { redisCpuUsPerRequest: load.completed > 0 ? redisUs / load.completed : Number.NaN }),
    failures: load.failures,
    foreignCores,
    statusCounts: load.statusCounts,
  };
}
