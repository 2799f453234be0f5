/**
 * Shared helpers of the reliability suite (bad input, wire, secrets and isolation): fast-check
 * settings, DingTalk's error shape, sandbox counters, a raw-socket HTTP client and a secret
 * search. Test code only.
 *
 * Property runs are reproducible: a fixed seed by default, and two environment variables to
 * run longer or replay a failure:
 *
 * ```sh
 * FC_RUNS=2000 npx vitest run src/reliability                # more cases per property
 * FC_SEED=123 FC_RUNS=500 npx vitest run src/reliability     # another seed
 * ```
 *
 * fast-check prints the seed and the counterexample's path of a failure; pass them back with
 * FC_SEED (and FC_PATH) to replay exactly that case.
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import type { CountersSnapshot } from '@dingtalk-gateway/sandbox';
import type fc from 'fast-check';
import { type Logger, type LevelWithSilent, pino } from 'pino';

/** The seed CI runs with. Any other: `FC_SEED=<n>`. */
export const DEFAULT_SEED = 20261121;

/** fast-check parameters: the fixed seed and `defaultRuns`, unless FC_SEED / FC_RUNS / FC_PATH say otherwise. */
export function propertyParameters<T>(defaultRuns: number): fc.Parameters<T> {
  const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : DEFAULT_SEED;
  const numRuns = process.env.FC_RUNS ? Number(process.env.FC_RUNS) : defaultRuns;
  if (!Number.isInteger(seed) || !Number.isInteger(numRuns) || numRuns < 1) throw new Error('FC_SEED and FC_RUNS must be integers (FC_RUNS >= 1)');
  return { seed, numRuns, ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}) };
}

/** How long a property may run: longer when FC_RUNS asks for more cases. */
export function propertyTimeoutMs(defaultRuns: number, msPerRun = 40): number {
  const runs = process.env.FC_RUNS ? Number(process.env.FC_RUNS) : defaultRuns;
  return Math.max(30_000, runs * msPerRun * 4);
}

/** Statuses the gateway must never answer on its own in these tests (DingTalk is healthy). */
export const SERVER_FAILURE_STATUSES: ReadonlySet<number> = new Set([500, 502, 503, 504]);

/** The request id the gateway accepts from a caller, and the only shape it ever echoes. */
export const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The operations that fetch DingTalk tokens: the gateway's own calls, not a caller's. */
export const TOKEN_OPERATIONS: ReadonlySet<string> = new Set(['getAccessToken', 'getCorpAccessToken']);

/** API calls per operation that reached the sandbox between two snapshots, token calls left out. */
export function apiCallsBetween(before: CountersSnapshot, after: CountersSnapshot): Record<string, number> {
  const moved: Record<string, number> = {};
  for (const [operationId, count] of Object.entries(after.byOperation)) {
    if (TOKEN_OPERATIONS.has(operationId)) continue;
    const delta = count - (before.byOperation[operationId] ?? 0);
    if (delta !== 0) moved[operationId] = delta;
  }
  return moved;
}

export interface DingTalkErrorBody {
  code: string;
  message: string;
  requestid: string;
  [key: string]: unknown;
}

/** Whether a parsed body has DingTalk's error shape: string `code`, `message` and `requestid`. */
export function isDingTalkError(body: unknown): body is DingTalkErrorBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const { code, message, requestid } = body as Record<string, unknown>;
  return typeof code === 'string' && code !== '' && typeof message === 'string' && typeof requestid === 'string' && requestid !== '';
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Every occurrence of a secret in some text, as `where: secret name`, so a failure names both. */
export function findSecrets(haystacks: Record<string, string>, secrets: Record<string, string>, options: { minLength?: number } = {}): string[] {
  const found: string[] = [];
  const minLength = options.minLength ?? 8;
  for (const [where, text] of Object.entries(haystacks)) {
    for (const [name, secret] of Object.entries(secrets)) {
      if (secret.length < minLength) throw new Error(`${name} is too short to search for meaningfully`);
      if (text.includes(secret)) found.push(`${where}: ${name}`);
    }
  }
  return found;
}

