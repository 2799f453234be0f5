/**
 * A valid request for every operation of the gateway contract, built from the sandbox's seeded
 * world, for the reliability tests and the soak script: the method and path come from the
 * contract, the parameters and bodies from `@dingtalk-gateway/sandbox/seed`.
 *
 * An operation added to the contract without an entry in `REQUESTS` below makes
 * `validRequest` throw, so the fault matrix and the soak cannot silently skip it.
 *
 * ```ts
 * for (const operation of contractOperations()) {
 *   const { method, path, body } = validRequest(operation, 1);
 *   await fetch(gatewayUrl + path, { method, body, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
 * }
 * ```
 */
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { type OpenApiDocument, dingtalkOperationsOf } from '@dingtalk-gateway/spec';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';

export interface ContractOperation {
  operationId: string;
  /** Upper case, e.g. `GET`. */
  method: string;
  /** The contract's path template, e.g. `/v2.0/wiki/workspaces/{workspaceId}`. */
  pathTemplate: string;
}

export interface OperationRequest {
  method: string;
  /** Path and query string. */
  path: string;
  /** JSON text, for operations with a body. */
  body?: string;
}

interface RequestParts {
  path?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

const alice = seeded.users.alice.unionId;
const handbook = seeded.workspaces.handbook.workspaceId;

/**
 * Per operation, the parts of a request the sandbox answers with a 2xx. `n` makes names unique:
 * the sandbox refuses a doc whose name already exists under the same parent.
 */
const REQUESTS: Record<string, (n: number, tag: string) => RequestParts> = {
  listWorkspaces: () => ({ query: { operatorId: alice, maxResults: '5' } }),
  getWorkspace: () => ({ path: { workspaceId: handbook }, query: { operatorId: alice } }),
  addWorkspace: (n, tag) => ({ query: { operatorId: alice }, body: { name: `Reliability ${tag} ${n}` } }),
  createWorkspaceDoc: (n, tag) => ({ path: { workspaceId: handbook }, body: { name: `Reliability ${tag} ${n}`, docType: 'DOC', operatorId: alice } }),
  addSpace: (n, tag) => ({ body: { name: `Rel ${tag} ${n}`.slice(0, 50), unionId: alice } }),
};

/** The operations of the gateway contract, in the contract's order. */
export function contractOperations(contract: OpenApiDocument = loadGatewayContract()): ContractOperation[] {
  return [...dingtalkOperationsOf(contract)].map(({ path, method, operation }) => ({
    operationId: operation.operationId,
    method: method.toUpperCase(),
    pathTemplate: path,
  }));
}

/** Operations of the contract with no entry in `REQUESTS` (should be none). */
export function operationsWithoutRequest(operations: readonly ContractOperation[]): string[] {
  return operations.map((o) => o.operationId).filter((id) => !(id in REQUESTS));
}

/** A request the sandbox answers with a 2xx; `n` and `tag` keep created names unique. */
export function validRequest(operation: ContractOperation, n: number, tag = 'run'): OperationRequest {
  const build = REQUESTS[operation.operationId];
  if (!build) throw new Error(`reliability: no valid request for operation ${operation.operationId}; add one to REQUESTS in reliability/operations.ts`);
  const parts = build(n, tag);
  const path = operation.pathTemplate.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = parts.path?.[name];
    if (value === undefined) throw new Error(`reliability: no value for path parameter ${name} of ${operation.operationId}`);
    return encodeURIComponent(value);
  });
  const query = new URLSearchParams(parts.query).toString();
  return {
    method: operation.method,
    path: query ? `${path}?${query}` : path,
    ...(parts.body !== undefined ? { body: JSON.stringify(parts.body) } : {}),
  };
}
