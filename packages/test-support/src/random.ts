/**
 * A small seeded PRNG (mulberry32) in [0, 1): a run's random choices replay exactly from its
 * seed. No test-runner import, so tools run outside vitest (the soak) can use it too, through
 * `@dingtalk-gateway/test-support/random`.
 *
 * ```ts
 * const random = seededRandom(0x5eed);
 * const pick = Math.floor(random() * 4);
 * ```
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
