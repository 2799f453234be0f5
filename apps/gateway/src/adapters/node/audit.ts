/**
 * The audit log: one JSON line per event an operator must be able to account for (the start,
 * every reload with what it changed, every revocation an instance sees, the stop), never a key,
 * token or secret (keys by tenant, hash prefix and label). Its own stream: `observability.auditFile`
 * (appended, written synchronously) or, by default, stdout beside the access log with every line
 * tagged `"log":"audit"`. Written whatever the log level.
 *
 * ```ts
 * const audit = createAuditLog(config, destination);
 * audit.record('reload', { ok: true, generation: 2, changes });
 * ```
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import type { GatewayConfig } from '../../config/schema.js';

export interface AuditLog {
  record(event: 'start' | 'reload' | 'revocation' | 'stop', fields: Record<string, unknown>): void;
  /** Writes what is pending (a file destination) before the process exits. */
  flush(): void;
}

/** `stdout` is where the access log goes (the Node entry's batched stdout), used when no `auditFile` is set. */
export function createAuditLog(config: GatewayConfig, stdout: DestinationStream | Logger): AuditLog {
  const file = config.observability.auditFile;
  const options = { level: 'info', base: { log: 'audit' }, timestamp: pino.stdTimeFunctions.isoTime };
  const destination = file ? pino.destination({ dest: file, append: true, sync: true, mkdir: true }) : undefined;
  const logger = destination ? pino(options, destination) : isLogger(stdout) ? stdout.child({ log: 'audit' }, { level: 'info' }) : pino(options, stdout);
  return {
    record: (event, fields) => logger.info({ event, ...fields }, `audit: ${event}`),
    flush: () => destination?.flushSync(),
  };
}

const isLogger = (value: DestinationStream | Logger): value is Logger => typeof (value as Logger).child === 'function';
