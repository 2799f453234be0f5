/**
 * Revoked API keys shared by every instance through Redis: one set of SHA-256 hashes
 * (`<keyPrefix>revoked-keys`). `dingtalk-gateway revoke` and a reload that drops a key add to it;
 * each instance reads it every `pollMs` (500 ms: a revocation reaches every instance within about
 * that, well inside 2 s) and refuses those keys as unknown ones. Reading the whole set keeps it
 * simple and self-healing (nothing is missed while an instance is away from Redis, as a pub/sub
 * message would be); it stays small, a hash per revoked key. While Redis does not answer, the
 * last set read stays in force. A revoked hash stays revoked: a key is not reinstated, a new one
 * is minted.
 *
 * ```ts
 * const revoked = new RedisRevokedKeys({ redis, prefix: 'dtg:', onRevoked: (hash) => log(hash) });
 * await revokeKeys(redis, 'dtg:', [sha256]);
 * ```
 */
import type { Redis } from 'ioredis';
import type { RevokedKeys } from '../../core/keys/revoked.js';

export const REVOCATION_POLL_MS = 500;
const revokedSet = (prefix: string) => `${prefix}revoked-keys`;

export class RedisRevokedKeys implements RevokedKeys {
  #hashes = new Set<string>();
  #timer: ReturnType<typeof setInterval>;
  #reading = false;

  constructor(private readonly options: { redis: Redis; prefix: string; pollMs?: number; onRevoked?: (sha256: string) => void }) {
    this.#timer = setInterval(() => void this.refresh(), options.pollMs ?? REVOCATION_POLL_MS);
    this.#timer.unref();
  }

  has(sha256: string): boolean {
    return this.#hashes.has(sha256);
  }

  /** Reads the set now (also at start, before serving). */
  async refresh(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    try {
      const hashes = await this.options.redis.smembers(revokedSet(this.options.prefix));
      for (const hash of hashes) {
        if (this.#hashes.has(hash)) continue;
        this.#hashes.add(hash);
        this.options.onRevoked?.(hash);
      }
    } catch {
      // Redis away: the last set read stays in force (its outage is reported by the other stores).
    } finally {
      this.#reading = false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

/** Adds `hashes` to the shared set; resolves with how many were not revoked before. */
export async function revokeKeys(redis: Redis, prefix: string, hashes: readonly string[]): Promise<number> {
  if (hashes.length === 0) return 0;
  return redis.sadd(revokedSet(prefix), ...hashes);
}
