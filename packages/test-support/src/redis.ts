/**
 * Test support for everything that talks to Redis (limiters, token providers, gateway instances):
 * the real Redis at REDIS_URL
 * (default redis://127.0.0.1:6379), which skips its tests locally when unreachable and fails them
 * when CI=true, plus fake servers for the failure modes a real Redis will not produce on demand.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { deleteKeys } from './redis-keys.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const IN_CI = process.env.CI === 'true';

/**
 * Probe REDIS_URL once and register a test that fails when it is unreachable and CI=true (and is
 * skipped, with a warning, otherwise). Call at the top level of a test file; returns why Redis is
 * unreachable, or undefined, for `describe.skipIf`.
 */
export async function checkRedis(): Promise<string | undefined> {
  const unreachable = await whyUnreachable();
  if (unreachable !== undefined && !IN_CI) {
    console.warn(
      `SKIPPING Redis tests: ${REDIS_URL} is unreachable (${unreachable}). ` +
        'Start Redis or set REDIS_URL; with CI=true this is a failure.',
    );
  }
  it('Redis is reachable at REDIS_URL (required when CI=true)', (ctx) => {
    if (unreachable !== undefined && !IN_CI) ctx.skip();
    expect(unreachable, `Redis at ${REDIS_URL} is unreachable: ${unreachable}`).toBeUndefined();
  });
  return unreachable;
}

async function whyUnreachable(): Promise<string | undefined> {
  const probe = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let socketError: string | undefined; // e.g. ECONNREFUSED; the rejection only says "Connection is closed."
  probe.on('error', (err: Error) => (socketError ??= err.message));
  try {
    await probe.connect();
    await probe.ping();
    return undefined;
  } catch (err) {
    return socketError ?? (err instanceof Error ? err.message : String(err));
  } finally {
    probe.disconnect();
  }
}

export { deleteKeys };

/**
 * Real-Redis clients for the tests of one `describe`: `client()` opens one, `admin` is one for
 * the tests' own reads and writes. After the tests, the keys under `prefix` are deleted and every
 * client is disconnected. Clients open on first use, so a skipped suite connects nothing.
 */
export function redisForTests(prefix: string): { client(options?: RedisOptions): Redis; readonly admin: Redis } {
  const clients: Redis[] = [];
  let admin: Redis | undefined;
  const client = (options: RedisOptions = {}): Redis => {
    const redis = new Redis(REDIS_URL, options);
    clients.push(redis);
    return redis;
  };
  afterAll(async () => {
    // Some test used Redis: clean up after it (with a client of its own if none is left usable).
    if (clients.length > 0) await deleteKeys((admin ??= client()), prefix);
    for (const redis of clients) redis.disconnect();
  });
  return {
    client,
    get admin() {
      return (admin ??= client());
    },
  };
}

export interface FakeServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A server that accepts connections and never replies: a hung Redis. */
export async function hungServer(): Promise<FakeServer> {
  const sockets: Socket[] = [];
  return listen(createServer((socket) => sockets.push(socket)), sockets);
}

/**
 * Runs `use` with a client connected to a hung Redis (`hungServer`): every command stays
 * unanswered. The client and the server are closed afterwards, whatever `use` did.
 */
export async function withHungRedis<T>(use: (redis: Redis) => Promise<T>): Promise<T> {
  const server = await hungServer();
  const hung = new Redis({ host: '127.0.0.1', port: server.port, enableReadyCheck: false, maxRetriesPerRequest: null });
  try {
    return await use(hung);
  } finally {
    hung.disconnect();
    await server.close();
  }
}

/**
 * A client of a Redis that refuses connections (nothing listens on port 1): every command fails
 * at once, with no retry and no offline queue. Call `disconnect()` when done.
 */
export function refusedRedis(): Redis {
  const refused = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  refused.on('error', () => {});
  return refused;
}

export interface NoscriptProxy extends FakeServer {
  /** Answer the next EVALSHA with NOSCRIPT instead of forwarding it. */
  failNextEvalsha(): void;
  /** Names of the commands the client sent, lower-cased, in order. */
  readonly commands: string[];
}

/**
 * A TCP proxy to the Redis at REDIS_URL that can answer one EVALSHA with the exact NOSCRIPT error
 * Redis gives after `SCRIPT FLUSH`, a restart or a failover, without flushing the script cache
 * that other tests on the same Redis rely on. The refusal is written at once, so arm it only while
 * no other command is in flight on the connection (await each call). Plain `redis://` only.
 */
export async function noscriptProxy(): Promise<NoscriptProxy> {
  const upstream = new URL(REDIS_URL);
  const sockets: Socket[] = [];
  const commands: string[] = [];
  let failNext = false;
  const server = createServer((client) => {
    const redis = connect(Number(upstream.port || 6379), upstream.hostname);
    sockets.push(client, redis);
    client.on('error', () => redis.destroy());
    redis.on('error', () => client.destroy());
    redis.pipe(client);
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let next = readCommand(pending); next !== undefined; next = readCommand(pending)) {
        const command = pending.subarray(0, next.end);
        pending = pending.subarray(next.end);
        commands.push(next.name);
        if (next.name === 'evalsha' && failNext) {
          failNext = false;
          client.write('-NOSCRIPT No matching script. Please use EVAL.\r\n');
        } else {
          redis.write(command);
        }
      }
    });
  });
  const fake = await listen(server, sockets);
  return {
    ...fake,
    commands,
    failNextEvalsha() {
      failNext = true;
    },
  };
}

/**
 * The first complete command in `buf` (RESP: `*<argc>` then `$<len>` + bytes per argument, the
 * only form ioredis sends): its length in bytes and its lower-cased name, or undefined if `buf`
 * does not hold a whole command yet.
 */
function readCommand(buf: Buffer): { end: number; name: string } | undefined {
  let pos = 0;
  const line = (): string | undefined => {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return undefined;
    const text = buf.toString('latin1', pos, eol);
    pos = eol + 2;
    return text;
  };
  const header = line();
  if (header === undefined) return undefined;
  if (header[0] !== '*') throw new Error(`noscriptProxy: unexpected client data ${JSON.stringify(header)}`);
  let name = '';
  for (let i = 0, argc = Number(header.slice(1)); i < argc; i++) {
    const size = line();
    if (size === undefined) return undefined;
    const length = Number(size.slice(1));
    if (buf.length < pos + length + 2) return undefined;
    if (i === 0) name = buf.toString('latin1', pos, pos + length).toLowerCase();
    pos += length + 2;
  }
  return { end: pos, name };
}

/** A client with REDIS_URL's credentials and database, connected through a local port (a proxy). */
export function clientVia(port: number): Redis {
  const url = new URL(REDIS_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return new Redis(url.toString(), { enableReadyCheck: false });
}

async function listen(server: Server, sockets: Socket[]): Promise<FakeServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
