/**
 * Where the Node entry's log lines go: stdout, with the lines of one event-loop turn written
 * together at the end of that turn.
 *
 * Why (performance): pino's default destination makes one `write(2)` per line, and the access
 * log is a line per request. Under load a turn answers several requests, so their lines go out
 * in one write instead. sonic-boom's own batching (`minLength`) is no help: it measures the whole
 * pending string with `Buffer.byteLength` on every line. The writing itself stays sonic-boom's
 * (synchronous: partial writes, `EAGAIN` on a non-blocking pipe), handed one string per turn.
 *
 * Nothing is lost on a normal exit, a crash or `process.exit()`: what is pending is written on
 * the process's `exit` event, and by `flushSync()` (the server's `close()` calls it). Only a
 * process killed outright (SIGKILL) loses the current turn's lines, at most a few milliseconds.
 *
 * ```ts
 * const destination = turnBatchedDestination();          // stdout
 * const logger = pino({ level: 'info' }, destination);
 * destination.flushSync();                                // before handing stdout to someone else
 * ```
 */
import { pino } from 'pino';

export interface LogSink {
  write(text: string): unknown;
}

export interface TurnBatchedDestination {
  /** pino's destination interface: one serialised line (with its newline). */
  write(line: string): void;
  /** Writes what is pending now. */
  flushSync(): void;
  /** Writes what is pending and stops listening for the process's exit. */
  close(): void;
}

export interface TurnBatchedOptions {
  /** Default: sonic-boom writing synchronously to stdout (fd 1). */
  sink?: LogSink;
  /** Default: `setImmediate`, i.e. after this turn's I/O callbacks. */
  schedule?: (flush: () => void) => void;
  /** Default: the process's `exit` event; returns how to stop listening. */
  onExit?: (flush: () => void) => () => void;
}

export function turnBatchedDestination(options: TurnBatchedOptions = {}): TurnBatchedDestination {
  const sink = options.sink ?? pino.destination({ dest: 1, sync: true });
  const schedule = options.schedule ?? ((flush) => void setImmediate(flush));
  let pending = '';
  let scheduled = false;

  const flushSync = () => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    sink.write(text);
  };
  const stopListening = (options.onExit ?? onProcessExit)(flushSync);

  return {
    write(line) {
      // A string built with `+=` is flattened once, when the sink encodes it.
      pending += line;
      if (!scheduled) {
        scheduled = true;
        schedule(flushSync);
      }
    },
    flushSync,
    close() {
      flushSync();
      stopListening();
    },
  };
}

function onProcessExit(flush: () => void): () => void {
  process.once('exit', flush);
  return () => process.off('exit', flush);
}
