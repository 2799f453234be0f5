/**
 * Keyset pagination cursors for ListWorkspaces' `nextToken`.
 *
 * A cursor holds the sort key of the last item served (primary time, creation time, id) and the
 * query it belongs to, never an offset: a Knowledge Base created between two page requests sorts
 * before or after the cursor and so neither shifts nor repeats the items of the pages that follow.
 * It is opaque (base64url of JSON) and signed with a per-sandbox secret, so a tampered or foreign
 * token is refused (`paramError`) rather than silently served from a wrong position.
 *
 * ```ts
 * const token = encodeCursor(secret, { query, key: [modifiedAt, createdAt, workspaceId] });
 * decodeCursor(secret, token); // → the same cursor, or undefined when tampered
 * ```
 */

/** Sort key, descending on the two times, ascending on the id (unique, so the order is total). */
export type SortKey = [primary: number, created: number, id: string];

export interface Cursor {
  /** What the cursor was made for (orderBy, teamId, operator): reusing it elsewhere is an error. */
  query: string;
  key: SortKey;
}

/** `a` sorts before `b`. */
export const sortsBefore = (a: SortKey, b: SortKey): boolean =>
  a[0] !== b[0] ? a[0] > b[0] : a[1] !== b[1] ? a[1] > b[1] : a[2] < b[2];

export const compareKeys = (a: SortKey, b: SortKey): number => (sortsBefore(a, b) ? -1 : sortsBefore(b, a) ? 1 : 0);

const toBase64Url = (text: string): string =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

const fromBase64Url = (text: string): string => {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
};

/** FNV-1a, 32 bits: enough to detect tampering in a test double, not a security boundary. */
const checksum = (secret: string, payload: string): string => {
  let hash = 0x811c9dc5;
  for (const ch of `${secret}\u0000${payload}`) {
    hash ^= ch.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
};

export function encodeCursor(secret: string, cursor: Cursor): string {
  const payload = toBase64Url(JSON.stringify({ q: cursor.query, k: cursor.key }));
  return `${payload}.${checksum(secret, payload)}`;
}

export function decodeCursor(secret: string, token: string): Cursor | undefined {
  const [payload, sum, ...rest] = token.split('.');
  if (!payload || !sum || rest.length > 0 || checksum(secret, payload) !== sum) return undefined;
  try {
    const { q, k } = JSON.parse(fromBase64Url(payload)) as { q?: unknown; k?: unknown };
    const valid =
      typeof q === 'string' &&
      Array.isArray(k) &&
      k.length === 3 &&
      Number.isFinite(k[0]) &&
      Number.isFinite(k[1]) &&
      typeof k[2] === 'string';
    return valid ? { query: q, key: k as SortKey } : undefined;
  } catch {
    return undefined;
  }
}
