/**
 * The call-economy workload: what a dozen internal services ask of one DingTalk org in a busy
 * hour, as a fixed, seeded list of caller requests, so every variant of the scenario replays
 * exactly the same one. Mostly reads of a few hot Knowledge Bases (a Zipf skew over the
 * workspaces), list pages for two people, a few writes that make some of those reads stale, and
 * some writes sent twice, as a client does when the answer to its first try is lost.
 *
 * ```ts
 * const requests = callEconomyWorkload({ requests: 4_000, workspaceIds, operatorIds: [alice, bob], seed: 1 });
 * ```
 */

import { seededRandom } from '@dingtalk-gateway/test-support/random';

export type EconomyOperation = 'getWorkspace' | 'listWorkspaces' | 'createWorkspaceDoc' | 'addWorkspace';

export interface CallerRequest {
  operationId: EconomyOperation;
  method: 'GET' | 'POST';
  /** Path and query, as sent to the gateway. */
  path: string;
  body?: string;
  /** A write whose first answer the caller does not see: it sends the same request again. */
  sentTwice: boolean;
}

/** The share of each operation among the caller's requests (they add up to 1). */
export const ECONOMY_MIX: Readonly<Record<EconomyOperation, number>> = {
  getWorkspace: 0.78,
  listWorkspaces: 0.14,
  createWorkspaceDoc: 0.06,
  addWorkspace: 0.02,
};

export interface WorkloadOptions {
  /** Caller requests, retries not included. */
  requests: number;
  /** The Knowledge Bases read and written, hottest first (the first operator is a member of each). */
  workspaceIds: readonly string[];
  /** Who reads and writes: the first reads the workspaces and writes; each lists its own. */
  operatorIds: readonly string[];
  seed: number;
  /** The share of writes sent twice. Default 0.1. */
  retriedShare?: number;
  /** The Zipf exponent of the workspaces' popularity. Default 1. */
  zipfExponent?: number;
}

/** Picks index k of `n` with probability ∝ 1 / (k + 1)^s. */
export function zipfPicker(n: number, exponent: number, random: () => number): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) cumulative[k] = total += 1 / (k + 1) ** exponent;
  return () => {
    const target = random() * total;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (cumulative[middle]! > target) high = middle;
      else low = middle + 1;
    }
    return low;
  };
}

export function callEconomyWorkload(options: WorkloadOptions): CallerRequest[] {
  const { workspaceIds, operatorIds } = options;
  if (workspaceIds.length === 0 || operatorIds.length === 0) throw new RangeError('the workload needs at least one workspace and one operator');
  const random = seededRandom(options.seed);
  const hot = zipfPicker(workspaceIds.length, options.zipfExponent ?? 1, random);
  const retriedShare = options.retriedShare ?? 0.1;
  const writer = encodeURIComponent(operatorIds[0]!);
  const thresholds = Object.entries(ECONOMY_MIX).reduce<Array<[EconomyOperation, number]>>((list, [operation, share]) => [...list, [operation as EconomyOperation, (list.at(-1)?.[1] ?? 0) + share]], []);

  const requests: CallerRequest[] = [];
  for (let i = 0; i < options.requests; i++) {
    const draw = random();
    const operationId = (thresholds.find(([, upTo]) => draw < upTo) ?? thresholds.at(-1)!)[0];
    switch (operationId) {
      case 'getWorkspace':
        requests.push({ operationId, method: 'GET', path: `/v2.0/wiki/workspaces/${workspaceIds[hot()]}?operatorId=${writer}`, sentTwice: false });
        break;
      case 'listWorkspaces': {
        const reader = encodeURIComponent(operatorIds[Math.floor(random() * operatorIds.length)]!);
        requests.push({ operationId, method: 'GET', path: `/v2.0/wiki/workspaces?operatorId=${reader}&maxResults=20`, sentTwice: false });
        break;
      }
      case 'createWorkspaceDoc':
        requests.push({
          operationId,
          method: 'POST',
          path: `/v1.0/doc/workspaces/${workspaceIds[hot()]}/docs`,
          body: JSON.stringify({ name: `Meeting notes ${i}`, docType: 'DOC', operatorId: operatorIds[0] }),
          sentTwice: random() < retriedShare,
        });
        break;
      case 'addWorkspace':
        requests.push({ operationId, method: 'POST', path: `/v2.0/wiki/workspaces?operatorId=${writer}`, body: JSON.stringify({ name: `Project ${i}` }), sentTwice: random() < retriedShare });
        break;
    }
  }
  return requests;
}
