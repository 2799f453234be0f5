/**
 * Which request headers go to DingTalk. The caller's API key never does; neither does a
 * DingTalk token the caller may have sent (the gateway attaches its own), nor anything that
 * describes the caller's connection or network.
 */
import { HOP_BY_HOP_HEADERS } from './upstream.js';

export const ACCESS_TOKEN_HEADER = 'x-acs-dingtalk-access-token';

const NEVER_FORWARDED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP_HEADERS,
  'host',
  'authorization',
  ACCESS_TOKEN_HEADER,
  'content-length',
  'cookie',
  'expect',
  // The caller's network, as proxies describe it.
  'forwarded',
  'via',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  // The gateway must read DingTalk's answers (to spot InvalidAuthentication): ask for them plain.
  'accept-encoding',
]);

export function forwardedRequestHeaders(incoming: Headers): Record<string, string> {
  const named = connectionNamed(incoming.get('connection'));
  const out: Record<string, string> = {};
  incoming.forEach((value, name) => {
    if (isForwarded(name, named)) out[name] = value;
  });
  out['accept-encoding'] = 'identity';
  return out;
}

/**
 * The same selection from Node's raw header list (`IncomingMessage.rawHeaders`: name, value,
 * name, value, …), with names and repeated headers combined exactly as a Web `Headers` would
 * combine them (lower-case names, values trimmed and joined with `, `, the last `set-cookie`,
 * HTTP/2 pseudo-headers skipped).
 *
 * Why it exists (performance): on Node, `c.req.raw.headers` is a lightweight view that builds a
 * full Web `Headers` (every name and value validated, then sorted to iterate) the first time it
 * is iterated; the raw list is at hand and needs none of that.
 */
export function forwardedRawRequestHeaders(rawHeaders: readonly string[]): Record<string, string> {
  const combined = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const rawName = rawHeaders[i]!;
    if (rawName.charCodeAt(0) === 0x3a /* ':' */) continue;
    const name = rawName.toLowerCase();
    const value = trimHttpWhitespace(rawHeaders[i + 1]!);
    const seen = combined.get(name);
    combined.set(name, seen === undefined || name === 'set-cookie' ? value : `${seen}, ${value}`);
  }
  const named = connectionNamed(combined.get('connection') ?? null);
  const out: Record<string, string> = {};
  for (const [name, value] of combined) {
    if (isForwarded(name, named)) out[name] = value;
  }
  out['accept-encoding'] = 'identity';
  return out;
}

/** The header names a `Connection` header lists (hop-by-hop for this connection only). */
function connectionNamed(connection: string | null): ReadonlySet<string> | undefined {
  if (connection === null) return undefined;
  // The usual values name only hop-by-hop headers, never forwarded anyway (a keep-alive client
  // sends one on every request: no set to build).
  if (USUAL_CONNECTION_VALUES.has(connection)) return undefined;
  return new Set(connection.split(',').map((token) => token.trim().toLowerCase()));
}

const USUAL_CONNECTION_VALUES: ReadonlySet<string> = new Set(['keep-alive', 'Keep-Alive', 'close', 'Close']);

function isForwarded(name: string, named: ReadonlySet<string> | undefined): boolean {
  return !NEVER_FORWARDED.has(name) && !named?.has(name) && !name.startsWith('x-forwarded-');
}

const isHttpWhitespace = (code: number) => code === 0x09 || code === 0x0a || code === 0x0d || code === 0x20;

/** Leading and trailing HTTP whitespace removed, as `Headers` normalizes a value. */
function trimHttpWhitespace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isHttpWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isHttpWhitespace(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}
