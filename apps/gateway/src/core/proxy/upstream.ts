/**
 * How the gateway reaches DingTalk. An interface so the core stays runtime-neutral: the Node
 * entry uses an undici keep-alive pool, tests and other runtimes a `fetch` function.
 *
 * Bodies are buffered both ways: DingTalk's requests and answers are small JSON documents,
 * the gateway must read an error answer to spot `InvalidAuthentication`, and a buffered
 * request can be replayed once after a token refresh.
 */
export interface UpstreamRequest {
  method: string;
  /** Path and query string, e.g. `/v2.0/wiki/workspaces?operatorId=x`. */
  path: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
  /**
   * This call's slot of DingTalk's per-IP window (`guardEgress`): `taken` already (by the
   * rate-limit step, with the request's other limits), or `take` one now. Absent: the call is
   * not held back by the window (token fetches: a few per app every two hours, and refusing one
   * would fail every request waiting for the token).
   */
  ipWindowSlot?: 'taken' | 'take';
}

export interface UpstreamResponse {
  status: number;
  /** Header names lower-case; hop-by-hop headers already removed. */
  headers: Array<[string, string]>;
  body: Uint8Array;
}

/**
 * - `connect`: no connection could be made; DingTalk did not receive the request.
 * - `timeout`: DingTalk did not answer in time (connect or response timeout).
 * - `reset`: the connection broke after the request was (maybe) sent.
 * - `tooLarge`: the answer was bigger than the gateway buffers.
 */
export type UpstreamFailure = 'connect' | 'timeout' | 'reset' | 'tooLarge';

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly failure: UpstreamFailure,
    /** False only when the request certainly did not reach DingTalk (safe to send again). */
    readonly mayHaveReachedUpstream: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What of an upstream a reload may change (the rest, its address and connections, needs a restart). */
export interface UpstreamLimits {
  responseTimeoutMs: number;
  maxResponseBytes: number;
}

export interface Upstream {
  send(request: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
  /** Applies a reloaded config's limits to the exchanges that start from now on. */
  setLimits?(limits: UpstreamLimits): void;
}

/** Statuses whose answers may not carry a body (Fetch standard): passed on without one. */
export const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/** The `code` of DingTalk's error body; undefined when the body is not DingTalk's JSON. */
export function dingtalkCodeOf(body: Uint8Array): string | undefined {
  try {
    const code = (JSON.parse(new TextDecoder().decode(body)) as { code?: unknown } | null)?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), never forwarded. */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Drops hop-by-hop headers, including any the `Connection` header names. */
export function endToEndHeaders(entries: Iterable<[string, string]>): Array<[string, string]> {
  // Runs on every answer (performance): two plain loops, and the set of headers `Connection`
  // names only when there is one (DingTalk's answers rarely carry it).
  const list = Array.isArray(entries) ? (entries as Array<[string, string]>) : [...entries];
  let named: Set<string> | undefined;
  for (const [name, value] of list) {
    if (name.toLowerCase() !== 'connection') continue;
    named ??= new Set();
    for (const token of value.split(',')) named.add(token.trim().toLowerCase());
  }
  const kept: Array<[string, string]> = [];
  for (const entry of list) {
    const lower = entry[0].toLowerCase();
    if (!HOP_BY_HOP_HEADERS.has(lower) && !named?.has(lower) && lower !== 'content-length') kept.push(entry);
  }
  return kept;
}
