#!/usr/bin/env node
/**
 * What OpenTelemetry tracing costs when on: two gateways of the same build, tracing off and on
 * (exporting to a collector in this process that accepts and discards), driven at the same time
 * at the same fixed rate; CPU time of each gateway process per answered request, per round.
 *
 *   pnpm --filter @dingtalk-gateway/bench tracing-cost [--rate=1500] [--rounds=3] [--duration=8]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { installCleanup, killAllChildren } from '@dingtalk-gateway/harness/processes';
import { cpuTimeUs, forkProcess, startGatewayProcess } from './children.js';
import { BENCH_APP_SECRET_ENV, benchApiKey, benchGatewayConfig } from './gateway-config.js';
import { OPERATIONS, drive } from './load.js';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '1500' }, rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '8' } } });
const rate = Number(values.rate);
const durationS = Number(values.duration);

installCleanup();
const collector = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
try {
  const upstream = await forkProcess('upstream', { BENCH_TOKEN_DELAY_MS: '0' });
  const dir = mkdtempSync(join(tmpdir(), 'dtg-tracing-cost-'));
  const base = benchGatewayConfig({ upstreamUrl: upstream.url, upstreamConnections: 64 });
  const start = (name: 'off' | 'on') => {
    const configFile = join(dir, `${name}.yaml`);
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;
    writeFileSync(configFile, name === 'on' ? base.replace(/^observability:\n/m, `observability:\n  tracing: { otlpEndpoint: '${endpoint}' }\n`) : base);
    return startGatewayProcess({ configFile, logFile: join(dir, `${name}.log`), env: { [BENCH_APP_SECRET_ENV]: 'bench-app-secret' } });
  };
  const [off, on] = await Promise.all([start('off'), start('on')]);
  const operation = OPERATIONS[0]!;
  for (let round = 1; round <= Number(values.rounds); round++) {
    const before = [cpuTimeUs(off.pid), cpuTimeUs(on.pid)];
    const loads = await Promise.all([off, on].map((gateway) => drive({ url: gateway.url, operation, connections: 16, durationS, apiKey: benchApiKey(0), overallRate: rate })));
    const perRequest = [off, on].map((gateway, i) => (cpuTimeUs(gateway.pid) - before[i]!) / loads[i]!.ok);
    console.log(
      `round ${round}: ${operation.operationId} at ${rate}/s each: off ${perRequest[0]!.toFixed(1)} µs CPU per request (${loads[0]!.ok} answered), on ${perRequest[1]!.toFixed(1)} µs (${loads[1]!.ok}), on/off ${(perRequest[1]! / perRequest[0]!).toFixed(3)}`,
    );
  }
  await Promise.all([off.stop(), on.stop(), upstream.stop()]);
} finally {
  collector.close();
  killAllChildren();
}
