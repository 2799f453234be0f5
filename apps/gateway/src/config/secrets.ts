/**
 * Secrets come from environment variables named in the config, never from the config itself,
 * and are checked once at start so a missing one stops the gateway there rather than failing
 * the first request. The gateway core sees only `SecretSource`.
 */
import type { GatewayConfig } from './schema.js';

/** Reads an ISV app's `suiteTicket.file` (Node's `fs`; a runtime without files has none). */
export type TicketFileReader = (path: string) => Promise<string>;

const noFiles: TicketFileReader = async (path) => {
  throw new Error(`suiteTicket.file (${path}) cannot be read on this runtime: use suiteTicket.env`);
};

export interface SecretSource {
  /** The appSecret of an internal app, or the suiteSecret of an ISV app. */
  appSecret(appId: string): string;
  /** The current suiteTicket of an ISV app, read anew at every token fetch. */
  suiteTicket(appId: string): Promise<string>;
}

export class MissingSecretError extends Error {
  override readonly name = 'MissingSecretError';
}

export function secretsFromEnvironment(config: GatewayConfig, env: Readonly<Record<string, string | undefined>>, readTicketFile: TicketFileReader = noFiles): SecretSource {
  const secrets = new Map<string, string>();
  const missing: string[] = [];
  for (const [appId, app] of Object.entries(config.apps)) {
    const field = app.type === 'internal' ? 'appSecretEnv' : 'suiteSecretEnv';
    const name = app.type === 'internal' ? app.appSecretEnv : app.suiteSecretEnv;
    const value = env[name];
    if (value) secrets.set(appId, value);
    else missing.push(`apps.${appId}.${field}: environment variable ${name} is not set`);
    if (app.type === 'isv' && 'env' in app.suiteTicket && !env[app.suiteTicket.env]) {
      missing.push(`apps.${appId}.suiteTicket.env: environment variable ${app.suiteTicket.env} is not set`);
    }
  }
  if (missing.length > 0) throw new MissingSecretError(`missing DingTalk secrets:\n  ${missing.join('\n  ')}`);

  return {
    appSecret(appId) {
      const secret = secrets.get(appId);
      if (secret === undefined) throw new Error(`no DingTalk app "${appId}" in the config`);
      return secret;
    },
    async suiteTicket(appId) {
      const app = config.apps[appId];
      if (app?.type !== 'isv') throw new Error(`app "${appId}" is not an ISV app`);
      const source = 'env' in app.suiteTicket ? `environment variable ${app.suiteTicket.env}` : `file ${app.suiteTicket.file}`;
      const ticket = ('env' in app.suiteTicket ? env[app.suiteTicket.env] : await readTicketFile(app.suiteTicket.file))?.trim();
      if (!ticket) throw new Error(`the suiteTicket of app ${appId} (${source}) is empty`);
      return ticket;
    },
  };
}
