import { CACHE_NAME } from '@dingtalk-gateway/gateway';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '@dingtalk-gateway/test-support/random';
import { ECONOMY_MIX, callEconomyWorkload, zipfPicker } from './call-economy-workload.js';
import { classify } from './call-economy.js';

const workspaceIds = Array.from({ length: 40 }, (_, i) => `ws${i}`);
const operatorIds = ['alice', 'bob'];

describe('the call-economy workload', () => {
  it('is the same list for the same seed, and another for another seed', () => {
    const one = callEconomyWorkload({ requests: 500, workspaceIds, operatorIds, seed: 1 });
    expect(callEconomyWorkload({ requests: 500, workspaceIds, operatorIds, seed: 1 })).toEqual(one);
    expect(callEconomyWorkload({ requests: 500, workspaceIds, operatorIds, seed: 2 })).not.toEqual(one);
  });

  it('follows the mix, skews reads to the hottest workspaces and sends about a tenth of the writes twice', () => {
    const requests = callEconomyWorkload({ requests: 20_000, workspaceIds, operatorIds, seed: 7 });
    for (const [operation, share] of Object.entries(ECONOMY_MIX)) {
      const measured = requests.filter((r) => r.operationId === operation).length / requests.length;
      expect(measured, operation).toBeGreaterThan(share * 0.85);
      expect(measured, operation).toBeLessThan(share * 1.15);
    }
    const reads = requests.filter((r) => r.operationId === 'getWorkspace');
    const hottest = reads.filter((r) => r.path.startsWith('/v2.0/wiki/workspaces/ws0?')).length;
    const coldest = reads.filter((r) => r.path.startsWith('/v2.0/wiki/workspaces/ws39?')).length;
    expect(hottest).toBeGreaterThan(20 * coldest);
    const writes = requests.filter((r) => r.method === 'POST');
    const twice = writes.filter((r) => r.sentTwice).length / writes.length;
    expect(twice).toBeGreaterThan(0.07);
    expect(twice).toBeLessThan(0.13);
    expect(requests.filter((r) => r.method === 'GET').every((r) => !r.sentTwice && r.body === undefined)).toBe(true);
    // Every list is one of the two people's.
    expect(new Set(requests.filter((r) => r.operationId === 'listWorkspaces').map((r) => r.path))).toEqual(new Set(['/v2.0/wiki/workspaces?operatorId=alice&maxResults=20', '/v2.0/wiki/workspaces?operatorId=bob&maxResults=20']));
  });

  it('gives every write a body of its own, so no two are the same request', () => {
    const writes = callEconomyWorkload({ requests: 5_000, workspaceIds, operatorIds, seed: 3 }).filter((r) => r.method === 'POST');
    expect(new Set(writes.map((r) => `${r.path} ${r.body}`)).size).toBe(writes.length);
  });

  it('draws Zipf ranks with probabilities ∝ 1/k', () => {
    const pick = zipfPicker(4, 1, seededRandom(11));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 100_000; i++) counts[pick()]! += 1;
    const total = 1 + 1 / 2 + 1 / 3 + 1 / 4;
    counts.forEach((count, k) => expect(count / 100_000).toBeCloseTo(1 / (k + 1) / total, 2));
  });

  it('refuses a workload with nothing to read', () => {
    expect(() => callEconomyWorkload({ requests: 1, workspaceIds: [], operatorIds, seed: 1 })).toThrow(RangeError);
  });
});

describe("an answer's class, from the gateway's headers", () => {
  it('tells cache hits, coalesced waits, DingTalk reads, writes and replays apart', () => {
    const name = CACHE_NAME;
    expect(classify({ method: 'GET' }, { 'cache-status': `${name}; hit; ttl=42` })).toBe('read from the cache');
    expect(classify({ method: 'GET' }, { 'cache-status': `${name}; fwd=miss; collapsed` })).toBe('read, waited for another caller');
    expect(classify({ method: 'GET' }, { 'cache-status': `${name}; fwd=miss; stored` })).toBe('read from DingTalk');
    expect(classify({ method: 'GET' }, {})).toBe('read from DingTalk'); // the cache off
    expect(classify({ method: 'POST' }, { 'idempotent-replayed': 'true' })).toBe('write replayed');
    expect(classify({ method: 'POST' }, {})).toBe('write');
  });
});
