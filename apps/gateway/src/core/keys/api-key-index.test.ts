import { describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { buildTenants } from '../tenants.js';
import { createApiKeyIndex } from './api-key-index.js';
import { mintApiKey, sha256Hex, sha256HexWeb } from '../../adapters/node/api-key.js';

const tenant = (app: string, sha256s: string[]) => ({
  name: app,
  app,
  apiKeys: sha256s.map((sha256) => ({ sha256 })),
  scopes: ['Wiki.Workspace.Read'],
  rateLimit: { rate: 1, burst: 1 },
});

function setup(hash: (text: string) => string | Promise<string> = sha256Hex) {
  const keys = { current: mintApiKey(), previous: mintApiKey(), other: mintApiKey() };
  const config = configSchema.parse({
    apps: { bot: { type: 'internal', appKey: 'k', appSecretEnv: 'S' } },
    tenants: { team: tenant('bot', [keys.current.sha256, keys.previous.sha256]), other: tenant('bot', [keys.other.sha256]) },
  });
  const tenants = buildTenants(config);
  const spy = vi.fn(hash);
  return { index: createApiKeyIndex(config, tenants, spy), keys, tenants, hash: spy };
}

describe('createApiKeyIndex', () => {
  it('finds the tenant of a key by its hash, the very Tenant object of the map', async () => {
    const { index, keys, tenants } = setup();
    expect(await index.lookup(keys.current.key)).toBe(tenants.get('team'));
    expect(await index.lookup(keys.other.key)).toBe(tenants.get('other'));
  });

  it('answers at once, without a promise, for a key proven valid before (and with a synchronous hash)', async () => {
    const web = setup(sha256HexWeb);
    expect(web.index.lookup(web.keys.current.key)).toBeInstanceOf(Promise);
    expect(await web.index.lookup(web.keys.current.key)).toBe(web.tenants.get('team'));
    expect(web.index.lookup(web.keys.current.key)).toBe(web.tenants.get('team'));
    const node = setup(sha256Hex);
    expect(node.index.lookup(node.keys.other.key)).toBe(node.tenants.get('other'));
  });

  it('accepts each of several keys of one tenant (rotation)', async () => {
    const { index, keys, tenants } = setup();
    expect(await index.lookup(keys.previous.key)).toBe(tenants.get('team'));
    expect(await index.lookup(keys.current.key)).toBe(tenants.get('team'));
  });

  it('answers undefined for an unknown key, and for the hash itself sent as a key', async () => {
    const { index, keys } = setup();
    expect(await index.lookup(mintApiKey().key)).toBeUndefined();
    expect(await index.lookup(keys.current.sha256)).toBeUndefined();
    expect(await index.lookup('')).toBeUndefined();
    expect(await index.lookup(keys.current.key + ' ')).toBeUndefined();
  });

  it('works with an asynchronous hash (Web Crypto)', async () => {
    const { index, keys, tenants } = setup(sha256HexWeb);
    expect(await index.lookup(keys.other.key)).toBe(tenants.get('other'));
  });

  it('hashes once per lookup, and not at all for a key over 256 characters', async () => {
    const { index, hash } = setup();
    expect(await index.lookup('x'.repeat(256))).toBeUndefined();
    expect(hash).toHaveBeenCalledTimes(1);
    expect(await index.lookup('x'.repeat(257))).toBeUndefined();
    expect(await index.lookup('x'.repeat(1_000_000))).toBeUndefined();
    expect(hash).toHaveBeenCalledTimes(1);
  });

  it('hashes a valid key once however often it is used, and an unknown key every time (only valid keys are remembered)', async () => {
    const { index, keys, tenants, hash } = setup();
    for (let i = 0; i < 3; i++) expect(await index.lookup(keys.current.key)).toBe(tenants.get('team'));
    expect(hash).toHaveBeenCalledTimes(1);
    const unknown = mintApiKey().key;
    for (let i = 0; i < 3; i++) expect(await index.lookup(unknown)).toBeUndefined();
    expect(hash).toHaveBeenCalledTimes(4);
    expect(await index.lookup(keys.other.key)).toBe(tenants.get('other'));
    expect(await index.lookup(keys.other.key)).toBe(tenants.get('other'));
    expect(hash).toHaveBeenCalledTimes(5);
  });

  it('does not resolve keys to inherited properties', async () => {
    const { index } = setup((text) => text);
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(await index.lookup(name)).toBeUndefined();
  });
});

describe('keys with a validity window (notBefore, expiresAt)', () => {
  const DAY = 86_400_000;
  const start = Date.parse('2027-03-01T00:00:00Z');

  function windowed(window: { notBefore?: string; expiresAt?: string }) {
    const key = mintApiKey();
    const config = configSchema.parse({
      apps: { bot: { type: 'internal', appKey: 'k', appSecretEnv: 'S' } },
      tenants: { team: { ...tenant('bot', []), apiKeys: [{ sha256: key.sha256, label: 'ci', ...window }] } },
    });
    let clock = start;
    const warned: unknown[] = [];
    const index = createApiKeyIndex(config, buildTenants(config), sha256Hex, { now: () => clock, onExpiringKeyUsed: (k) => warned.push(k) });
    return { key: key.key, hash: key.sha256, index, warned, at: (ms: number) => (clock = ms), tenants: buildTenants(config) };
  }

  it('refuses a key from its expiresAt on, as an unknown key, even one seen before', async () => {
    const w = windowed({ expiresAt: '2027-03-31T00:00:00Z' });
    expect((await w.index.lookup(w.key))?.id).toBe('team');
    w.at(Date.parse('2027-03-30T23:59:59.999Z'));
    expect((await w.index.lookup(w.key))?.id).toBe('team');
    w.at(Date.parse('2027-03-31T00:00:00Z'));
    expect(await w.index.lookup(w.key)).toBeUndefined();
  });

  it('refuses a key before its notBefore', async () => {
    const w = windowed({ notBefore: '2027-03-02T00:00:00Z' });
    expect(await w.index.lookup(w.key)).toBeUndefined();
    w.at(start + DAY);
    expect((await w.index.lookup(w.key))?.id).toBe('team');
  });

  it('warns of a key in use within 14 days of its expiry, once a day, with its hash prefix and never the key', async () => {
    const w = windowed({ expiresAt: '2027-03-31T00:00:00Z' });
    await w.index.lookup(w.key);
    expect(w.warned).toEqual([]); // 30 days left
    w.at(Date.parse('2027-03-17T10:00:00Z'));
    await w.index.lookup(w.key);
    await w.index.lookup(w.key);
    expect(w.warned).toEqual([{ tenantId: 'team', hashPrefix: w.hash.slice(0, 12), label: 'ci', expiresAt: '2027-03-31T00:00:00Z' }]);
    w.at(Date.parse('2027-03-18T10:00:00Z'));
    await w.index.lookup(w.key);
    expect(w.warned).toHaveLength(2);
    expect(JSON.stringify(w.warned)).not.toContain(w.key);
  });

  it('takes only instants with a zone, and notBefore before expiresAt', () => {
    const parse = (window: Record<string, string>) =>
      configSchema.safeParse({ apps: { bot: { type: 'internal', appKey: 'k', appSecretEnv: 'S' } }, tenants: { team: { ...tenant('bot', []), apiKeys: [{ sha256: 'a'.repeat(64), ...window }] } } });
    expect(parse({ expiresAt: '2027-03-31T00:00:00Z' }).success).toBe(true);
    expect(parse({ expiresAt: '2027-03-31T08:00:00+08:00' }).success).toBe(true);
    expect(parse({ expiresAt: '2027-03-31' }).error?.issues[0]?.message).toMatch(/ISO 8601 with its zone/);
    expect(parse({ notBefore: '2027-04-01T00:00:00Z', expiresAt: '2027-03-31T00:00:00Z' }).error?.issues[0]?.message).toBe('notBefore must be before expiresAt');
  });
});
