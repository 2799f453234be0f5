/**
 * `pnpm start`: the gateway in front of the DingTalk sandbox, on this machine, with no DingTalk
 * account. Starts the sandbox, mints a demo API key, starts the gateway with
 * config/sandbox.example.yaml, and prints what to try.
 *
 * GATEWAY_PORT (default 8787), SANDBOX_PORT (default 9100), METRICS_PORT (default 9464).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { loadConfigFile, mintApiKey, startGateway, installShutdown } from '@dingtalk-gateway/gateway';
import { gatewayConfigFile } from '../processes/gateway-package.js';

const configFile = gatewayConfigFile('sandbox.example.yaml');

const port = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${name} must be a port number, got ${process.env[name]}`);
  return value;
};

const sandbox = await startSandbox({ port: port('SANDBOX_PORT', 9100) });
const config = loadConfigFile(configFile, loadGatewayContract());
config.upstream.baseUrl = sandbox.url;
config.server.port = port('GATEWAY_PORT', 8787);
config.observability.metrics.port = port('METRICS_PORT', 9464);
// The sandbox starts its month afresh every time; so does the demo's ledger (not beside the example config).
config.ledger.file = join(mkdtempSync(join(tmpdir(), 'dingtalk-gateway-demo-')), 'ledger.json');
const demo = mintApiKey();
config.tenants.demo!.apiKeys.push({ sha256: demo.sha256, label: 'minted by pnpm start' });

const running = await startGateway({
  config,
  env: { ...process.env, SANDBOX_FULL_SECRET: seeded.apps.full.appSecret, SANDBOX_READONLY_SECRET: seeded.apps.readOnly.appSecret },
});

const operatorId = seeded.users.alice.unionId;
console.log(`
DingTalk gateway (demo): everything runs on this machine; DingTalk is the local sandbox.

  Gateway    ${running.url}
  Docs       ${running.url}/docs/
  Contract   ${running.url}/openapi.yaml
  Metrics    ${running.metricsUrl ?? 'off'}
  Sandbox    ${sandbox.url}  (the upstream; seeded apps and users in apps/sandbox/README.md)

  Demo API key of tenant "demo" (shown once, minted now):
    ${demo.key}

Try it:
  curl -s '${running.url}/v2.0/wiki/workspaces?operatorId=${operatorId}&maxResults=5' -H 'Authorization: Bearer ${demo.key}'

Ctrl-C stops both. Access logs follow (JSON, one line per request).
`);

installShutdown(async () => {
  await running.close();
  await sandbox.close();
});
