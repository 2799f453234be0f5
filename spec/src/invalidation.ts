/**
 * Which cached answers a write makes stale, as the document says: each DingTalk operation that
 * is not a GET declares `x-dingtalk-invalidates`, the reads whose answers it changes (an empty
 * list when none). A read is named with the path parameters that narrow it, mapped to the
 * write's own (`where: { workspaceId: workspaceId }`: only the answers about the workspace the
 * write was about); without `where`, every answer of that read. The gateway's read cache drops
 * what a successful write names, for the writer's whole DingTalk org (every app of an org sees the
 * same data).
 *
 * ```ts
 * const invalidations = invalidationsOf(doc);
 * invalidations.of('createWorkspaceDoc'); // [{ operation: 'getWorkspace', where: { workspaceId: 'workspaceId' } }, { operation: 'listWorkspaces' }]
 * invalidations.scopesOf('getWorkspace'); // ['workspaceId']: a cached answer records its workspaceId's generation
 * ```
 */
import { type OpenApiDocument, dingtalkOperationsOf } from './openapi-document.js';

export const INVALIDATES = 'x-dingtalk-invalidates';

export interface Invalidation {
  /** The read whose cached answers go. */
  readonly operation: string;
  /** The read's path parameter → the write's path parameter whose value it must equal; absent: every answer of the read. */
  readonly where?: Readonly<Record<string, string>>;
}

export interface Invalidations {
  /** What a successful `operationId` makes stale (nothing for a read). */
  of(operationId: string): readonly Invalidation[];
  /** The path parameters some write narrows `readOperationId`'s invalidation by, in a fixed order. */
  scopesOf(readOperationId: string): readonly string[];
}

const pathParameters = (path: string): string[] => [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);

export function invalidationsOf(doc: OpenApiDocument): Invalidations {
  const reads = new Map<string, string[]>();
  const writes: Array<{ operationId: string; label: string; params: string[]; declared: unknown }> = [];
  for (const { path, method, operation } of dingtalkOperationsOf(doc)) {
    if (method === 'get') reads.set(operation.operationId, pathParameters(path));
    else writes.push({ operationId: operation.operationId, label: `${method.toUpperCase()} ${path}`, params: pathParameters(path), declared: operation[INVALIDATES] });
  }

  const byWrite = new Map<string, Invalidation[]>();
  const scopes = new Map<string, Set<string>>();
  for (const write of writes) {
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
      if (where === null || typeof where !== 'object' || Array.isArray(where)) throw new Error(`spec: ${write.label} ${INVALIDATES}: where must map ${operation}'s path parameters to this operation's`);
      for (const [readParam, writeParam] of Object.entries(where)) {
        if (!readParams.includes(readParam)) throw new Error(`spec: ${write.label} ${INVALIDATES}: ${operation} has no path parameter ${readParam}`);
        if (typeof writeParam !== 'string' || !write.params.includes(writeParam)) throw new Error(`spec: ${write.label} ${INVALIDATES}: no path parameter ${String(writeParam)} here`);
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
