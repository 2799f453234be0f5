/**
 * Token storm: a gateway that has no DingTalk token yet gets N requests at once, all needing
 * the token. The token endpoint answers after a delay, so every request arrives while the
 * first fetch is in flight. Counted three ways: at the upstream (the truth), in the gateways'
 * `dtg_token_fetches_total`, and in the access log (how many requests waited for a fetch rather
 * than finding the token cached).
 *
 * Memory stores: one gateway, N requests. Redis stores: two gateways sharing one Redis,
 * N/2 requests each at the same moment: still one fetch in total.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import type { ForkedChild, GatewayChild } from '../children.js';
import type { RunContext } from '../context.js';
import { redactUrl } from '../options.js';
import { benchApiKey } from '../gateway-config.js';
import { OPERATIONS, requestHeaders } from '../load.js';

/** Long enough for every request of the storm to reach the gateway while the first fetch is pending. */
const TOKEN_DELAY_MS = 300;

export interface StormVariant {
  stores: 'memory' | 'redis';
  gateways: number;
  requests: number;
  /** Answers by status. */
  statuses: Record<string, number>;
  /** Token requests the upstream received: the number that matters. */
  upstreamTokenFetches: number;
  /** Sum of the gateways' dtg_token_fetches_total. */
  metricTokenFetches: number;
  /** Requests whose access-log line says the token was not served from the cache (they waited for the fetch). */
  waitedForFetch: number;
  elapsedMs: number;
  exactlyOne: boolean;
}

export interface StormResult {
  tokenDelayMs: number;
  variants: StormVariant[];
}

export async function runTokenStorm(ctx: RunContext): Promise<StormResult> {
  const variants: StormVariant[] = [await stormVariant(ctx, 'memory')];
  if (ctx.options.redis) {
    if (await ctx.redisAvailable()) variants.push(await stormVariant(ctx, 'redis'));
    else ctx.log(`Redis at ${redactUrl(ctx.options.redisUrl)} is not reachable: the Redis token storm is skipped`);
  }
  return { tokenDelayMs: TOKEN_DELAY_MS, variants };
}

async function stormVariant(ctx: RunContext, stores: 'memory' | 'redis'): Promise<StormVariant> {
  const n = ctx.options.stormRequests;
  const started: Array<ForkedChild | GatewayChild> = [];
  const pools: Pool[] = [];
  try {
    const upstream = await ctx.startUpstream({ tokenDelayMs: TOKEN_DELAY_MS });
    started.push(upstream);
    const prefix = stores === 'redis' ? ctx.redisPrefix('storm') : undefined;
    const gatewayCount = stores === 'redis' ? 2 : 1;
    const gateways: GatewayChild[] = [];
    for (let i = 0; i < gatewayCount; i++) {
      const gateway = await ctx.startGateway({ name: `storm-${stores}`, upstreamUrl: upstream.url, redisPrefix: prefix });
      started.push(gateway);
      gateways.push(gateway);
    }
    const before = (await upstream.ask<{ tokenFetches: number }>('stats')).tokenFetches;

    // One connection per request, opened (and proven) before the storm, so the requests arrive
    // together instead of queueing behind connection setup.
    const share = (i: number) => Math.floor(n / gatewayCount) + (i < n % gatewayCount ? 1 : 0);
    for (const [i, gateway] of gateways.entries()) {
      const pool = new Pool(gateway.url, { connections: share(i), pipelining: 1, keepAliveTimeout: 60_000 });
      pools.push(pool);
      await Promise.all(
        Array.from({ length: share(i) }, async () => {
          const answer = await pool.request({ method: 'GET', path: '/healthz' });
          await answer.body.dump();
        }),
      );
    }

    const operation = OPERATIONS[0]!;
    const headers = requestHeaders(operation, benchApiKey(0));
    const statuses: Record<string, number> = {};
    const t0 = performance.now();
    await Promise.all(
      pools.flatMap((pool, i) =>
        Array.from({ length: share(i) }, async () => {
          let status: string;
          try {
            const answer = await pool.request({ method: 'GET', path: operation.path, headers, headersTimeout: 30_000, bodyTimeout: 30_000 });
            await answer.body.dump();
            status = String(answer.statusCode);
          } catch (error) {
            status = (error as { code?: string }).code ?? 'error';
          }
          statuses[status] = (statuses[status] ?? 0) + 1;
        }),
      ),
    );
    const elapsedMs = performance.now() - t0;

    const upstreamTokenFetches = (await upstream.ask<{ tokenFetches: number }>('stats')).tokenFetches - before;
    let metricTokenFetches = 0;
    for (const gateway of gateways) metricTokenFetches += await tokenFetchMetric(gateway.metricsUrl);
    for (const pool of pools) await pool.close();
    pools.length = 0;
    // Stopped before reading the logs, so every line is written.
    for (const gateway of gateways) await gateway.stop();
    let waitedForFetch = 0;
    for (const gateway of gateways) waitedForFetch += countLines(gateway.logFile, '"tokenCached":false');

    const result: StormVariant = {
      stores,
      gateways: gatewayCount,
      requests: n,
      statuses,
      upstreamTokenFetches,
      metricTokenFetches,
      waitedForFetch,
      elapsedMs,
      exactlyOne: upstreamTokenFetches === 1,
    };
    ctx.log(
      `  token storm (${stores}, ${gatewayCount} gateway${gatewayCount > 1 ? 's' : ''}): ${n} cold requests → ${upstreamTokenFetches} token fetch${upstreamTokenFetches === 1 ? '' : 'es'} at the upstream (metrics: ${metricTokenFetches}); ${waitedForFetch} requests waited for it; statuses ${JSON.stringify(statuses)}; ${elapsedMs.toFixed(0)} ms`,
    );
    return result;
  } finally {
    for (const pool of pools) await pool.destroy();
    for (const child of started.reverse()) await child.stop();
  }
}

async function tokenFetchMetric(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) })).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('dtg_token_fetches_total{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

function countLines(file: string, needle: string): number {
  let count = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) if (line.includes(needle)) count += 1;
  return count;
}
