/**
 * Which cached answers a call makes stale, as the document says: each DingTalk operation that is
 * not a GET declares `x-dingtalk-invalidates`, the reads whose answers it changes (an empty list
 * when none); a GET may too, when reading changes what another read answers (opening a Knowledge
 * Base moves it up its viewer's listing). A read is named with the parameter (path or query) that
 * narrows it, mapped to one of the caller's (`where: { workspaceId: workspaceId }`: only the
 * answers about the workspace the write was about); without `where`, every answer of that read.
 * The gateway's read cache drops what a call that reached DingTalk names, for the caller's whole
 * DingTalk org (every app of an org sees the same data).
 *
 * ```ts
 * const invalidations = invalidationsOf(doc);
 * invalidations.of('createWorkspaceDoc'); // [{ operation: 'getWorkspace', where: { workspaceId: 'workspaceId' } }, { operation: 'listWorkspaces' }]
 * invalidations.scopesOf('getWorkspace'); // ['workspaceId']: a cached answer is also stale once its workspace is
 * ```
 */
import { type JsonObject, type OpenApiDocument, type Operation, deref, dingtalkOperationsOf } from './openapi-document.js';

export const INVALIDATES = 'x-dingtalk-invalidates';

export interface Invalidation {
  /** The read whose cached answers go. */
  readonly operation: string;
  /** One of the read's parameters (path or query) → the caller's parameter whose value it must equal; absent: every answer of the read. */
  readonly where?: Readonly<Record<string, string>>;
}

export interface Invalidations {
  /** What `operationId` makes stale when it reached DingTalk. */
  of(operationId: string): readonly Invalidation[];
  /** The parameters some call narrows `readOperationId`'s invalidation by, in a fixed order. */
  scopesOf(readOperationId: string): readonly string[];
}

/** An operation's path parameters (from its template) and query parameters (its own and its path's). */
function parametersOf(doc: OpenApiDocument, path: string, operation: Operation): string[] {
  const names = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
  const declared = [...((doc.paths[path]?.parameters as unknown[] | undefined) ?? []), ...(operation.parameters ?? [])];
  for (const parameter of declared) {
    const { name, in: where } = deref(doc, parameter).value as JsonObject;
    if (where === 'query' && typeof name === 'string') names.push(name);
  }
  return names;
}

export function invalidationsOf(doc: OpenApiDocument): Invalidations {
  const reads = new Map<string, string[]>();
  const callers: Array<{ operationId: string; label: string; params: string[]; declared: unknown }> = [];
  for (const { path, method, operation } of dingtalkOperationsOf(doc)) {
    const params = parametersOf(doc, path, operation);
    if (method === 'get') reads.set(operation.operationId, params);
    // A write must say what it changes; a read may.
    if (method !== 'get' || operation[INVALIDATES] !== undefined) {
      callers.push({ operationId: operation.operationId, label: `${method.toUpperCase()} ${path}`, params, declared: operation[INVALIDATES] });
    }
  }

  const byWrite = new Map<string, Invalidation[]>();
  const scopes = new Map<string, Set<string>>();
  for (const write of callers) {
    if (!Array.isArray(write.declared)) throw new Error(`spec: ${write.label} needs ${INVALIDATES}: the reads it makes stale (a list, empty when none)`);
    const list: Invalidation[] = [];
    for (const entry of write.declared as unknown[]) {
      const { operation: named, where, ...rest } = (entry ?? {}) as { operation?: unknown; where?: unknown };
      const readParams = typeof named === 'string' ? reads.get(named) : undefined;
      if (readParams === undefined) throw new Error(`spec: ${write.label} ${INVALIDATES}: ${JSON.stringify(named)} is not a GET operation of the document`);
      const operation = named as string;
      if (Object.keys(rest).length > 0) throw new Error(`spec: ${write.label} ${INVALIDATES}: unknown key ${Object.keys(rest).join(', ')}`);
      if (where === undefined) {
        list.push({ operation });
        continue;
      }
      if (where === null || typeof where !== 'object' || Array.isArray(where) || Object.keys(where).length !== 1) {
        throw new Error(`spec: ${write.label} ${INVALIDATES}: where must map one of ${operation}'s parameters to one of this operation's`);
      }
      for (const [readParam, writeParam] of Object.entries(where)) {
        if (!readParams.includes(readParam)) throw new Error(`spec: ${write.label} ${INVALIDATES}: ${operation} has no parameter ${readParam}`);
        if (typeof writeParam !== 'string' || !write.params.includes(writeParam)) throw new Error(`spec: ${write.label} ${INVALIDATES}: no parameter ${String(writeParam)} here`);
        (scopes.get(operation) ?? scopes.set(operation, new Set()).get(operation)!).add(readParam);
      }
      list.push({ operation, where: where as Record<string, string> });
    }
    byWrite.set(write.operationId, list);
  }

  return {
    of: (operationId) => byWrite.get(operationId) ?? [],
    scopesOf: (operationId) => [...(scopes.get(operationId) ?? [])].sort(),
  };
}
