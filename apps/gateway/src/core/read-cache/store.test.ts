/**
 * The read cache's stores, memory and Redis, against the same rules (`interface.ts`).
 */
import { checkRedis, redisForTests } from '@dingtalk-gateway/test-support';
import { describe, expect, it, vi } from 'vitest';
import type { CachedAnswer, ReadCacheStore } from './interface.js';
import { MemoryReadCacheStore } from './memory.js';
import { RedisReadCacheStore } from './redis.js';

const unreachable = await checkRedis();
const bytes = (text: string) => new TextEncoder().encode(text);
const answer = (fetchedAt: number, scopes: string[], body = '{"workspace":{}}'): CachedAnswer => ({
  body: bytes(body),
  headers: [['content-type', 'application/json;charset=utf-8'], ['x-acs-request-id', 'r-1']],
  storedAt: 1_000_000,
  fetchedAt,
  scopes,
});

function behavesAsAReadCacheStore(make: () => ReadCacheStore) {
  it('keeps an answer, bytes and headers as given', async () => {
    const store = make();
    const body = new Uint8Array([0xe9, 0x92, 0x89, 0x00, 0xff, 0x7b]); // not all UTF-8: bytes, not text
    await store.set('app|getWorkspace|workspaceId=ws1|', { ...answer(await store.sequence(), ['org|getWorkspace']), body }, 60_000);
    const kept = await store.get('app|getWorkspace|workspaceId=ws1|');
    expect(kept).toEqual({ ...answer(0, ['org|getWorkspace']), body, fetchedAt: kept!.fetchedAt });
    expect(await store.get('app|getWorkspace|workspaceId=ws2|')).toBeUndefined();
  });

  it('drops what an invalidation of one of its scopes concerns, and only that', async () => {
    const store = make();
    const at = await store.sequence();
    await store.set('a', answer(at, ['org|getWorkspace', 'org|getWorkspace|workspaceId=ws1']), 60_000);
    await store.set('b', answer(at, ['org|getWorkspace', 'org|getWorkspace|workspaceId=ws2']), 60_000);
    await store.set('c', answer(at, ['org|listWorkspaces']), 60_000);
    await store.invalidate(['org|getWorkspace|workspaceId=ws1']);
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('b')).toBeDefined();
    expect(await store.get('c')).toBeDefined();
    await store.invalidate(['org|listWorkspaces', 'other|getWorkspace']);
    expect(await store.get('c')).toBeUndefined();
    expect(await store.get('b')).toBeDefined();
  });

  it('never keeps an answer fetched before an invalidation of its scopes, even if it arrives after', async () => {
    const store = make();
    const fetchedAt = await store.sequence();
    await store.invalidate(['org|getWorkspace|workspaceId=ws1']);
    expect(await store.staleSince(['org|getWorkspace|workspaceId=ws1'], fetchedAt)).toBe(true);
    expect(await store.staleSince(['org|getWorkspace|workspaceId=ws2'], fetchedAt)).toBe(false);
    await store.set('late', answer(fetchedAt, ['org|getWorkspace', 'org|getWorkspace|workspaceId=ws1']), 60_000);
    expect(await store.get('late')).toBeUndefined();
    // Fetched after it: kept.
    await store.set('late', answer(await store.sequence(), ['org|getWorkspace', 'org|getWorkspace|workspaceId=ws1']), 60_000);
    expect(await store.get('late')).toBeDefined();
  });
}

