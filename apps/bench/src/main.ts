#!/usr/bin/env node
/**
 * `pnpm bench`: the gateway against a bare forwarder, side by side in one run, plus the token
 * storm, many-tenants and call-economy scenarios (or the soak, or gateway builds side by side). Prints tables,
 * writes `results/latest.json` (the soak's `results/soak-latest.{csv,json}`, side by side's and
 * the call economy's `results/<scenario>-latest.json` when run alone). See `--help` and docs/BENCHMARKS.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installCleanup, killAllChildren } from './children.js';
import { RunContext } from './context.js';
import { loadAverage, machineInfo, quietState, waitForQuiet } from './machine.js';
import { USAGE, parseOptions, redactUrl } from './options.js';
import { type AllResults, renderReport, targetChecks } from './report.js';
import { runCallEconomy } from './scenarios/call-economy.js';
import { runCompare } from './scenarios/compare.js';
import { manyTenantsTargets, runManyTenants } from './scenarios/many-tenants.js';
import { runSideBySide } from './scenarios/side-by-side.js';
import { runSoak } from './scenarios/soak.js';
import { runTokenStorm } from './scenarios/token-storm.js';

const QUIET_LOAD = 0.5;

async function main(argv: string[]): Promise<number> {
  const defaultResults = new URL('../results', import.meta.url).pathname;
  let options;
  try {
    options = parseOptions(argv, process.env, defaultResults);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  installCleanup();
  const log = (line: string) => console.error(line);
  const machine = machineInfo();
  log(`dtg bench: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}; scenarios ${options.scenarios.join(', ')}${options.quick ? ' (quick)' : ''}`);

  const quietBefore = options.waitQuietS > 0 ? await waitForQuiet(QUIET_LOAD, options.waitQuietS, log) : quietState(QUIET_LOAD);
  if (!quietBefore.quiet) {
    log(`warning: the machine is not quiet (1-min load ${quietBefore.load1.toFixed(2)}, vitest processes ${quietBefore.vitestPids.length}): figures may be disturbed`);
  }

  const ctx = new RunContext(options, log);
  const results: AllResults = {};
  const startedAt = new Date();
  try {
    if (options.scenarios.includes('compare')) {
      log('\ncomparison: baseline vs floor vs fastify peer vs gateway (memory) vs gateway (Redis)');
      results.compare = await runCompare(ctx);
    }
    if (options.scenarios.includes('token-storm')) {
      log('\ntoken storm');
      results.tokenStorm = await runTokenStorm(ctx);
    }
    if (options.scenarios.includes('many-tenants')) {
      log(`\nmany tenants (${options.tenants})`);
      results.manyTenants = [];
      for (const target of manyTenantsTargets(options.runtimes)) results.manyTenants.push(await runManyTenants(ctx, target));
    }
    if (options.scenarios.includes('call-economy')) {
      log(`\ncall economy (${options.economyRequests} caller requests)`);
      results.callEconomy = await runCallEconomy(ctx);
    }
    if (options.scenarios.includes('side-by-side')) {
      log(`\nside by side: ${1 + options.extraGateways.length} gateway build(s) at once, ${options.rate} req/s each`);
      results.sideBySide = await runSideBySide(ctx);
    }
    if (options.scenarios.includes('soak')) {
      log(`\nsoak (${options.durationS} s)`);
      results.soak = await runSoak(ctx);
    }
  } finally {
    killAllChildren();
    await ctx.cleanup();
  }

  const document = {
    tool: '@dingtalk-gateway/bench',
    date: startedAt.toISOString(),
    command: `pnpm bench${argv.length > 0 ? ` -- ${argv.filter((a) => a !== '--').join(' ')}` : ''}`,
    machine,
    quiet: { load1Before: quietBefore.load1, vitestBefore: quietBefore.vitestPids.length, load1After: loadAverage()[0] },
    // A Redis URL may carry a password: never written to the results.
    options: { ...options, resultsDir: undefined, redisUrl: redactUrl(options.redisUrl) },
    results,
    targets: targetChecks(results),
  };
  mkdirSync(options.resultsDir, { recursive: true });
  // Only the default scenarios' run is the recorded headline; the others get a file of their own.
  const onlyScenario = options.scenarios.length === 1 ? options.scenarios[0] : undefined;
  const ownFile = onlyScenario === 'soak' || onlyScenario === 'side-by-side' || onlyScenario === 'call-economy';
  const file = join(options.resultsDir, ownFile ? `${onlyScenario}-latest.json` : 'latest.json');
  writeFileSync(file, `${JSON.stringify(document, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v), 2)}\n`);

  console.log(renderReport(results, 'text'));
  if (options.markdown) console.log(`\n--- Markdown ---\n${renderReport(results, 'markdown')}`);
  console.log(`\nload average before ${quietBefore.load1.toFixed(2)}, after ${loadAverage()[0].toFixed(2)}; results: ${file}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    killAllChildren();
    process.exit(1);
  },
);
