/**
 * Call economy: what the read cache and Idempotency-Key save of the org's DingTalk calls (10,000
 * a month on the standard edition). One seeded workload (`call-economy-workload.ts`: mostly
 * reads of a few hot Knowledge Bases, some creates, a tenth of the creates sent twice) is replayed
 * through the gateway in front of the DingTalk sandbox, whose own counters say how many calls
 * reached DingTalk:
 *
 * - without the economy: no read cache, and the caller's second try of a create carries no key
 *   (what a client without Idempotency-Key does: DingTalk creates twice);
 * - with it: GetWorkspace and ListWorkspaces cached, every create with an Idempotency-Key that
 *   its second try repeats;
 * - with it on Redis, two instances taking turns (a create's second try goes to the other one).
 *
 * Requests start at a fixed rate (`--economy-rate`, open loop), whatever the answers' speed, so
 * every variant carries the same load and latencies compare: a closed loop would send faster when
 * the cache answers and queue the rest behind its own hits. Each variant gets a fresh sandbox and
 * fresh gateways; its Knowledge Bases are created first, out of the count. Latency is per answer
 * class, from the answer's `Cache-Status` and `Idempotent-Replayed` headers.
 */
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { Pool } from 'undici';
import type { ForkedChild, GatewayChild } from '../children.js';
import type { RunContext } from '../context.js';
import { benchApiKey } from '../gateway-config.js';
import { redactUrl } from '../options.js';
import { type LatencySummary, summarizeLatencies } from '../stats.js';
import { type CallerRequest, ECONOMY_MIX, callEconomyWorkload } from './call-economy-workload.js';

/** Knowledge Bases the workload reads and writes, created before each variant. */
const WORKSPACES = 40;
const SEED = 1;
const RETRIED_SHARE = 0.1;
/** Connections to each gateway: more than the requests in flight at the scenario's rate. */
const CONNECTIONS = 32;
/** Long enough that no entry expires within a run: what invalidates them is the writes. */
const TTL_SECONDS = 60;
const CACHED = { getWorkspace: TTL_SECONDS, listWorkspaces: TTL_SECONDS } as const;
/** The standard edition's month, to put the figures in the org's terms. */
export const STANDARD_MONTHLY_CALLS = 10_000;
const TOKEN_OPERATIONS = new Set(['getAccessToken', 'getCorpAccessToken']);

/** How a caller's answer was made, from its headers. */
export type AnswerClass = 'read from the cache' | 'read, waited for another caller' | 'read from DingTalk' | 'write' | 'write replayed';

export interface EconomyVariant {
  label: string;
  economy: boolean;
  stores: 'memory' | 'redis';
  gateways: number;
  /** Requests the callers sent, second tries included. */
  callerRequests: number;
  /** Answers by status, and by code for a refusal (`400 invalidRequest.workspaceNode.nameConflict`). */
  statuses: Record<string, number>;
  /** API calls that reached DingTalk (token fetches apart), by operation. */
  dingtalkCalls: Record<string, number>;
  dingtalkCallsTotal: number;
  tokenFetches: number;
  /** Calls that counted towards the org's monthly quota, by DingTalk's own count. */
  meteredCalls: number;
  callsPerCallerRequest: number;
  /** Knowledge Bases and docs the callers meant to create, and how many DingTalk created. */
  createsIntended: number;
  createsMade: number;
  duplicates: number;
  answers: Record<string, number>;
  /** By operation, then by how the answer was made: a miss compares with the same operation's reads without the cache. */
  latencyMs: Record<string, Partial<Record<AnswerClass, LatencySummary>>>;
  elapsedMs: number;
  /** Caller requests per second achieved (the rate asked for, unless the machine fell behind). */
  requestsPerSecond: number;
}

export interface CallEconomyResult {
  requests: number;
  /** Caller requests started per second. */
  rate: number;
  workspaces: number;
  seed: number;
  mix: Record<string, number>;
  retriedShare: number;
  ttlSeconds: number;
  variants: EconomyVariant[];
}

