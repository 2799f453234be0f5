/**
 * The memory ledger's file (Node only): JSON, replaced atomically (written beside it, flushed to
 * disk, then renamed over it), so a crash leaves the last complete write. The gateway owns the
 * file; one instance per file.
 *
 * ```ts
 * const ledger = new MemoryQuotaLedger({ persistence: fileLedgerPersistence('/var/lib/dingtalk-gateway/ledger.json') });
 * ```
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LedgerPersistence, LedgerSnapshot } from './memory.js';

export function fileLedgerPersistence(path: string): LedgerPersistence {
  return {
    load() {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      const snapshot = JSON.parse(text) as LedgerSnapshot;
      if (snapshot?.version !== 1 || typeof snapshot.months !== 'object' || snapshot.months === null) {
        throw new Error(`${path} is not a call ledger (expected {"version":1,"months":{…}})`);
      }
      return snapshot;
    },
    save(snapshot) {
      mkdirSync(dirname(path), { recursive: true });
      const temporary = `${path}.${process.pid}.tmp`;
      const fd = openSync(temporary, 'w', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(snapshot)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, path);
    },
  };
}
