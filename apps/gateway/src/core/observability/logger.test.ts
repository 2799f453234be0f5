import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type GatewayLogger, consoleLogger } from './logger.js';

describe('consoleLogger', () => {
  it("writes pino's JSON line shape, with or without fields, and drops what is below its level", () => {
    const lines: string[] = [];
    const logger = consoleLogger('info', (line) => lines.push(line));
    logger.debug({ hidden: true }, 'not written');
    logger.info({ app: 'full', durationMs: 12 }, 'DingTalk token fetched');
    logger.warn('not ready');
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { level: 30, time: expect.any(Number), app: 'full', durationMs: 12, msg: 'DingTalk token fetched' },
      { level: 40, time: expect.any(Number), msg: 'not ready' },
    ]);
  });

  it('writes nothing when silent', () => {
    const lines: string[] = [];
    const logger = consoleLogger('silent', (line) => lines.push(line));
    logger.error({ error: 'x' }, 'unhandled error');
    expect(lines).toEqual([]);
  });

  it('is what pino is, so the Node adapter passes pino as it is', () => {
    const logger: GatewayLogger = pino({ level: 'silent' });
    expect(typeof logger.info).toBe('function');
  });
});
