import { readFile } from 'node:fs/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayConfig, configSchema } from './schema.js';
import { MissingSecretError, secretsFromEnvironment } from './secrets.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gateway-secrets-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const tenant = (app: string) => ({ name: app, app, apiKeys: [{ sha256: 'a'.repeat(64) }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 1, burst: 1 } });

function config(ticketFile = join(dir, 'ticket')): GatewayConfig {
  return configSchema.parse({
    apps: {
      internal: { type: 'internal', appKey: 'dingkey', appSecretEnv: 'INTERNAL_SECRET' },
      'isv-env': { type: 'isv', suiteKey: 'suite1', suiteSecretEnv: 'SUITE1_SECRET', authCorpId: 'corp', suiteTicket: { env: 'SUITE1_TICKET' } },
      'isv-file': { type: 'isv', suiteKey: 'suite2', suiteSecretEnv: 'SUITE2_SECRET', authCorpId: 'corp', suiteTicket: { file: ticketFile } },
    },
    tenants: { a: tenant('internal'), b: tenant('isv-env'), c: tenant('isv-file') },
  });
}

const fullEnv = (): NodeJS.ProcessEnv => ({
  INTERNAL_SECRET: 'internal-secret',
  SUITE1_SECRET: 'suite1-secret',
  SUITE1_TICKET: 'ticket-from-env',
  SUITE2_SECRET: 'suite2-secret',
});

function missingError(env: NodeJS.ProcessEnv): MissingSecretError {
  try {
    secretsFromEnvironment(config(), env);
  } catch (error) {
    expect(error).toBeInstanceOf(MissingSecretError);
    return error as MissingSecretError;
  }
  throw new Error('expected a MissingSecretError');
}

describe('secretsFromEnvironment', () => {
  it('gives each app its secret from the variable the config names', () => {
    const secrets = secretsFromEnvironment(config(), fullEnv());
    expect(secrets.appSecret('internal')).toBe('internal-secret');
    expect(secrets.appSecret('isv-env')).toBe('suite1-secret');
    expect(secrets.appSecret('isv-file')).toBe('suite2-secret');
  });

  it('lists every missing variable at once, each with its config path', () => {
    const error = missingError({});
    expect(error.name).toBe('MissingSecretError');
    expect(error.message).toBe(
      [
        'missing DingTalk secrets:',
        '  apps.internal.appSecretEnv: environment variable INTERNAL_SECRET is not set',
        '  apps.isv-env.suiteSecretEnv: environment variable SUITE1_SECRET is not set',
        '  apps.isv-env.suiteTicket.env: environment variable SUITE1_TICKET is not set',
        '  apps.isv-file.suiteSecretEnv: environment variable SUITE2_SECRET is not set',
      ].join('\n'),
    );
  });

  it('treats an empty variable as missing, and names only what is missing', () => {
    const error = missingError({ ...fullEnv(), INTERNAL_SECRET: '', SUITE1_TICKET: undefined });
    expect(error.message.split('\n').slice(1)).toEqual([
      '  apps.internal.appSecretEnv: environment variable INTERNAL_SECRET is not set',
      '  apps.isv-env.suiteTicket.env: environment variable SUITE1_TICKET is not set',
    ]);
  });

  it('never puts a secret value in its error message', () => {
    const error = missingError({ ...fullEnv(), SUITE2_SECRET: undefined });
    for (const value of Object.values(fullEnv())) expect(error.message).not.toContain(value);
  });

  it('refuses an app id the config does not have', () => {
    const secrets = secretsFromEnvironment(config(), fullEnv());
    expect(() => secrets.appSecret('nope')).toThrow('no DingTalk app "nope" in the config');
    expect(() => secrets.appSecret('toString')).toThrow(/no DingTalk app/);
  });

  it('reads the suite ticket from its env variable at each call', async () => {
    const env = fullEnv();
    const secrets = secretsFromEnvironment(config(), env);
    expect(await secrets.suiteTicket('isv-env')).toBe('ticket-from-env');
    env.SUITE1_TICKET = '  rotated-ticket\n';
    expect(await secrets.suiteTicket('isv-env')).toBe('rotated-ticket');
  });

  it('reads the suite ticket from its file at each call, so a rotated ticket is picked up', async () => {
    const file = join(dir, 'ticket');
    const secrets = secretsFromEnvironment(config(file), fullEnv(), (path) => readFile(path, 'utf8'));
    writeFileSync(file, 'first-ticket\n');
    expect(await secrets.suiteTicket('isv-file')).toBe('first-ticket');
    writeFileSync(file, 'second-ticket');
    expect(await secrets.suiteTicket('isv-file')).toBe('second-ticket');
  });

  it('fails the ticket read (not the start) when the ticket file is missing', async () => {
    const secrets = secretsFromEnvironment(config(join(dir, 'not-yet-written')), fullEnv(), (path) => readFile(path, 'utf8'));
    await expect(secrets.suiteTicket('isv-file')).rejects.toThrow(/ENOENT/);
  });

  it('has no suite ticket for an internal or unknown app', async () => {
    const secrets = secretsFromEnvironment(config(), fullEnv());
    await expect(secrets.suiteTicket('internal')).rejects.toThrow('app "internal" is not an ISV app');
    await expect(secrets.suiteTicket('nope')).rejects.toThrow('app "nope" is not an ISV app');
  });
});
