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
import { type JsonObject, type OpenApiDocument, operationsOf } from '@dingtalk-gateway/spec';
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
  /** Documented codes per HTTP status, each with the spec's example message when it has one. */
  errors: ReadonlyMap<number, ReadonlyMap<string, string | undefined>>;
}

type Resolver = (value: JsonObject) => JsonObject;

const resolverFor = (doc: OpenApiDocument): Resolver => {
  const resolve: Resolver = (value) => {
    const ref = value.$ref;
    if (typeof ref !== 'string') return value;
    let target: unknown = doc;
    for (const part of ref.replace(/^#\//, '').split('/')) target = (target as JsonObject)[part];
    if (typeof target !== 'object' || target === null) throw new Error(`spec: unresolvable $ref ${ref}`);
    return resolve(target as JsonObject);
  };
  return resolve;
};

/** Every string in the `enum`s that constrain `code`, through `allOf`/`anyOf`/`oneOf`. */
function codesOf(schema: JsonObject, resolve: Resolver): string[] {
  const s = resolve(schema);
  const codes: string[] = [];
  const code = (s.properties as Record<string, JsonObject> | undefined)?.code;
  if (code) codes.push(...enumsOf(code, resolve));
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    for (const sub of (s[key] as JsonObject[] | undefined) ?? []) codes.push(...codesOf(sub, resolve));
  }
  return codes;
}

function enumsOf(schema: JsonObject, resolve: Resolver): string[] {
  const s = resolve(schema);
  const values = Array.isArray(s.enum) ? (s.enum as string[]) : [];
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    for (const sub of (s[key] as JsonObject[] | undefined) ?? []) values.push(...enumsOf(sub, resolve));
  }
  return values;
}

function exampleMessages(media: JsonObject, resolve: Resolver): Map<string, string> {
  const messages = new Map<string, string>();
  const add = (value: unknown) => {
    const v = value as { code?: unknown; message?: unknown } | undefined;
    if (typeof v?.code === 'string' && typeof v.message === 'string') messages.set(v.code, v.message);
  };
  add(media.example);
  for (const example of Object.values((media.examples as Record<string, JsonObject> | undefined) ?? {})) add(resolve(example).value);
  return messages;
}

export function operationsFromSpec(doc: OpenApiDocument): Map<DingTalkOperationId, OperationInfo> {
  const resolve = resolverFor(doc);
  const operations = new Map<DingTalkOperationId, OperationInfo>();
  for (const { path, method, operation } of operationsOf(doc)) {
    const errors = new Map<number, Map<string, string | undefined>>();
    for (const [status, response] of Object.entries(operation.responses)) {
      if (!/^[45]\d\d$/.test(status)) continue;
      const media = (resolve(response).content as Record<string, JsonObject> | undefined)?.['application/json'];
      if (!media) continue;
      const messages = exampleMessages(media, resolve);
      errors.set(Number(status), new Map(codesOf(media.schema as JsonObject, resolve).map((code) => [code, messages.get(code)])));
    }
    const security = operation.security ?? doc.security ?? [];
    const permission = operation['x-dingtalk-permission'];
    operations.set(operation.operationId as DingTalkOperationId, {
      operationId: operation.operationId as DingTalkOperationId,
      method: method.toUpperCase(),
      path,
      routePath: path.replace(/\{([^}]+)\}/g, ':$1'),
      ...(permission ? { permission } : {}),
      requiresToken: security.length > 0,
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