export async function runCallEconomy(ctx: RunContext): Promise<CallEconomyResult> {
  const variants: EconomyVariant[] = [await economyVariant(ctx, false, 'memory'), await economyVariant(ctx, true, 'memory')];
  if (ctx.options.redis) {
    if (await ctx.redisAvailable()) variants.push(await economyVariant(ctx, true, 'redis'));
    else ctx.log(`Redis at ${redactUrl(ctx.options.redisUrl)} is not reachable: the call economy on Redis is skipped`);
  }
  return { requests: ctx.options.economyRequests, rate: ctx.options.economyRate, workspaces: WORKSPACES, seed: SEED, mix: { ...ECONOMY_MIX }, retriedShare: RETRIED_SHARE, ttlSeconds: TTL_SECONDS, variants };
}

interface SandboxStats {
  byOperation: Record<string, number>;
  byStatus: Record<string, Record<string, number>>;
  metered: Record<string, Record<string, number>>;
}

async function economyVariant(ctx: RunContext, economy: boolean, stores: 'memory' | 'redis'): Promise<EconomyVariant> {
  const gatewayCount = stores === 'redis' ? 2 : 1;
  const label = economy ? `cache + Idempotency-Key (${stores}${gatewayCount > 1 ? `, ${gatewayCount} instances` : ''})` : 'neither';
  const started: Array<ForkedChild | GatewayChild> = [];
  const pools: Pool[] = [];
  try {
    const sandbox = await ctx.startSandbox();
    started.push(sandbox);
    const prefix = stores === 'redis' ? ctx.redisPrefix('economy') : undefined;
    for (let i = 0; i < gatewayCount; i++) {
      const gateway = await ctx.startGateway({
        name: `economy-${economy ? 'on' : 'off'}-${stores}`,
        upstreamUrl: sandbox.url,
        redisPrefix: prefix,
        app: { appKey: seeded.apps.full.appKey, appSecret: seeded.apps.full.appSecret },
        cache: economy ? CACHED : undefined,
      });
      started.push(gateway);
      pools.push(new Pool(gateway.url, { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 60_000 }));
    }
    const authorization = `Bearer ${benchApiKey(0)}`;
    const alice = seeded.users.alice.unionId;

    // The Knowledge Bases of the workload, hottest first.
    const workspaceIds: string[] = [];
    for (let i = 0; i < WORKSPACES; i++) {
      const answer = await pools[0]!.request({
        method: 'POST',
        path: `/v2.0/wiki/workspaces?operatorId=${encodeURIComponent(alice)}`,
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Economy ${i}` }),
      });
      const body = (await answer.body.json()) as { workspace?: { workspaceId: string } };
      if (answer.statusCode !== 200 || !body.workspace) throw new Error(`creating the workload's Knowledge Bases: ${answer.statusCode} ${JSON.stringify(body)}`);
      workspaceIds.push(body.workspace.workspaceId);
    }
    const workload = callEconomyWorkload({ requests: ctx.options.economyRequests, workspaceIds, operatorIds: [alice, seeded.users.bob.unionId], seed: SEED, retriedShare: RETRIED_SHARE });
    const before = await sandbox.ask<SandboxStats>('stats');

    const latencies = new Map<string, number[]>();
    const statuses: Record<string, number> = {};
    const answers: Record<string, number> = {};
    let callerRequests = 0;
    const send = async (request: CallerRequest, index: number, pool: Pool): Promise<void> => {
      const headers: Record<string, string> = { authorization, accept: 'application/json' };
      if (request.method === 'POST') {
        headers['content-type'] = 'application/json';
        if (economy) headers['idempotency-key'] = `economy-${index}`;
      }
      const t0 = performance.now();
      let status: string;
      let answerClass: AnswerClass | undefined;
      try {
        const answer = await pool.request({ method: request.method, path: request.path, headers, body: request.body, headersTimeout: 30_000, bodyTimeout: 30_000 });
        if (answer.statusCode < 300) {
          await answer.body.dump();
          status = String(answer.statusCode);
        } else {
          // A refusal is told by its code: e.g. a doc's second try, refused as a name conflict.
          const body = (await answer.body.json().catch(() => ({}))) as { code?: string };
          status = `${answer.statusCode} ${body.code ?? ''}`.trim();
        }
        answerClass = classify(request, answer.headers);
      } catch (error) {
        status = (error as { code?: string }).code ?? 'error';
      }
      callerRequests += 1;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (answerClass) {
        answers[answerClass] = (answers[answerClass] ?? 0) + 1;
        const latencyKey = `${request.operationId}\u0000${answerClass}`;
        let list = latencies.get(latencyKey);
        if (!list) latencies.set(latencyKey, (list = []));
        list.push(performance.now() - t0);
      }
    };

    const intervalMs = 1_000 / ctx.options.economyRate;
    const t0 = performance.now();
    await Promise.all(
      workload.map(async (request, i) => {
        const wait = t0 + i * intervalMs - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        await send(request, i, pools[i % pools.length]!);
        // The caller did not see the first answer: the same request again, through the next instance.
        if (request.sentTwice) await send(request, i, pools[(i + 1) % pools.length]!);
      }),
    );
    const elapsedMs = performance.now() - t0;
    const after = await sandbox.ask<SandboxStats>('stats');

    const dingtalkCalls: Record<string, number> = {};
    let tokenFetches = 0;
    for (const [operation, count] of Object.entries(after.byOperation)) {
      const made = count - (before.byOperation[operation] ?? 0);
      if (made === 0) continue;
      if (TOKEN_OPERATIONS.has(operation)) tokenFetches += made;
      else dingtalkCalls[operation] = made;
    }
    const dingtalkCallsTotal = Object.values(dingtalkCalls).reduce((a, b) => a + b, 0);
    const createdOk = (stats: SandboxStats) => ['addWorkspace', 'createWorkspaceDoc'].reduce((sum, op) => sum + (stats.byStatus[op]?.['200'] ?? 0), 0);
    const createsMade = createdOk(after) - createdOk(before);
    const createsIntended = workload.filter((r) => r.method === 'POST').length;
    const latencyMs: EconomyVariant['latencyMs'] = {};
    for (const [latencyKey, list] of [...latencies].sort(([a], [b]) => a.localeCompare(b))) {
      const [operationId, answerClass] = latencyKey.split('\u0000') as [string, AnswerClass];
      (latencyMs[operationId] ??= {})[answerClass] = summarizeLatencies(Float64Array.from(list));
    }
    const result: EconomyVariant = {
      label,
      economy,
      stores,
      gateways: gatewayCount,
      callerRequests,
      statuses,
      dingtalkCalls,
      dingtalkCallsTotal,
      tokenFetches,
      meteredCalls: sumMetered(after) - sumMetered(before),
      callsPerCallerRequest: dingtalkCallsTotal / callerRequests,
      createsIntended,
      createsMade,
      duplicates: createsMade - createsIntended,
      answers,
      latencyMs,
      elapsedMs,
      requestsPerSecond: callerRequests / (elapsedMs / 1_000),
    };
    ctx.log(
      `  ${label}: ${callerRequests} caller requests → ${dingtalkCallsTotal} DingTalk calls (${result.callsPerCallerRequest.toFixed(3)} per request; metered ${result.meteredCalls}), ${result.duplicates} duplicate creates; answers ${JSON.stringify(answers)}; statuses ${JSON.stringify(statuses)}; ${result.requestsPerSecond.toFixed(0)} req/s over ${elapsedMs.toFixed(0)} ms`,
    );
    return result;
  } finally {
    for (const pool of pools) await pool.destroy();
    for (const child of started.reverse()) await child.stop();
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** The answer's class, from RFC 9211's `Cache-Status` and the draft's `Idempotent-Replayed`. */
export function classify(request: Pick<CallerRequest, 'method'>, headers: Record<string, string | string[] | undefined>): AnswerClass {
  if (request.method === 'POST') return header(headers, 'idempotent-replayed') === 'true' ? 'write replayed' : 'write';
  const cacheStatus = header(headers, 'cache-status');
  if (/;\s*hit\b/.test(cacheStatus)) return 'read from the cache';
  if (/;\s*collapsed\b/.test(cacheStatus)) return 'read, waited for another caller';
  return 'read from DingTalk';
}

function sumMetered(stats: SandboxStats): number {
  let total = 0;
  for (const months of Object.values(stats.metered)) for (const count of Object.values(months)) total += count;
  return total;
}
