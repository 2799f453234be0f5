import { describe, expect, it, vi } from 'vitest';
import { Circuit, type CircuitOptions } from './circuit.js';

class Outage extends Error {}

/** A primary we can take down and bring back; its answers are recognizable ('primary'). */
class FakePrimary {
  down = false;
  calls = 0;
  /** When set, the next call waits for this promise before answering. */
  hold: Promise<void> | undefined;

  readonly call = async (): Promise<string> => {
    this.calls++;
    const hold = this.hold;
    if (hold) await hold;
    if (this.down) throw new Outage('fake primary is down');
    return 'primary';
  };
}

function setup(options: Partial<CircuitOptions<Outage>> = {}) {
  const clock = { t: 0, now() { return this.t; } };
  const primary = new FakePrimary();
  const onTrip = vi.fn();
  const onRecover = vi.fn();
  const circuit = new Circuit({ outage: Outage, clock, onTrip, onRecover, probeIntervalMs: 1000, ...options });
  const call = () => circuit.call(primary.call, async () => 'fallback');
  return { clock, primary, circuit, call, onTrip, onRecover };
}

describe('Circuit', () => {
  it('passes answers through while the primary answers', async () => {
    const { circuit, call, primary, onTrip } = setup();
    expect(await call()).toBe('primary');
    expect(primary.calls).toBe(1);
    expect(circuit.state).toBe('primary');
    expect(onTrip).not.toHaveBeenCalled();
  });

  it('trips on the first outage and answers that call from the fallback', async () => {
    const { circuit, call, primary, onTrip } = setup();
    primary.down = true;
    expect(await call()).toBe('fallback');
    expect(circuit.state).toBe('fallback');
    expect(onTrip).toHaveBeenCalledTimes(1);
    expect(onTrip.mock.calls[0]?.[0]).toBeInstanceOf(Outage);
  });

  it('probes a dead primary at most once per probe interval, and recovers when it answers', async () => {
    const { circuit, call, primary, clock, onTrip, onRecover } = setup();
    primary.down = true;
    await call(); // trips
    const callsAfterTrip = primary.calls;

    for (let i = 0; i < 100; i++) expect(await call()).toBe('fallback');
    expect(primary.calls).toBe(callsAfterTrip); // not hammered

    clock.t = 1000;
    for (let i = 0; i < 100; i++) await call();
    expect(primary.calls).toBe(callsAfterTrip + 1); // one failed probe
    expect(circuit.state).toBe('fallback');

    clock.t = 1999;
    await call();
    expect(primary.calls).toBe(callsAfterTrip + 1);

    primary.down = false;
    clock.t = 2000;
    expect(await call()).toBe('primary'); // the probe's answer
    expect(circuit.state).toBe('primary');
    expect(onRecover).toHaveBeenCalledTimes(1);
    expect(await call()).toBe('primary');
    expect(onTrip).toHaveBeenCalledTimes(1);
  });

  it('sends one probe at a time; concurrent calls use the fallback meanwhile', async () => {
    const { circuit, call, primary, clock } = setup();
    primary.down = true;
    await call();
    clock.t = 1000;
    primary.down = false;
    let release!: () => void;
    primary.hold = new Promise((resolve) => (release = resolve));
    const probe = call();
    primary.hold = undefined;
    expect(await Promise.all([call(), call()])).toEqual(['fallback', 'fallback']);
    expect(primary.calls).toBe(2); // the trip and the single probe
    release();
    expect(await probe).toBe('primary');
    expect(circuit.state).toBe('primary');
  });

  it('ignores a late failure from before the recovery', async () => {
    const { circuit, call, primary, clock, onTrip } = setup();
    let release!: () => void;
    primary.hold = new Promise((resolve) => (release = resolve));
    const slow = call(); // starts while healthy, will fail late
    primary.hold = undefined;
    primary.down = true;
    await call(); // trips
    primary.down = false;
    clock.t = 1000;
    await call(); // probe succeeds: recovered
    primary.down = true;
    release();
    expect(await slow).toBe('fallback'); // fails now, but belongs to the outage that is over
    primary.down = false;
    expect(circuit.state).toBe('primary');
    expect(onTrip).toHaveBeenCalledTimes(1);
  });

  it('propagates other errors without tripping, closed or probing', async () => {
    const { circuit, primary, clock, onTrip } = setup();
    const bug = () => Promise.reject(new RangeError('bad argument'));
    await expect(circuit.call(bug, async () => 'fallback')).rejects.toThrow(RangeError);
    expect(circuit.state).toBe('primary');
    expect(onTrip).not.toHaveBeenCalled();

    primary.down = true;
    await circuit.call(primary.call, async () => 'fallback');
    clock.t = 1000;
    await expect(circuit.call(bug, async () => 'fallback')).rejects.toThrow(RangeError);
    expect(circuit.state).toBe('fallback');
  });

  it("passes the fallback's own failure on", async () => {
    const { circuit, primary } = setup();
    primary.down = true;
    await expect(circuit.call(primary.call, () => Promise.reject(new Outage('refused while down')))).rejects.toThrow('refused while down');
    expect(circuit.state).toBe('fallback');
  });

  it('survives throwing hooks', async () => {
    const { call, primary, clock } = setup({
      onTrip: () => {
        throw new Error('hook');
      },
      onRecover: () => {
        throw new Error('hook');
      },
    });
    primary.down = true;
    expect(await call()).toBe('fallback');
    primary.down = false;
    clock.t = 1000;
    expect(await call()).toBe('primary');
  });
});
