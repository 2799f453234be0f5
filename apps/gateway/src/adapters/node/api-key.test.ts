import { describe, expect, it } from 'vitest';
import { API_KEY_PREFIX, mintApiKey, sha256Hex, sha256HexWeb } from './api-key.js';

const KEY_FORMAT = /^dtg_[A-Za-z0-9_-]{43}$/;

describe('mintApiKey', () => {
  it('mints "dtg_" + 43 base64url characters: 32 random bytes, 256 bits', () => {
    const { key } = mintApiKey();
    expect(API_KEY_PREFIX).toBe('dtg_');
    expect(key).toMatch(KEY_FORMAT);
    const bytes = Buffer.from(key.slice(API_KEY_PREFIX.length), 'base64url');
    expect(bytes).toHaveLength(32);
    // Canonical base64url: the encoding round-trips, so no two spellings name one key.
    expect(bytes.toString('base64url')).toBe(key.slice(API_KEY_PREFIX.length));
  });

  it('returns the SHA-256 of the key as the config stores it, equal to both hash functions', async () => {
    const { key, sha256 } = mintApiKey();
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(sha256).toBe(sha256Hex(key));
    expect(sha256).toBe(await sha256HexWeb(key));
  });

  it('never mints the same key twice, and spreads bits over the whole key', () => {
    const keys = Array.from({ length: 2_000 }, () => mintApiKey());
    expect(new Set(keys.map((k) => k.key)).size).toBe(keys.length);
    expect(new Set(keys.map((k) => k.sha256)).size).toBe(keys.length);
    // Every base64url position varies (a constant position would mean fewer than 256 bits).
    for (let i = API_KEY_PREFIX.length; i < API_KEY_PREFIX.length + 43; i++) {
      expect(new Set(keys.map((k) => k.key[i])).size, `position ${i}`).toBeGreaterThan(1);
    }
  });
});

describe('sha256Hex / sha256HexWeb', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    // The documented key of config/sandbox.example.yaml.
    ['dtg_sandbox_example_key_not_for_production', '21993d2285326322caab42ff2a1a8cf533d043514191470bdd9d9cc55b18a8f0'],
  ])('hash %j to its known digest', async (text, digest) => {
    expect(sha256Hex(text)).toBe(digest);
    expect(await sha256HexWeb(text)).toBe(digest);
  });

  it('agree on non-ASCII text (both hash its UTF-8 bytes)', async () => {
    for (const text of ['clé', '钉钉', '😀', 'a\u0000b', 'x'.repeat(10_000)]) {
      expect(await sha256HexWeb(text)).toBe(sha256Hex(text));
      expect(sha256Hex(text)).toBe(Buffer.from(await crypto.subtle.digest('SHA-256', Buffer.from(text, 'utf8'))).toString('hex'));
    }
  });
});
