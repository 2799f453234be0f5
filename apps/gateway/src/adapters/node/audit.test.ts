import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { mintApiKey } from './api-key.js';
import { startGateway } from './server.js';

describe('the audit log (observability.auditFile)', () => {
  it('records the start, each reload with what it changed (keys by tenant, hash prefix and label), a refused reload, and the stop; never a key', async () => {
    const auditFile = join(mkdtempSync(join(tmpdir(), 'dtg-audit-')), 'audit', 'audit.jsonl');
    const first = mintApiKey();
    const second = mintApiKey();
    const tenant = (sha256: string, label: string) => ({ name: 'T', app: 'full', apiKeys: [{ sha256, label }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 1, burst: 1 } });
    const config = (tenants: Record<string, unknown>, port = 0) =>
      configSchema.parse({
        server: { port },
        upstream: { baseUrl: 'http://127.0.0.1:9' },
        apps: { full: { type: 'internal', appKey: 'dingaudit', appSecretEnv: 'S' } },
        tenants,
        ledger: { file: join(auditFile, '..', 'ledger.json') },
        observability: { logLevel: 'silent', metrics: { enabled: false }, auditFile },
      });
    const running = await startGateway({ config: config({ team: tenant(first.sha256, 'q1') }), env: { S: 'secret' }, logger: pino({ level: 'silent' }) });
    expect(running.reload(config({ team: tenant(first.sha256, 'q1'), ops: tenant(second.sha256, 'ops q2') })).ok).toBe(true);
    expect(running.reload(config({ team: tenant(first.sha256, 'q1') }, 1)).ok).toBe(false);
    await running.close();

    const text = readFileSync(auditFile, 'utf8');
    expect(text).not.toContain(first.key);
    expect(text).not.toContain(second.key);
    expect(text).not.toContain('secret');
    const lines = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => [line.log, line.event, line.ok])).toEqual([
      ['audit', 'start', undefined],
      ['audit', 'reload', true],
      ['audit', 'reload', false],
      ['audit', 'stop', undefined],
    ]);
    expect(lines[0]).toMatchObject({ generation: 1, apps: ['full'], tenants: 1, keys: 1 });
    expect(lines[1]).toMatchObject({ generation: 2, tenants: { added: ['ops'], removed: [], changed: [] }, keys: { added: [`ops:${second.sha256.slice(0, 12)} "ops q2"`], removed: [] } });
    expect(lines[2]).toMatchObject({ generation: 2, message: 'needs a restart, not a reload: server.port changed' });
    expect(lines[3]).toMatchObject({ generation: 2 });
    expect(typeof lines[0]!.time).toBe('string');
  });
});
