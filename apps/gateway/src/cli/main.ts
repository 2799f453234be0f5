#!/usr/bin/env node
/**
 * dingtalk-gateway start --config gateway.yaml     run the gateway
 * dingtalk-gateway check-config gateway.yaml       check a config file (and, with --env, its secrets)
 * dingtalk-gateway mint-key --tenant <id>          print a new API key once, and the line for the config
 * dingtalk-gateway usage --config gateway.yaml     the monthly call quota: used and left per org, tenant, operation
 * dingtalk-gateway build-worker --config gateway.yaml --out worker/   the Cloudflare Workers bundle, workerd's config and wrangler.toml
 */
import { parseArgs } from 'node:util';
import { type MonthUsage, isMonth, monthOf } from '@dingtalk-gateway/call-quota';
import { fileLedgerPersistence } from '@dingtalk-gateway/call-quota/file';
import { RedisQuotaLedger } from '@dingtalk-gateway/call-quota/redis';
import { Redis } from 'ioredis';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { MissingSecretError, secretsFromEnvironment } from '../config/secrets.js';
import type { GatewayConfig } from '../config/schema.js';
import { mintApiKey, sha256Hex } from '../adapters/node/api-key.js';
import { revokeKeys } from '../adapters/node/revocations.js';
import { tenantOfKey } from '../adapters/node/wire-gateway.js';
import { quotaPlan } from '../core/quota/plan.js';
import { formatUsage, usageRows } from '../core/quota/usage-report.js';
import { listeningLine } from './listening.js';
import { type RunningGateway, type StartGatewayOptions, startGateway } from '../adapters/node/server.js';
import { installShutdown } from '../adapters/node/shutdown.js';

const USAGE = `Usage:
  dingtalk-gateway start [--config <file>]          run the gateway (config also from GATEWAY_CONFIG); SIGHUP reloads the file
  dingtalk-gateway check-config <file> [--env]      check a config file; --env also checks that its secrets are set
  dingtalk-gateway mint-key --tenant <id> [--label <text>] [--expires <90d|12h>]
                                                    print a new API key (once) and the line to add under tenants.<id>.apiKeys
  dingtalk-gateway usage [--config <file>] [--month YYYY-MM] [--json]
                                                    the monthly call quota (China Standard Time): calls used and left per org,
                                                    tenant and operation, from the ledger (Redis, or the ledger file)
  dingtalk-gateway revoke [--config <file>] (--key <api key> | --sha256 <hash>)
                                                    revoke a key on every instance sharing the config's Redis
                                                    (refused everywhere within about a second); without Redis,
                                                    remove its hash from the config and send SIGHUP
  dingtalk-gateway build-worker [--config <file>] --out <dir>
                                                    the Cloudflare Workers bundle for this config (checked now, embedded),
                                                    a workerd.capnp to serve it with workerd, and a wrangler.toml to
                                                    deploy it to Cloudflare with wrangler`;

/** What serves the gateway: Node's server by default, Bun's from the Bun and Deno entries (`adapters/bun/main.ts`, `adapters/deno/main.ts`). */
export interface CliRuntime {
  startGateway(options: StartGatewayOptions): Promise<RunningGateway>;
}

export async function main(argv: string[], runtime: CliRuntime = { startGateway }): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await start(rest, runtime);
      case 'check-config':
        return checkConfig(rest);
      case 'mint-key':
        return mintKey(rest);
      case 'usage':
        return await usage(rest);
      case 'revoke':
        return await revoke(rest);
      case 'build-worker':
        return await buildWorkerCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        console.error(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof MissingSecretError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}

