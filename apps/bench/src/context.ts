/**
 * What the scenarios share: the run's temporary directory (configs, access logs, profiles), a
 * way to start the processes under test, and Redis (checked once, cleaned after the run).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type ForkedChild, type GatewayChild, forkProcess, startGatewayProcess } from './children.js';
import { BENCH_APP_SECRET_ENV, benchGatewayConfig } from './gateway-config.js';
import type { BenchOptions, GatewayRuntime } from './options.js';

export class RunContext {
  readonly dir: string;
  readonly profileDir: string;
  /** Every Redis key prefix this run used, deleted at the end. */
  private readonly redisPrefixes: string[] = [];
  private gatewayCount = 0;

  constructor(readonly options: BenchOptions, readonly log: (line: string) => void) {
    this.dir = mkdtempSync(join(tmpdir(), 'dtg-bench-'));
    this.profileDir = join(tmpdir(), 'dtg-bench-profiles');
  }

  /** Upstream connections for both the gateway and the baseline. */
  readonly upstreamConnections = 128;

  startUpstream(options: { tokenDelayMs?: number } = {}): Promise<ForkedChild> {
    return forkProcess('upstream', { BENCH_TOKEN_DELAY_MS: String(options.tokenDelayMs ?? 0) });
  }

  startBaseline(upstreamUrl: string): Promise<ForkedChild> {
    return forkProcess('baseline', { BENCH_UPSTREAM_URL: upstreamUrl, BENCH_UPSTREAM_CONNECTIONS: String(this.upstreamConnections) }, { execArgv: this.profileArgs('baseline') });
  }

  /** The framework floor (`processes/floor.ts`): Hono and the gateway's upstream, no features. */
  startFloor(upstreamUrl: string): Promise<ForkedChild> {
    return forkProcess('floor', { BENCH_UPSTREAM_URL: upstreamUrl, BENCH_UPSTREAM_CONNECTIONS: String(this.upstreamConnections) }, { execArgv: this.profileArgs('floor') });
  }

  /**
   * The fastify peer (`processes/fastify-peer.ts`): fastify, @fastify/http-proxy and
   * @fastify/rate-limit with an API-key check, the bench tenants' keys (one, as the gateway's).
   */
  startFastifyPeer(upstreamUrl: string): Promise<ForkedChild> {
    return forkProcess('fastify-peer', { BENCH_UPSTREAM_URL: upstreamUrl, BENCH_UPSTREAM_CONNECTIONS: String(this.upstreamConnections), BENCH_TENANTS: '1' }, { execArgv: this.profileArgs('fastify-peer') });
  }

  /** `--cpu-prof` flags when profiling (the profile is written when the process exits cleanly). */
  private profileArgs(name: string): string[] {
    if (!this.options.profile) return [];
    mkdirSync(this.profileDir, { recursive: true });
    return ['--cpu-prof', `--cpu-prof-dir=${this.profileDir}`, `--cpu-prof-name=${name}-${Date.now()}-${++this.profileCount}.cpuprofile`];
  }
  private profileCount = 0;

  /** A new Redis key prefix, unique to this run and gateway group. */
  redisPrefix(label: string): string {
    const prefix = `dtg-bench:${process.pid}-${Date.now().toString(36)}-${label}:`;
    this.redisPrefixes.push(prefix);
    return prefix;
  }

  /** The DingTalk sandbox (`processes/sandbox.ts`): the stateful emulator, its limits out of reach. */
  startSandbox(): Promise<ForkedChild> {
    return forkProcess('sandbox', {});
  }

  async startGateway(options: {
    name: string;
    upstreamUrl: string;
    tenants?: number;
    redisPrefix?: string;
    cli?: string;
    /** The DingTalk app, when the upstream checks credentials (the sandbox). */
    app?: { appKey: string; appSecret: string };
    cache?: Readonly<Record<string, number>>;
    /** Default: Node (with `--gateway-node-args` and `--profile`); Bun and Deno with `--gateway-bun-args` / `--gateway-deno-args`. */
    runtime?: GatewayRuntime;
    /** Added to the runtime's flags (a heap setting the scenario measures). */
    runtimeArgs?: readonly string[];
  }): Promise<GatewayChild> {
    const n = ++this.gatewayCount;
    const configFile = join(this.dir, `${options.name}-${n}.yaml`);
    writeFileSync(
      configFile,
      benchGatewayConfig({
        upstreamUrl: options.upstreamUrl,
        tenants: options.tenants,
        upstreamConnections: this.upstreamConnections,
        redis: options.redisPrefix ? { keyPrefix: options.redisPrefix } : undefined,
        appKey: options.app?.appKey,
        cache: options.cache,
      }),
    );
    const runtimeArgs = [...(options.runtime ? this.options.gatewayRuntimeArgs[options.runtime] : [...this.options.gatewayNodeArgs, ...this.profileArgs(options.name)]), ...(options.runtimeArgs ?? [])];
    return startGatewayProcess({
      cli: options.cli,
      configFile,
      logFile: join(this.dir, `${options.name}-${n}.access.log`),
      env: { [BENCH_APP_SECRET_ENV]: options.app?.appSecret ?? 'bench-app-secret', ...(options.redisPrefix ? { REDIS_URL: this.options.redisUrl } : {}) },
      runtimeArgs,
      runtime: options.runtime,
    });
  }

  /** Whether Redis answers PING within 2 s. */
  redisAvailable(): Promise<boolean> {
    return this.withRedis(async (redis) => (await redis.ping()) === 'PONG', () => false);
  }

  /**
   * redis-server's process id, when it runs on this machine (INFO's `process_id` names a
   * `redis-server` in /proc): its CPU per request is measured beside the targets' on Redis.
   */
  redisServerPid(): Promise<number | undefined> {
    return this.withRedis(
      async (redis) => {
        const pid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
        if (!Number.isInteger(pid)) return undefined;
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'redis-server' ? pid : undefined;
      },
      () => undefined,
    );
  }

  /**
   * `use` on a connection of its own to the run's Redis (2 s to connect, no reconnecting),
   * closed afterwards; `failed` answers when it cannot connect or `use` throws.
   */
  private async withRedis<T>(use: (redis: Redis) => Promise<T>, failed: (error: unknown) => T, maxRetriesPerRequest = 0): Promise<T> {
    const redis = new Redis(this.options.redisUrl, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      await redis.connect();
      return await use(redis);
    } catch (error) {
      return failed(error);
    } finally {
      redis.disconnect();
    }
  }

  /** Deletes the run's Redis keys (they expire anyway; a shared Redis should not keep them) and the temporary directory. */
  async cleanup(): Promise<void> {
    if (this.redisPrefixes.length > 0) {
      await this.withRedis(
        async (redis) => {
          for (const prefix of this.redisPrefixes) {
            let cursor = '0';
            let rounds = 0;
            do {
              const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
              if (keys.length > 0) await redis.unlink(...keys);
              cursor = next;
            } while (cursor !== '0' && ++rounds < 10_000);
          }
        },
        (error) => this.log(`could not delete the run's Redis keys (they expire on their own): ${(error as Error).message}`),
        1,
      );
    }
    if (this.options.keepTemp) this.log(`kept ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}
