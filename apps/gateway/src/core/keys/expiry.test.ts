import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import type { LogFn } from '../observability/logger.js';
import { warnOfKeyExpiries } from './expiry.js';

describe('warnOfKeyExpiries (at start and on every reload)', () => {
  it('warns of keys expiring within 14 days and of keys already expired, by hash prefix, and says nothing of the others', () => {
    const key = (c: string, expiresAt?: string) => ({ sha256: c.repeat(64), label: `key ${c}`, ...(expiresAt ? { expiresAt } : {}) });
    const config = configSchema.parse({
      apps: { bot: { type: 'internal', appKey: 'k', appSecretEnv: 'S' } },
      tenants: {
        team: { name: 'Team', app: 'bot', scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 1, burst: 1 }, apiKeys: [key('a', '2027-03-10T00:00:00Z'), key('b', '2027-02-01T00:00:00Z'), key('c', '2027-06-01T00:00:00Z'), key('d')] },
      },
    });
    const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const log = ((fields: object | string, message?: string) => void lines.push({ fields: fields as Record<string, unknown>, message: message ?? '' })) as LogFn;
    warnOfKeyExpiries(config, Date.parse('2027-03-01T00:00:00Z'), { debug: log, info: log, warn: log, error: log });
    expect(lines).toEqual([
      { fields: { tenant: 'team', key: 'a'.repeat(12), label: 'key a', expiresAt: '2027-03-10T00:00:00Z', daysLeft: 9 }, message: 'an API key expires soon: mint its successor' },
      { fields: { tenant: 'team', key: 'b'.repeat(12), label: 'key b', expiresAt: '2027-02-01T00:00:00Z' }, message: 'an API key in the config has expired: it is refused; remove it' },
    ]);
  });
});
