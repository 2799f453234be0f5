/**
 * Reading a request body the way DingTalk does, so that everything checking requests (the
 * gateway, the sandbox) validates exactly the value DingTalk will read, or refuses the body:
 * - it is read only when its `Content-Type` is JSON (`application/json` or `*\/*+json`, any
 *   parameters): DingTalk reads any other body as none, so a JSON body labelled `text/plain`
 *   would be checked here and then reach DingTalk as no body at all;
 * - it must not be encoded (`Content-Encoding` other than `identity`): DingTalk does not decode;
 * - it must be UTF-8 (RFC 8259 §8.1), decoded strictly, never with replacement characters that
 *   would turn bad bytes into a different, valid string;
 * - it must be one JSON value, with no object key written twice: `JSON.parse` keeps the last,
 *   another parser may keep the first, and the validated value must be the one DingTalk reads.
 */
import { duplicateKey } from './duplicate-keys.js';

export interface RequestBody {
  /** The bytes as received (never empty: an empty body is no body). */
  readonly bytes: Uint8Array;
  /** The `Content-Type` header, if sent. */
  readonly contentType?: string | undefined;
  /** The `Content-Encoding` header, if sent. */
  readonly contentEncoding?: string | undefined;
}

export type BodyReading = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

const JSON_MEDIA_TYPE = /^\s*application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether a `Content-Type` names JSON: `application/json` or a `+json` type, with any parameters. */
export const isJsonMediaType = (contentType: string | undefined): boolean => contentType !== undefined && JSON_MEDIA_TYPE.test(contentType);

export function readJsonBody(body: RequestBody): BodyReading {
  const { contentType, contentEncoding } = body;
  if (contentEncoding !== undefined && contentEncoding.trim().toLowerCase() !== 'identity') {
    return { ok: false, message: `request body must not be encoded (content-encoding ${contentEncoding.slice(0, 50)})` };
  }
  if (!isJsonMediaType(contentType)) {
    const sent = contentType === undefined ? 'none was sent' : `not ${contentType.slice(0, 100)}`;
    return { ok: false, message: `request body must be declared as JSON (content-type application/json); ${sent}` };
  }
  let text: string;
  try {
    text = utf8.decode(body.bytes);
  } catch {
    return { ok: false, message: 'request body is not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `request body is not valid JSON: ${(error as Error).message}` };
  }
  const repeated = duplicateKey(text);
  if (repeated !== undefined) return { ok: false, message: `request body has the key '${repeated.slice(0, 100)}' twice in one object` };
  return { ok: true, value };
}
