/**
 * Reading a seed file from disk (Node only; the rest of the app is Web-standard).
 *
 * ```ts
 * const seed = readSeedFile(process.env.SANDBOX_SEED ?? DEFAULT_SEED_FILE);
 * ```
 */
import { readFileSync } from 'node:fs';
import { type Seed, parseSeed } from './seed.js';

/** fixtures/ sits beside src/ and dist/, and this file one level below them: both resolve. */
export const DEFAULT_SEED_FILE = new URL('../../fixtures/seed.yaml', import.meta.url);

export function readSeedFile(file: string | URL = DEFAULT_SEED_FILE): Seed {
  return parseSeed(readFileSync(file, 'utf8'));
}
