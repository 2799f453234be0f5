/**
 * What the read cache files an answer under, and what makes it stale.
 *
 * - The key: the DingTalk app and the request as DingTalk sees it: the operation, its path
 *   parameters and every query parameter (sorted, so that their order does not matter;
 *   `operatorId` is one of them: DingTalk answers each user with what that user may see). Two
 *   tenants of one app asking the same thing get DingTalk's same answer, so they share the entry;
 *   tenants of different apps never do.
 * - The scopes: per org (every app of an org sees the same data), the read's operation, and its
 *   parameters that a call can narrow an invalidation by (`invalidationsOf(spec).scopesOf`).
 *
 * ```ts
 * cacheKeyOf('wiki-bot', 'getWorkspace', { workspaceId: 'ws1' }, 'operatorId=u1');
 * readScopesOf('acme', 'getWorkspace', paramsOf({ workspaceId: 'ws1' }, ''), ['workspaceId']); // ['acme|getWorkspace', 'acme|getWorkspace|workspaceId=ws1']
 * ```
 */
import type { Invalidation } from '@dingtalk-gateway/spec';

export function cacheKeyOf(appId: string, operationId: string, pathParams: Readonly<Record<string, string>>, rawQuery: string): string {
  const params = Object.keys(pathParams)
    .sort()
    .map((name) => `${name}=${encodeURIComponent(pathParams[name]!)}`)
    .join('&');
  return `${appId}|${operationId}|${params}|${canonicalQuery(rawQuery)}`;
}

/** Every query parameter, decoded, sorted by name then value, encoded again the same way. */
export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs = [...new URLSearchParams(rawQuery)].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
}

const scope = (org: string, operationId: string, param?: string, value?: string) =>
  param === undefined ? `${org}|${operationId}` : `${org}|${operationId}|${param}=${encodeURIComponent(value ?? '')}`;

/** A request's parameters by name: its path parameters, then its query's (the first value). */
export type ParamsOf = (name: string) => string | undefined;

export function paramsOf(pathParams: Readonly<Record<string, string>>, rawQuery: string): ParamsOf {
  let query: URLSearchParams | undefined;
  return (name) => pathParams[name] ?? (query ??= new URLSearchParams(rawQuery)).get(name) ?? undefined;
}

/** The scopes a cached answer of a read belongs to. */
export function readScopesOf(org: string, operationId: string, params: ParamsOf, narrowedBy: readonly string[]): string[] {
  return [scope(org, operationId), ...narrowedBy.map((param) => scope(org, operationId, param, params(param)))];
}

/** The scopes a call that reached DingTalk makes stale. */
export function writeScopesOf(org: string, invalidations: readonly Invalidation[], params: ParamsOf): string[] {
  return invalidations.map(({ operation, where }) => {
    const [readParam, writeParam] = where === undefined ? [] : Object.entries(where)[0]!;
    return readParam === undefined ? scope(org, operation) : scope(org, operation, readParam, params(writeParam!));
  });
}

/** The caller's `Cache-Control` directives the cache honours (RFC 9111 §5.2.1). */
export interface RequestCacheControl {
  /** `no-cache`: go to DingTalk (and keep its answer). */
  readonly noCache: boolean;
  /** `no-store`: go to DingTalk and keep nothing. */
  readonly noStore: boolean;
  /** `max-age=N`: an answer at most N seconds old. */
  readonly maxAgeSeconds: number | undefined;
}

const NONE: RequestCacheControl = { noCache: false, noStore: false, maxAgeSeconds: undefined };

export function requestCacheControl(header: string | undefined): RequestCacheControl {
  if (header === undefined || header === '') return NONE;
  let noCache = false;
  let noStore = false;
  let maxAgeSeconds: number | undefined;
  for (const part of header.split(',')) {
    const [rawName, rawValue] = part.split('=', 2) as [string, string | undefined];
    const name = rawName.trim().toLowerCase();
    if (name === 'no-cache') noCache = true;
    else if (name === 'no-store') noStore = true;
    else if (name === 'max-age') {
      const value = rawValue?.trim().replace(/^"(.*)"$/, '$1');
      // An invalid max-age is ignored rather than read as 0 (as a cache does with one it cannot parse).
      if (value !== undefined && /^\d+$/.test(value)) maxAgeSeconds = Math.min(Number(value), 2 ** 31);
    }
  }
  return { noCache, noStore, maxAgeSeconds };
}
