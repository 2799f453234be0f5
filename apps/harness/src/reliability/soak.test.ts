/**
 * The soak's short version, run in CI: the same script (`runSoak`, reliability/soak.ts) for a
 * few seconds. Two gateway instances (real processes, the built CLI) and Redis, every operation,
 * small steady faults (latency, 5xx, dropped connections, slow episodes past the timeout, token
 * revocations). It asserts what a short run can prove: no unexpected answer of any kind, every
 * operation served, the injected faults actually happened and were survived, and a sane RSS.
 * The RSS trend is judged by the long run only (docs/RELIABILITY.md): a few seconds of a fresh
 * process are all warm-up.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRedis, REDIS_URL } from '@dingtalk-gateway/test-support';
import { describe, expect, it, vi } from 'vitest';
import { contractOperations } from './operations.js';
import { formatSummary, runSoak, slope } from './soak.js';

vi.setConfig({ testTimeout: 45_000 });

const unreachable = await checkRedis();

it('slope: least squares, undefined for fewer than three points', () => {
  expect(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBeCloseTo(2);
  expect(slope([{ x: 0, y: 4 }, { x: 10, y: 4 }, { x: 20, y: 4 }])).toBe(0);
  expect(slope([{ x: 0, y: 1 }, { x: 1, y: 2 }])).toBeUndefined();
});

describe.skipIf(unreachable)('soak, short version (two instances, Redis, faults)', () => {
  it('answers every request as expected under steady faults, with a sane RSS', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dtg-soak-test-'));
    const durationSec = 12;
    const result = await runSoak({
      durationSec,
      rate: 120,
      concurrency: 24,
      sampleEverySec: 1,
      revokeEverySec: 4,
      slowEverySec: 3,
      redisUrl: REDIS_URL,
      out,
      seed: 7,
    });
    const summary = formatSummary(result);
    console.log(summary);

    expect(result.unexpected, summary).toEqual({});
    expect(result.unexpectedTotal).toBe(0);
    // Bounded, and the load really ran (every operation answered 2xx through both instances).
    expect(result.requests).toBeLessThanOrEqual(result.options.maxRequests!);
    expect(result.byInstance.every((i) => i.ok > 0)).toBe(true);
    for (const { operationId } of contractOperations()) expect(result.byOperation[operationId]!.ok, operationId).toBeGreaterThan(0);
    expect(result.byInstance.map((i) => i.exitCode)).toEqual([0, 0]);
    // The faults happened, and what they caused was answered as expected.
    expect(result.sandbox.dropped).toBeGreaterThan(0);
    expect(result.revocations).toBeGreaterThanOrEqual(2);
    expect(result.slowEpisodes).toBeGreaterThanOrEqual(2);
    expect(result.expected['gateway 504 gateway.upstream.timeout']).toBeGreaterThan(0);
    // About one token per revocation for both instances together (shared through Redis), not one per instance.
    expect(result.sandbox.tokensIssued).toBeGreaterThanOrEqual(1 + result.revocations);
    expect(result.sandbox.tokensIssued).toBeLessThan(2 * (1 + result.revocations));
    // A sane RSS: sampled throughout, bounded (the trend is for the long run).
    for (const series of result.rss) {
      expect(series.pid, 'RSS read from /proc/<pid>/status').toBeGreaterThan(0);
      expect(series.samples.length).toBeGreaterThanOrEqual(durationSec / 2);
      expect(series.maxRssMb).toBeGreaterThan(20);
      expect(series.maxRssMb).toBeLessThan(result.options.maxRssMb);
    }
    expect(result.ok, summary).toBe(true);
  });
});
