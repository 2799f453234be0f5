/**
 * Idempotency records shared by every instance: one hash per tenant and key,
 * `<prefix>idem:<tenant>|<key>`, begun with one atomic script (of two instances receiving the
 * same key at once, one begins it), finished in place, each kept its TTL.
 *
 * If Redis cannot answer, a request with a key is refused with `503 gateway.unavailable` rather
 * than sent unguarded: sending it could create twice what the key was there to create once.
 *
 * ```ts
 * const store = new RedisIdempotencyStore({ redis, prefix: 'dtg:' });
 * ```
 */
import { callRedis, defineScript } from '@dingtalk-gateway/rate-limiter/redis';
import type { Redis } from 'ioredis';
import type { IdempotencyRecord, IdempotencyStore } from './interface.js';

/** KEYS[1] the record; ARGV: fingerprint, startedAt, ttl ms. Nothing if begun, else the record's fields. */
const BEGIN_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HMGET', KEYS[1], 'state', 'fingerprint', 'startedAt', 'status', 'headers', 'body', 'why')
end
redis.call('HSET', KEYS[1], 'state', 'inFlight', 'fingerprint', ARGV[1], 'startedAt', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return nil
`;

type BeginCommand = (key: string, fingerprint: string, startedAt: number, ttlMs: number) => Promise<Array<Buffer | null> | null>;

export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #begin: BeginCommand;

  constructor(options: { redis: Redis; prefix?: string; timeoutMs?: number }) {
    this.#redis = options.redis;
    this.#prefix = `${options.prefix ?? 'dtg:'}idem:`;
    this.#timeoutMs = options.timeoutMs ?? 50;
    defineScript<BeginCommand>(this.#redis, 'dtgIdempotencyBeginV1', 1, BEGIN_SCRIPT);
    // The Buffer variant: a kept answer's body is bytes.
    this.#begin = (this.#redis as unknown as Record<string, BeginCommand>).dtgIdempotencyBeginV1Buffer!.bind(this.#redis);
  }

  async begin(key: string, fingerprint: string, now: number, ttlMs: number): Promise<IdempotencyRecord | undefined> {
    const fields = await callRedis(() => this.#begin(this.#prefix + key, fingerprint, now, Math.ceil(ttlMs)), this.#timeoutMs, 'idempotency records');
    if (fields === null) return undefined;
    const [state, seenFingerprint, startedAt, status, headers, body, why] = fields.map((field) => field ?? undefined);
    const text = (field: Buffer | undefined) => field?.toString('utf8') ?? '';
    switch (text(state)) {
      case 'done':
        return {
          state: 'done',
          fingerprint: text(seenFingerprint),
          answer: { status: Number(text(status)), headers: JSON.parse(text(headers) || '[]') as Array<[string, string]>, body: body ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : new Uint8Array() },
        };
      case 'unknown':
        return { state: 'unknown', fingerprint: text(seenFingerprint), why: text(why) };
      default:
        return { state: 'inFlight', fingerprint: text(seenFingerprint), startedAt: Number(text(startedAt)) };
    }
  }

  async finish(key: string, record: Extract<IdempotencyRecord, { state: 'done' | 'unknown' }>, ttlMs: number): Promise<void> {
    const fields: Array<string | Buffer> =
      record.state === 'done'
        ? ['state', 'done', 'fingerprint', record.fingerprint, 'status', String(record.answer.status), 'headers', JSON.stringify(record.answer.headers), 'body', Buffer.from(record.answer.body.buffer, record.answer.body.byteOffset, record.answer.body.byteLength)]
        : ['state', 'unknown', 'fingerprint', record.fingerprint, 'why', record.why];
    await callRedis(() => this.#redis.multi().hset(this.#prefix + key, ...fields).pexpire(this.#prefix + key, Math.ceil(ttlMs)).exec(), this.#timeoutMs, 'idempotency records');
  }

  async abandon(key: string): Promise<void> {
    await callRedis(() => this.#redis.del(this.#prefix + key), this.#timeoutMs, 'idempotency records');
  }
}
