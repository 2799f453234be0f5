import { describe, expect, it } from 'vitest';
import { IpBan } from './ip-ban.js';

function clocked() {
  let now = 1_000_000;
  const ban = new IpBan({ now: () => now });
  return { ban, advance: (ms: number) => (now += ms) };
}

describe('IpBan', () => {
  it('lets every call go until a ban, then none until it ends', () => {
    const { ban, advance } = clocked();
    expect(ban.enter()).toEqual({ allowed: true, probe: false });
    expect(ban.banned(300_000)).toBe('banned');
    expect(ban.waitMs()).toBe(300_000);
    advance(100_000);
    expect(ban.enter()).toEqual({ allowed: false, retryAfterMs: 200_000 });
    expect(ban.until).toBe(1_300_000);
  });

  it('starts a ban once: the calls in flight when it began, answered with it too, change only its end', () => {
    const { ban, advance } = clocked();
    expect(ban.banned(60_000)).toBe('banned');
    advance(10);
    expect(ban.banned(60_000)).toBe('none');
    expect(ban.waitMs()).toBe(60_000);
    // An answer of a call sent before the ban does not lift it.
    expect(ban.answered({ allowed: true, probe: false })).toBe('none');
    expect(ban.waitMs()).toBe(60_000);
  });

  it('after the ban lets exactly one call go, the probe, holding the rest a second at a time until its answer', () => {
    const { ban, advance } = clocked();
    ban.banned(60_000);
    advance(60_000);
    expect(ban.waitMs()).toBe(0);
    const probe = ban.enter();
    expect(probe).toEqual({ allowed: true, probe: true });
    expect(ban.enter()).toEqual({ allowed: false, retryAfterMs: 1_000 });
    expect(ban.waitMs()).toBe(1_000);
    expect(ban.answered(probe)).toBe('lifted');
    expect(ban.until).toBeUndefined();
    expect(ban.enter()).toEqual({ allowed: true, probe: false });
  });

  it('bans again when the probe meets the ban', () => {
    const { ban, advance } = clocked();
    ban.banned(60_000);
    advance(60_000);
    ban.enter();
    expect(ban.banned(300_000)).toBe('banned');
    expect(ban.enter()).toEqual({ allowed: false, retryAfterMs: 300_000 });
  });
});
