/**
 * API keys: `dtg_` and 32 random bytes in base64url (256 bits), shown once when minted. Only
 * the SHA-256 of a key is ever stored, so a leaked config holds no usable key. A fast hash is
 * right here (unlike for passwords): the keys are random, not guessable.
 */
import { createHash, randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'dtg_';

export function mintApiKey(): { key: string; sha256: string } {
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, sha256: sha256Hex(key) };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export { sha256HexWeb } from '../../core/keys/sha256-web.js';
