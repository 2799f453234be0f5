/**
 * Keys revoked while the gateway runs, before (or without) their removal from every instance's
 * config: by their SHA-256. The authenticate step refuses them as it refuses an unknown key.
 * The Node adapter keeps this set from Redis (`adapters/node/revocations.ts`), shared by every
 * instance; with none, nothing is revoked but by a reload.
 */
export interface RevokedKeys {
  has(sha256: string): boolean;
}
