/**
 * Call counters, so tests can prove what a client did to DingTalk: how many tokens the gateway
 * fetched, how many calls an app made, which statuses came back.
 *
 * Every request matched to a spec operation counts in `byOperation` and `byStatus`, whatever
 * its outcome (refused, faulted, dropped). `byApp` attributes a call to the app it came from:
 * the token's app for APIs (calls with a missing or invalid token belong to no app), the
 * `appKey`/`suiteKey` in the body for the token endpoints. `tokensIssued` counts new tokens
 * only: an internal app's repeated call that returns the same token is not a new one.
 * `metered` counts, per org (corpId) and quota month, the metered calls DingTalk processed (see
 * `MonthlyQuota`): what the org's monthly quota is spent by. `bannedCalls` counts the calls
 * answered by the per-IP ban (they reach no operation, so they are in no other counter).
 * The admin API is never counted.
 *
 * ```ts
 * sandbox.counters.snapshot();
 * // { total: 4, byOperation: { getAccessToken: 1, listWorkspaces: 3 },
 * //   byApp: { dingsandboxfullaccess: { getAccessToken: 1, listWorkspaces: 3 } },
 * //   byStatus: { getAccessToken: { '200': 1 }, listWorkspaces: { '200': 2, '403': 1 } },
 * //   tokensIssued: { dingsandboxfullaccess: 1 } }
 * ```
 */
export interface CountersSnapshot {
  total: number;
  byOperation: Record<string, number>;
  byApp: Record<string, Record<string, number>>;
  byStatus: Record<string, Record<string, number>>;
  tokensIssued: Record<string, number>;
  /** Metered calls that counted, by corpId, then month (`YYYY-MM`, China Standard Time). */
  metered: Record<string, Record<string, number>>;
  bannedCalls: number;
}

const bump = (map: Record<string, number>, key: string) => {
  map[key] = (map[key] ?? 0) + 1;
};

export class CallCounters {
  #data: CountersSnapshot = CallCounters.#empty();

  static #empty(): CountersSnapshot {
    return { total: 0, byOperation: {}, byApp: {}, byStatus: {}, tokensIssued: {}, metered: {}, bannedCalls: 0 };
  }

  call(operationId: string): void {
    this.#data.total++;
    bump(this.#data.byOperation, operationId);
  }

  attribute(appKey: string, operationId: string): void {
    bump((this.#data.byApp[appKey] ??= {}), operationId);
  }

  status(operationId: string, status: number | 'dropped'): void {
    bump((this.#data.byStatus[operationId] ??= {}), String(status));
  }

  tokenIssued(appKey: string): void {
    bump(this.#data.tokensIssued, appKey);
  }

  metered(corpId: string, month: string): void {
    bump((this.#data.metered[corpId] ??= {}), month);
  }

  meteredCalls(corpId: string, month: string): number {
    return this.#data.metered[corpId]?.[month] ?? 0;
  }

  banned(): void {
    this.#data.bannedCalls++;
  }

  /** A deep copy: later calls do not change it. */
  snapshot(): CountersSnapshot {
    return structuredClone(this.#data);
  }

  reset(): void {
    this.#data = CallCounters.#empty();
  }
}
