/**
 * What the core logs through: pino's call shape (`logger.info(fields, message)` or
 * `logger.info(message)`), so a pino logger fits as it is where the runtime has one (the Node
 * adapter passes pino), and `consoleLogger` serves any runtime with a `console` (Workers, where
 * the console is the log).
 *
 * ```ts
 * const logger: GatewayLogger = consoleLogger('info');
 * logger.warn({ app: 'full' }, 'DingTalk token fetch failed'); // {"level":40,"time":…,"app":"full","msg":"…"}
 * ```
 */

export interface LogFn {
  (fields: object, message: string): void;
  (message: string): void;
}

export interface GatewayLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** pino's numbers, so that lines from either logger read the same. */
const LEVELS: Record<Exclude<LogLevel, 'silent'>, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** One JSON line per entry on `console.log`, pino's fields (`level`, `time`, `msg`), entries below `level` dropped. */
export function consoleLogger(level: LogLevel, write: (line: string) => void = (line) => console.log(line)): GatewayLogger {
  const threshold = level === 'silent' ? Number.POSITIVE_INFINITY : LEVELS[level];
  const at = (value: number): LogFn => {
    if (value < threshold) return () => {};
    return (fieldsOrMessage: object | string, message?: string) => {
      const fields = typeof fieldsOrMessage === 'string' ? {} : fieldsOrMessage;
      const msg = typeof fieldsOrMessage === 'string' ? fieldsOrMessage : message;
      write(JSON.stringify({ level: value, time: Date.now(), ...fields, msg }));
    };
  };
  return { debug: at(LEVELS.debug), info: at(LEVELS.info), warn: at(LEVELS.warn), error: at(LEVELS.error) };
}
