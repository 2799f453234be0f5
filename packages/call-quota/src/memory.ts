/**
 * The ledger of one instance: in memory, decided at once (no promise on the request path), and
 * optionally kept in a file (`persistence`, see `./file`) so that a restart loses nothing and a
 * crash at most what was counted since the last write (`flushEveryMs`, 1 s by default).
 *
 * ```ts
 * const ledger = new MemoryQuotaLedger({ persistence: fileLedgerPersistence('/var/lib/dtg/ledger.json') });
 * ```
 */
import { type MonthUsage, type OrgUsage, type QuotaAccount, type QuotaLedger, type Reservation, decide } from './interface.js';
import type { Month } from './month.js';

/** What a ledger writes and reads back: every month it keeps. */
export interface LedgerSnapshot {
  version: 1;
  months: Record<Month, MonthUsage['orgs']>;
}

export interface LedgerPersistence {
  /** The snapshot last saved, or undefined when there is none yet. Throws when it exists but cannot be read. */
  load(): LedgerSnapshot | undefined;
  /** Replaces the saved snapshot, atomically (a crash leaves the old one or the new one). */
  save(snapshot: LedgerSnapshot): void;
}

export interface MemoryQuotaLedgerOptions {
  persistence?: LedgerPersistence;
  /** How often counts are written, at most (only when something changed). Default 1000 ms. */
  flushEveryMs?: number;
  /** Months kept, the newest first (older ones are dropped when written). Default 13. */
  keepMonths?: number;
  /** Called when a write fails (the counts stay in memory and the next write retries). */
  onFlushError?: (error: unknown) => void;
}

export class MemoryQuotaLedger implements QuotaLedger {
  readonly #months = new Map<Month, Map<string, OrgUsage>>();
  readonly #persistence: LedgerPersistence | undefined;
  readonly #keepMonths: number;
  readonly #onFlushError: (error: unknown) => void;
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  #dirty = false;

  constructor(options: MemoryQuotaLedgerOptions = {}) {
    this.#persistence = options.persistence;
    this.#keepMonths = options.keepMonths ?? 13;
    this.#onFlushError = options.onFlushError ?? (() => {});
    const saved = this.#persistence?.load();
    for (const [month, orgs] of Object.entries(saved?.months ?? {})) this.#months.set(month, new Map(Object.entries(structuredClone(orgs))));
    if (this.#persistence) {
      // Written once at once: a file that cannot be written is found at start, not a second in.
      this.#persistence.save(this.snapshot());
      this.#timer = setInterval(() => this.flush(), options.flushEveryMs ?? 1000);
      // Counting must not keep a process alive that is otherwise done.
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  reserve(account: QuotaAccount, operationId: string, month: Month): Reservation {
    const org = this.#org(month, account.org);
    const tenant = (org.tenants[account.tenant] ??= { used: 0, operations: {} });
    const decision = decide(account, org, tenant.used);
    if (decision.granted) this.#add(account, org, operationId, 1);
    return decision;
  }

  release(account: QuotaAccount, operationId: string, month: Month, calls = 1): void {
    this.#add(account, this.#org(month, account.org), operationId, -calls);
  }

  orgSpent(org: string, month: Month, quota: number): void {
    const usage = this.#org(month, org);
    usage.spentAtQuota = Math.max(usage.spentAtQuota ?? 0, quota);
    this.#dirty = true;
  }

  orgUsage(org: string, month: Month): OrgUsage {
    return structuredClone(this.#months.get(month)?.get(org) ?? { used: 0, poolUsed: 0, tenants: {} });
  }

  usage(month: Month): MonthUsage {
    return { month, orgs: Object.fromEntries([...(this.#months.get(month) ?? [])].map(([org, usage]) => [org, structuredClone(usage)])) };
  }

  /** Writes the counts now if they changed since the last write. */
  flush(): void {
    if (!this.#persistence || !this.#dirty) return;
    try {
      this.#persistence.save(this.snapshot());
      this.#dirty = false;
    } catch (error) {
      this.#onFlushError(error);
    }
  }

  /** Every month kept, the newest `keepMonths`. */
  snapshot(): LedgerSnapshot {
    const months = [...this.#months.keys()].sort().reverse().slice(0, this.#keepMonths);
    return { version: 1, months: Object.fromEntries(months.map((month) => [month, this.usage(month).orgs])) };
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.flush();
  }

  #org(month: Month, org: string): OrgUsage {
    let orgs = this.#months.get(month);
    if (!orgs) this.#months.set(month, (orgs = new Map()));
    let usage = orgs.get(org);
    if (!usage) orgs.set(org, (usage = { used: 0, poolUsed: 0, tenants: {} }));
    return usage;
  }

  #add(account: QuotaAccount, org: OrgUsage, operationId: string, calls: number): void {
    const tenant = (org.tenants[account.tenant] ??= { used: 0, operations: {} });
    org.used += calls;
    tenant.used += calls;
    tenant.operations[operationId] = (tenant.operations[operationId] ?? 0) + calls;
    if (account.allocation === undefined) org.poolUsed += calls;
    this.#dirty = true;
  }
}
