/**
 * `@dingtalk-gateway/call-quota`: DingTalk's monthly call quota per org as an object of its own.
 *
 * - `month.ts`: the quota month, the calendar month in China Standard Time.
 * - `interface.ts`: the ledger (`QuotaLedger`): reserve a call against an org's quota and a
 *   tenant's allocation (or the org's pool), release it if it did not count, mark the month spent
 *   when DingTalk says so, read a month's usage.
 * - `MemoryQuotaLedger`: one instance, optionally persisted by `@dingtalk-gateway/call-quota/file`
 *   (Node). `@dingtalk-gateway/call-quota/redis`: shared by every instance.
 */
export { CST_OFFSET_MS, type Month, type MonthSpan, isMonth, monthOf, monthSpanOf, monthStart, nextMonthStart } from './month.js';
export {
  type MonthUsage,
  type OrgUsage,
  type QuotaAccount,
  type QuotaLedger,
  type QuotaLimitName,
  type Reservation,
  type TenantUsage,
  decide,
  orgMonthSpent,
} from './interface.js';
export { type LedgerPersistence, type LedgerSnapshot, MemoryQuotaLedger, type MemoryQuotaLedgerOptions } from './memory.js';