async function start(args: string[], runtime: CliRuntime): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } });
  const file = values.config ?? process.env.GATEWAY_CONFIG;
  if (!file) {
    console.error(`no config file: pass --config <file> or set GATEWAY_CONFIG\n\n${USAGE}`);
    return 2;
  }
  const contract = loadGatewayContract();
  const config = loadConfigFile(file, contract);
  const running = await runtime.startGateway({ config, env: process.env });
  console.error(listeningLine(running.url, config.upstream.baseUrl, running.metricsUrl));
  installShutdown(running.close);
  // SIGHUP: the file is read and checked again, in full, aside; applied at once, or refused with
  // the error a start would give, the last good config staying in force.
  process.on('SIGHUP', () => {
    let next: Parameters<RunningGateway['reload']>[0];
    try {
      next = loadConfigFile(file, contract);
    } catch (error) {
      next = { error: error as Error };
    }
    const outcome = running.reload(next);
    console.error(outcome.ok ? `SIGHUP: config reloaded, generation ${outcome.generation}: ${outcome.message}` : `SIGHUP: config refused, generation ${outcome.generation} stays in force: ${outcome.message}`);
  });
  return await new Promise<number>(() => {});
}

async function buildWorkerCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, out: { type: 'string', short: 'o' } } });
  const file = values.config ?? process.env.GATEWAY_CONFIG;
  if (!file || !values.out) {
    console.error(`build-worker needs --config <file> (or GATEWAY_CONFIG) and --out <dir>\n\n${USAGE}`);
    return 2;
  }
  const config = loadConfigFile(file, loadGatewayContract());
  // esbuild is loaded only by this command.
  const { buildWorker } = await import('../adapters/workers/build.js');
  const built = await buildWorker(config, file, values.out);
  console.log(
    `${built.script} (${Math.round(built.bytes / 1024)} KiB), ${built.capnp}: serve with \`workerd serve ${built.capnp}\`, the secrets in the environment; ${built.wrangler}: deploy with \`wrangler deploy\` from its directory, the secrets set with \`wrangler secret put\``,
  );
  return 0;
}

function checkConfig(args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { env: { type: 'boolean' } } });
  const file = positionals[0];
  if (!file) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfigFile(file, loadGatewayContract());
  if (values.env) secretsFromEnvironment(config, process.env);
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const orgs = [...quotaPlan(config).orgs.values()].map((org) => `${org.id} ${org.quota.toLocaleString('en-US')} calls a month, ${org.allocated.toLocaleString('en-US')} allocated`);
  console.log(
    `${file}: OK (${count(Object.keys(config.apps).length, 'app')}, ${count(Object.keys(config.tenants).length, 'tenant')}; org ${orgs.join('; org ')}${values.env ? '; secrets set' : ''})`,
  );
  return 0;
}

function mintKey(args: string[]): number {
  const { values } = parseArgs({ args, options: { tenant: { type: 'string' }, label: { type: 'string' }, expires: { type: 'string' } } });
  if (!values.tenant) {
    console.error(`mint-key needs --tenant <id>\n\n${USAGE}`);
    return 2;
  }
  const lifetimeMs = values.expires === undefined ? undefined : durationMs(values.expires);
  if (lifetimeMs === null) {
    console.error(`--expires takes a lifetime in days or hours, e.g. 90d or 12h; got "${values.expires}"`);
    return 2;
  }
  const { key, sha256 } = mintApiKey();
  const label = values.label ?? `minted ${new Date().toISOString().slice(0, 10)}`;
  // Whole seconds: the line reads as a config author would write it.
  const expiresAt = lifetimeMs === undefined ? undefined : new Date(Math.floor((Date.now() + lifetimeMs) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  console.log(`API key for tenant "${values.tenant}" (shown once; the gateway keeps only its hash):\n\n  ${key}\n`);
  // Quoted: YAML would read a hash that happens to look like a number (digits, one `e`) as one.
  console.log(`Add under tenants.${values.tenant}.apiKeys:\n\n      - { sha256: "${sha256}", label: ${JSON.stringify(label)}${expiresAt ? `, expiresAt: "${expiresAt}"` : ''} }\n`);
  return 0;
}

/** `90d` or `12h` in ms; null for anything else. */
function durationMs(text: string): number | null {
  const match = /^([1-9]\d{0,4})([dh])$/.exec(text);
  if (!match) return null;
  return Number(match[1]) * (match[2] === 'd' ? 86_400_000 : 3_600_000);
}

async function usage(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, month: { type: 'string' }, json: { type: 'boolean' } } });
  const file = values.config ?? process.env.GATEWAY_CONFIG;
  if (!file) {
    console.error(`no config file: pass --config <file> or set GATEWAY_CONFIG\n\n${USAGE}`);
    return 2;
  }
  const month = values.month ?? monthOf(Date.now());
  if (!isMonth(month)) {
    console.error(`--month must be a month as YYYY-MM, got "${month}"`);
    return 2;
  }
  const config = loadConfigFile(file, loadGatewayContract());
  const counted = await readUsage(config, month);
  const plan = quotaPlan(config);
  if (values.json) console.log(JSON.stringify({ month, rows: usageRows(plan, counted) }, null, 2));
  else process.stdout.write(formatUsage(plan, counted));
  return 0;
}