/** A pino logger writing into memory: `text()` is everything it logged, to search. */
export function capturedLogger(level: LevelWithSilent = 'info'): { logger: Logger; text: () => string; lines: () => string[] } {
  let raw = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      raw += String(chunk);
      done();
    },
  });
  return { logger: pino({ level }, sink), text: () => raw, lines: () => raw.split('\n').filter(Boolean) };
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP over node:net, for what no HTTP client will send.

export interface RawExchange {
  /** Everything the server sent, as latin1 text (byte for byte). */
  text: string;
  /** Whether the server closed (or reset) the connection before the client gave up. */
  closedByServer: boolean;
  /** Milliseconds from connect to the close (or to giving up). */
  elapsedMs: number;
  /** Socket error code seen, e.g. ECONNRESET. */
  error?: string;
}

export interface RawOptions {
  /** Give up (and close the socket) after this long. */
  timeoutMs?: number;
  /** Give up early once this many complete responses were read. */
  responses?: number;
}

/** Connects, writes `chunks` in order, reads until the server closes or `timeoutMs`, then closes. */
export function rawExchange(port: number, chunks: ReadonlyArray<string | Uint8Array>, options: RawOptions = {}): Promise<RawExchange> {
  const timeoutMs = options.timeoutMs ?? 3_000;
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    let error: string | undefined;
    let settled = false;
    const finish = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closedByServer, elapsedMs: Date.now() - started, ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (data) => {
      text += data.toString('latin1');
      if (options.responses !== undefined && parseResponses(text).length >= options.responses) finish(false);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      for (const chunk of chunks) if (socket.writable) socket.write(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
    });
  });
}

/**
 * Sends `head` then one byte of `fill` every `everyMs`, for at most `maxMs`: a slowloris. Resolves
 * when the server answers-and-closes, or at `maxMs`. Bounded: never more than maxMs/everyMs bytes.
 */
export function trickle(port: number, head: string, options: { everyMs: number; maxMs: number; fill?: string }): Promise<RawExchange & { bytesTrickled: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    let error: string | undefined;
    let bytesTrickled = 0;
    let settled = false;
    let interval: NodeJS.Timeout | undefined;
    const finish = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(interval);
      socket.destroy();
      resolve({ text, closedByServer, elapsedMs: Date.now() - started, bytesTrickled, ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => finish(false), options.maxMs);
    socket.on('data', (data) => (text += data.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      socket.write(head, 'latin1');
      interval = setInterval(() => {
        if (!socket.writable) return;
        socket.write(options.fill ?? 'a');
        bytesTrickled += 1;
      }, options.everyMs);
    });
  });
}

export interface RawResponse {
  status: number;
  /** Header names lower-case; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: string;
}

/** The complete HTTP/1.1 responses in `text` (Content-Length or chunked bodies; none for 1xx/204/304). */
export function parseResponses(text: string, options: { headRequest?: boolean } = {}): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  for (;;) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd === -1) return responses;
    const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
    if (!match) return responses;
    const status = Number(match[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon === -1) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    rest = rest.slice(headEnd + 4);
    let body = '';
    if (status < 200 || status === 204 || status === 304 || options.headRequest) {
      body = '';
    } else if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        if (lineEnd === -1) return responses;
        const size = Number.parseInt(rest.slice(0, lineEnd), 16);
        if (Number.isNaN(size)) return responses;
        if (rest.length < lineEnd + 2 + size + 2) return responses;
        body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
        rest = rest.slice(lineEnd + 2 + size + 2);
        if (size === 0) break;
      }
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (rest.length < length) return responses;
      body = rest.slice(0, length);
      rest = rest.slice(length);
    } else {
      // Delimited by the close: only complete if nothing else follows.
      body = rest;
      rest = '';
    }
    responses.push({ status, headers, body: Buffer.from(body, 'latin1').toString('utf8') });
    if (status >= 200 && rest === '') return responses;
  }
}
