/**
 * The operations the sandbox serves, read from the spec (spec/dingtalk.yaml) at start: method,
 * path, the permission an app needs (`x-dingtalk-permission`), whether a token is required
 * (`security`), and every documented error code per HTTP status with DingTalk's example message.
 * Nothing here is copied by hand, so a spec change shows up in the sandbox (or fails its start).
 *
 * ```ts
 * const operations = operationsFromSpec(loadDingTalkSpec());
 * operations.get('listWorkspaces')?.permission; // 'Wiki.Workspace.Read'
 * ```
 */
import { type DocumentedErrorCodes, type OpenApiDocument, documentedErrorCodes, meteringOf, operationsOf } from '@dingtalk-gateway/spec';
import type { DingTalkOperationId } from '@dingtalk-gateway/types';

export interface OperationInfo {
  operationId: DingTalkOperationId;
  method: string;
  /** The OpenAPI path template, e.g. `/v2.0/wiki/workspaces/{workspaceId}`. */
  path: string;
  /** The same path in Hono's syntax, e.g. `/v2.0/wiki/workspaces/:workspaceId`. */
  routePath: string;
  /** The permission an app needs for it, or none (the token endpoints). */
  permission?: string;
  /** False for the token endpoints (`security: []`). */
  requiresToken: boolean;
  /** Whether its calls count towards the org's monthly quota (`x-dingtalk-metered`). */
  metered: boolean;
  /** Documented codes per HTTP status, each with the spec's example message when it has one. */
  errors: DocumentedErrorCodes;
}

export function operationsFromSpec(doc: OpenApiDocument): Map<DingTalkOperationId, OperationInfo> {
  const operations = new Map<DingTalkOperationId, OperationInfo>();
  const metering = meteringOf(doc);
  for (const { path, method, operation } of operationsOf(doc)) {
    const errors = documentedErrorCodes(doc, operation);
    const security = operation.security ?? doc.security ?? [];
    const permission = operation['x-dingtalk-permission'];
    operations.set(operation.operationId as DingTalkOperationId, {
      operationId: operation.operationId as DingTalkOperationId,
      method: method.toUpperCase(),
      path,
      routePath: path.replace(/\{([^}]+)\}/g, ':$1'),
      ...(permission ? { permission } : {}),
      requiresToken: security.length > 0,
      metered: metering.isMetered(operation.operationId),
      errors,
    });
  }
  return operations;
}

/** The documented status of a code on an operation, e.g. `InvalidAuthentication` → 400. */
export function statusOfCode(operation: OperationInfo, code: string): number | undefined {
  for (const [status, codes] of operation.errors) if (codes.has(code)) return status;
  return undefined;
}
