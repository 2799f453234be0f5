import { once } from 'node:events';
import { type AddressInfo, type Socket, createConnection, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { withDeadline } from './deadline.js';

class TimedOut extends Error {}
const timedOut = () => new TimedOut('no answer in time');

/** Blocks the event loop, as a long GC pause or a burst of synchronous work does. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

describe('withDeadline', () => {
  it('answers what the call answers in time', async () => {
    expect(await withDeadline(Promise.resolve('answer'), 50, timedOut)).toBe('answer');
    await expect(withDeadline(Promise.reject(new RangeError('refused')), 50, timedOut)).rejects.toThrow(RangeError);
  });

  it('rejects with timedOut() once the deadline has passed, and a late failure of the call is not unhandled', async () => {
    let fail!: (error: Error) => void;
    const pending = new Promise<string>((_, reject) => (fail = reject));
    const started = performance.now();
    await expect(withDeadline(pending, 30, timedOut)).rejects.toBeInstanceOf(TimedOut);
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    fail(new Error('late')); // would fail the run as an unhandled rejection if nothing listened
    await new Promise((resolve) => setTimeout(resolve, 10));
  });

  it('after an event-loop stall past the deadline, a reply already waiting in the socket wins', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const client = createConnection((server.address() as AddressInfo).port, '127.0.0.1');
    const [[peer]] = await Promise.all([accepted, once(client, 'connect')]);
    try {
      for (let trial = 0; trial < 5; trial++) {
        // The call's reply is written (the kernel has it at once), the deadline armed, then the
        // loop stalls for three deadlines: the reply is in the socket when the timer expires.
        const reply = once(client, 'data').then(([data]) => String(data));
        peer!.write(`reply ${trial}`);
        const answer = withDeadline(reply, 20, timedOut);
        stall(60);
        expect(await answer).toBe(`reply ${trial}`);
      }
    } finally {
      client.destroy();
      peer!.destroy();
      server.close();
    }
  });
});
