/**
 * Random ids shaped like DingTalk's: base62 for workspace/node/doc ids, hex for tokens and trace
 * ids, upper-case UUIDs for request ids. Web Crypto only, so the app runs on any runtime.
 */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const randomBytes = (length: number): Uint8Array => crypto.getRandomValues(new Uint8Array(length));

/** e.g. `randomBase62(16)` → `By8jQS1ZYjGn5b0M` (a workspaceId). Modulo bias is irrelevant here. */
export const randomBase62 = (length: number): string => Array.from(randomBytes(length), (b) => BASE62[b % 62]).join('');

export const randomHex = (bytes: number): string => Array.from(randomBytes(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

/** `x-acs-request-id` and the body's `requestid`, e.g. `30EE6F4B-2C2B-7F1B-A2B1-6F7C1E2D3A4B`. */
export const newRequestId = (): string => crypto.randomUUID().toUpperCase();

/** `x-acs-trace-id`, e.g. `a256909d956e020a394833a18880de5c`. */
export const newTraceId = (): string => randomHex(16);

/** Access tokens are 32 hex characters on DingTalk. */
export const newAccessToken = (): string => randomHex(16);
