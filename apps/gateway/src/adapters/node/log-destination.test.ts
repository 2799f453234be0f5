import { spawnSync } from 'node:child_process';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { turnBatchedDestination } from './log-destination.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function recordingSink() {
  const writes: string[] = [];
  return { writes, sink: { write: (text: string) => writes.push(text) } };
}

describe('turnBatchedDestination', () => {
  it('writes the lines of one turn together, once, after that turn', async () => {
    const { writes, sink } = recordingSink();
    const destination = turnBatchedDestination({ sink, onExit: () => () => {} });
    destination.write('{"n":1}\n');
    destination.write('{"n":2}\n');
    destination.write('{"n":3}\n');
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual(['{"n":1}\n{"n":2}\n{"n":3}\n']);
    await nextTurn();
    expect(writes).toHaveLength(1);
  });

  it('keeps the order of lines across turns', async () => {
    const { writes, sink } = recordingSink();
    const destination = turnBatchedDestination({ sink, onExit: () => () => {} });
    destination.write('a\n');
    await nextTurn();
    destination.write('b\n');
    destination.write('c\n');
    await nextTurn();
    expect(writes).toEqual(['a\n', 'b\nc\n']);
  });

  it('flushSync writes what is pending at once, and the scheduled flush then writes nothing again', async () => {
    const { writes, sink } = recordingSink();
    const destination = turnBatchedDestination({ sink, onExit: () => () => {} });
    destination.write('a\n');
    destination.flushSync();
    expect(writes).toEqual(['a\n']);
    destination.write('b\n');
    await nextTurn();
    await nextTurn();
    expect(writes).toEqual(['a\n', 'b\n']);
  });

  it('writes what is pending when the process exits, and close() stops listening for that', () => {
    const { writes, sink } = recordingSink();
    let onExit: (() => void) | undefined;
    let listening = false;
    const destination = turnBatchedDestination({
      sink,
      schedule: () => {}, // the turn never ends: only the exit can write
      onExit: (flush) => {
        onExit = flush;
        listening = true;
        return () => (listening = false);
      },
    });
    destination.write('last words\n');
    onExit!();
    expect(writes).toEqual(['last words\n']);
    destination.write('at close\n');
    destination.close();
    expect(writes).toEqual(['last words\n', 'at close\n']);
    expect(listening).toBe(false);
  });

  it("is pino's destination: a line per call, JSON, in one write per turn", async () => {
    const { writes, sink } = recordingSink();
    const logger = pino({ base: undefined, timestamp: false }, turnBatchedDestination({ sink, onExit: () => () => {} }));
    logger.info({ requestId: 'r1', status: 200 }, 'request');
    logger.info({ requestId: 'r2', status: 404 }, 'request');
    await nextTurn();
    expect(writes).toHaveLength(1);
    expect(writes[0]!.trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual([
      { level: 30, requestId: 'r1', status: 200, msg: 'request' },
      { level: 30, requestId: 'r2', status: 404, msg: 'request' },
    ]);
  });

  it('loses nothing when a real process calls process.exit() in the turn that logged', () => {
    // The built module (tests run after the build), in a process of its own writing to a pipe.
    const module = new URL('../../../dist/adapters/node/log-destination.js', import.meta.url).href;
    const script = [
      `const { turnBatchedDestination } = await import(${JSON.stringify(module)});`,
      'const destination = turnBatchedDestination();',
      "for (let i = 0; i < 1000; i++) destination.write(`line ${i}\\n`);",
      'process.exit(3);',
    ].join('\n');
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(3);
    expect(child.stdout.split('\n').filter(Boolean)).toEqual(Array.from({ length: 1000 }, (_, i) => `line ${i}`));
  });
});