/** A month's counts where the gateway keeps them: Redis when configured, else the ledger file. Read only. */
async function readUsage(config: GatewayConfig, month: string): Promise<MonthUsage> {
  if (config.redis) {
    const url = config.redis.url ?? process.env[config.redis.urlEnv!];
    if (!url) throw new ConfigError('redis', [{ path: 'redis.urlEnv', message: `environment variable ${config.redis.urlEnv} is not set` }]);
    const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 3_000, lazyConnect: true });
    try {
      await redis.connect();
      return await new RedisQuotaLedger({ redis, prefix: config.redis.keyPrefix, timeoutMs: 5_000 }).usage(month);
    } finally {
      redis.disconnect();
    }
  }
  const snapshot = fileLedgerPersistence(config.ledger.file!).load();
  return { month, orgs: snapshot?.months[month] ?? {} };
}

async function revoke(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, key: { type: 'string' }, sha256: { type: 'string' } } });
  const file = values.config ?? process.env.GATEWAY_CONFIG;
  if (!file || (values.key === undefined) === (values.sha256 === undefined)) {
    console.error(`revoke needs --config <file> (or GATEWAY_CONFIG) and one of --key <api key> or --sha256 <hash>\n\n${USAGE}`);
    return 2;
  }
  const hash = values.key !== undefined ? sha256Hex(values.key) : values.sha256!;
  if (!/^[0-9a-f]{64}$/.test(hash)) {
    console.error('--sha256 takes the 64 lowercase hex characters of the key\'s hash, as in the config');
    return 2;
  }
  const config = loadConfigFile(file, loadGatewayContract());
  const owner = tenantOfKey(config, hash);
  if (!config.redis) {
    console.error(`${file} has no redis: each instance revokes a key when its config no longer has it. Remove the key's hash${owner ? ` from tenants.${owner}.apiKeys` : ''} and send SIGHUP to every instance.`);
    return 2;
  }
  const url = config.redis.url ?? process.env[config.redis.urlEnv!];
  if (!url) throw new ConfigError('redis', [{ path: 'redis.urlEnv', message: `environment variable ${config.redis.urlEnv} is not set` }]);
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 3_000, lazyConnect: true });
  try {
    await redis.connect();
    const added = await revokeKeys(redis, config.redis.keyPrefix, [hash]);
    const which = `${owner ? `tenant "${owner}"'s key` : 'key (in no tenant of this config)'} ${hash.slice(0, 12)}…`;
    console.log(added ? `revoked ${which}: every instance on this Redis refuses it within about a second. Remove it from the config too.` : `${which} was already revoked.`);
    return 0;
  } finally {
    redis.disconnect();
  }
}

/** Runs a command and exits with its status (`bin/dingtalk-gateway.js`, `node dist/cli/main.js`, `bun dist/adapters/bun/main.js`). */
export function runCli(argv: string[], runtime?: CliRuntime): void {
  main(argv, runtime).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

if (import.meta.url === `file://${process.argv[1]}`) runCli(process.argv.slice(2));
