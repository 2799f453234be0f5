/**
 * DingTalk's ban of an egress IP, recognised in an answer. Past the per-IP limit (10,000 calls
 * in 20 s over every API) DingTalk's anti-abuse front answers every call from the IP for a while
 * (5 minutes) with an answer of its own, not DingTalk's JSON error: JSON of the form
 * `{"status":1111,"wait":5,"punish":"deny",...}` (`wait` in minutes) or an HTML page.
 *
 * DingTalk's APIs answer JSON only, so an HTML page is the ban, whatever its status, but for a
 * 5xx: an HTML 502/503/504 is a load balancer's error page during an outage, and treating an
 * outage as a five-minute ban would stop the gateway for five minutes for a blip.
 */
import type { UpstreamResponse } from '../proxy/upstream.js';

export interface BanAnswer {
  /** How long the ban lasts, when the answer says (`wait`); else the caller's default. */
  readonly waitMs: number | undefined;
  /** What the answer looked like, for the log. */
  readonly shape: 'json' | 'html';
}

/** The anti-abuse front's status for "denied". */
const BANNED_STATUS = 1111;

/** The ban this answer announces, or undefined when it is an ordinary answer. */
export function banOf(response: UpstreamResponse): BanAnswer | undefined {
  // DingTalk's own answers are JSON objects with `code` (errors) or the API's fields; only a
  // body starting like `{"status":1111` or an HTML page is looked at further (cheap first test).
  const body = response.body;
  if (body.length === 0) return undefined;
  const contentType = headerOf(response, 'content-type') ?? '';
  if (contentType.includes('text/html')) return response.status >= 500 ? undefined : { waitMs: undefined, shape: 'html' };
  if (!startsWithStatus(body)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
  const { status, wait } = (parsed ?? {}) as { status?: unknown; wait?: unknown };
  if (status !== BANNED_STATUS) return undefined;
  return { waitMs: typeof wait === 'number' && Number.isFinite(wait) && wait > 0 ? wait * 60_000 : undefined, shape: 'json' };
}

function headerOf(response: UpstreamResponse, name: string): string | undefined {
  for (const [key, value] of response.headers) if (key === name) return value.toLowerCase();
  return undefined;
}

const HEAD_BYTES = 64;
const ONE = 0x31;

/**
 * Whether the body has `"status": 1111` among the first keys of its top-level object (the ban's
 * JSON does). Runs on every answer, so it first looks for four "1" bytes in a row in the head,
 * which almost no answer of DingTalk's has, before decoding anything.
 */
function startsWithStatus(body: Uint8Array): boolean {
  const end = Math.min(body.length, HEAD_BYTES);
  let ones = 0;
  for (let i = 0; i < end && ones < 4; i++) ones = body[i] === ONE ? ones + 1 : 0;
  if (ones < 4) return false;
  return /^\s*\{[^{}]*"status"\s*:\s*1111\b/.test(new TextDecoder().decode(body.subarray(0, end)));
}
