/**
 * Which calls count towards an org's monthly call quota, from the spec: an operation is metered
 * when its `x-dingtalk-metered` is true (every operation says, true or false), and a metered
 * call counts unless DingTalk's answer is one the document's `x-dingtalk-metering.notCounted`
 * lists (the platform refused it before the API ran) or is not DingTalk's JSON at all (the
 * per-IP ban's page). The sandbox counts by it and the gateway's ledger counts by it, so the two
 * agree call for call.
 *
 * ```ts
 * const metering = meteringOf(doc);
 * metering.isMetered('addWorkspace'); // true
 * metering.counts({ status: 400, code: 'paramError.name' }); // true: the API ran and refused it
 * metering.counts({ status: 403, code: 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi' }); // false
 * ```
 */
import { type OpenApiDocument, operationsOf } from './openapi-document.js';

export const METERED = 'x-dingtalk-metered';
export const METERING = 'x-dingtalk-metering';

/** DingTalk's answer to one call, as far as counting goes: its status, and its JSON `code` if it has one. */
export interface CallAnswer {
  readonly status: number;
  /** The error body's `code`; `undefined` for a success, or for an answer that is not DingTalk's JSON. */
  readonly code: string | undefined;
}

export interface Metering {
  /** Whether calls of this operation count towards the org's month. Throws for an unknown operation. */
  isMetered(operationId: string): boolean;
  /** Whether a call of a metered operation that got this answer counted. */
  counts(answer: CallAnswer): boolean;
  /** The codes of answers that did not count. */
  readonly notCounted: ReadonlySet<string>;
}

export function meteringOf(doc: OpenApiDocument): Metering {
  const byOperation = new Map<string, boolean>();
  for (const { path, method, operation } of operationsOf(doc)) {
    const metered = operation[METERED];
    if (typeof metered !== 'boolean') throw new Error(`spec: ${method.toUpperCase()} ${path} needs ${METERED}: true or false`);
    byOperation.set(operation.operationId, metered);
  }
  const notCounted = (doc[METERING] as { notCounted?: unknown } | undefined)?.notCounted;
  if (!Array.isArray(notCounted) || !notCounted.every((code) => typeof code === 'string')) {
    throw new Error(`spec: ${METERING}.notCounted must list the codes of answers that do not count`);
  }
  const codes: ReadonlySet<string> = new Set(notCounted as string[]);
  return {
    isMetered(operationId) {
      const metered = byOperation.get(operationId);
      if (metered === undefined) throw new Error(`spec: no operation ${operationId}`);
      return metered;
    },
    counts: ({ status, code }) => (status < 400 ? true : code !== undefined && !codes.has(code)),
    notCounted: codes,
  };
}