describe('MemoryReadCacheStore', () => {
  behavesAsAReadCacheStore(() => new MemoryReadCacheStore({ maxEntries: 100, maxBytes: 1 << 20, keepInvalidationsMs: 60_000 }));

  it('is bounded by entries and bytes, least recently used out first', () => {
    const store = new MemoryReadCacheStore({ maxEntries: 3, maxBytes: 1_000, keepInvalidationsMs: 60_000 });
    for (const key of ['a', 'b', 'c']) store.set(key, answer(0, []), 60_000);
    store.get('a');
    store.set('d', answer(0, []), 60_000);
    expect(['a', 'b', 'c', 'd'].map((key) => store.get(key) !== undefined)).toEqual([true, false, true, true]);
    store.set('big', answer(0, [], 'x'.repeat(700)), 60_000);
    expect(store.get('big')).toBeDefined();
    expect(store.size).toBeLessThanOrEqual(2);
    store.set('huge', answer(0, [], 'x'.repeat(2_000)), 60_000);
    expect(store.get('huge')).toBeUndefined();
  });

  it('forgets invalidations once no entry they concern can be left', () => {
    let now = 0;
    const store = new MemoryReadCacheStore({ maxEntries: 10, maxBytes: 1 << 20, keepInvalidationsMs: 1_000, now: () => now });
    store.invalidate(['old']);
    now = 2_000;
    store.invalidate(['new']);
    expect(store.staleSince(['old'], 0)).toBe(false);
    expect(store.staleSince(['new'], 0)).toBe(true);
  });
});

describe.skipIf(unreachable)('RedisReadCacheStore', () => {
  const redis = redisForTests('dtg-test:cache:');
  let n = 0;
  const make = (options: Partial<ConstructorParameters<typeof RedisReadCacheStore>[0]> = {}) =>
    new RedisReadCacheStore({ redis: redis.admin, prefix: `dtg-test:cache:${process.pid}:${++n}:`, keepInvalidationsMs: 60_000, lockMs: 1_000, timeoutMs: 1_000, ...options });

  behavesAsAReadCacheStore(() => make());

  it('lets one instance lead the fetch of a key at a time', async () => {
    const prefix = `dtg-test:cache:${process.pid}:lock:`;
    const [a, b] = [make({ prefix }), make({ prefix })];
    expect(await a.lead('k')).toBe(true);
    expect(await b.lead('k')).toBe(false);
    expect(await b.leading('k')).toBe(true);
    await a.release('k');
    expect(await b.leading('k')).toBe(false);
    expect(await b.lead('k')).toBe(true);
  });

  it('serves nothing while an invalidation is owed, and retires every entry once it can be made', async () => {
    const prefix = `dtg-test:cache:${process.pid}:owed:`;
    const shared = make({ prefix });
    await shared.set('kept', answer(await shared.sequence(), ['org|listWorkspaces']), 60_000);
    // An instance whose Redis calls fail for a while: its invalidation cannot be made. (Probed on
    // every call, so that the first call after Redis is back reaches it.)
    const down = redis.client();
    const flaky = new RedisReadCacheStore({ redis: down, prefix, keepInvalidationsMs: 60_000, lockMs: 1_000, timeoutMs: 200, probeIntervalMs: 0 });
    down.disconnect();
    await flaky.invalidate(['org|listWorkspaces']);
    expect(await flaky.get('kept')).toBeUndefined();
    await down.connect();
    // Redis back: the owed invalidation is made as a new epoch, and no instance serves the old entry.
    expect(await flaky.get('kept')).toBeUndefined();
    expect(await shared.get('kept')).toBeUndefined();
    await shared.set('kept', answer(await shared.sequence(), ['org|listWorkspaces']), 60_000);
    expect(await flaky.get('kept')).toBeDefined();
  });

  it('while Redis is down, misses at once, asks Redis once per probe interval, and reports the outage once', async () => {
    const down = redis.client();
    const events: string[] = [];
    const clock = { t: 0, now() { return this.t; } };
    const flaky = make({ redis: down, clock, onTrip: (error) => events.push(`trip:${error.reason}`), onRecover: () => events.push('recover') });
    await flaky.set('k', answer(await flaky.sequence(), ['org|getWorkspace']), 60_000);
    down.disconnect();
    const sent = vi.spyOn(down, 'get');
    expect(await flaky.sequence()).toBe(0); // missed: the first failure trips the circuit
    for (let i = 0; i < 10; i++) expect(await flaky.sequence()).toBe(0);
    expect(sent).toHaveBeenCalledTimes(1); // not asked again before the probe is due
    await down.connect();
    clock.t = 1_000;
    expect(await flaky.get('k')).toBeDefined(); // the probe reaches Redis: back on it
    expect(events).toEqual(['trip:error', 'recover']);
  });
});

