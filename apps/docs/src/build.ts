/**
 * `pnpm --filter @dingtalk-gateway/docs build` (after tsc): renders both contracts with
 * `redocly build-docs --inlineBundle` and the template in templates/page.hbs into dist/site/,
 * swaps the Redocly logo URLs for inline images (redoc-assets.ts), then fails if a page would
 * still load anything from outside the machine (offline-check.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { specFiles } from '@dingtalk-gateway/spec/files';
import { findExternalResources } from './offline-check.js';
import { localizeRedocAssets } from './redoc-assets.js';
import { docsDir, docsPages, type DocsPage } from './site.js';

const require = createRequire(import.meta.url);
const redocly = require.resolve('@redocly/cli/bin/cli.js');
const template = fileURLToPath(new URL('../templates/page.hbs', import.meta.url));

/** What each page renders: the built gateway contract, and DingTalk's spec as checked in. */
const sources: Record<DocsPage, { file: URL; description: string }> = {
  gateway: {
    file: specFiles.gatewayYaml,
    description: "The DingTalk gateway's API: authentication with your team's API key, rate limits, errors and every operation.",
  },
  dingtalk: {
    file: new URL('../dingtalk.yaml', import.meta.resolve('@dingtalk-gateway/spec')),
    description: "DingTalk's own open API as api.dingtalk.com serves it, which the gateway's contract is derived from.",
  },
};

const outDir = fileURLToPath(docsDir);
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

let failed = false;
for (const [name, page] of Object.entries(docsPages) as Array<[DocsPage, (typeof docsPages)[DocsPage]]>) {
  const source = sources[name];
  const output = fileURLToPath(new URL(page.file, docsDir));
  const args = [
    redocly,
    'build-docs',
    fileURLToPath(source.file),
    '--inlineBundle',
    '--lint-config=off',
    `--template=${template}`,
    `--title=${page.title}`,
    `--templateOptions.description=${source.description}`,
    `--templateOptions.${name}Page=true`,
    `--output=${output}`,
  ];
  const run = spawnSync(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
  if (run.status !== 0) {
    console.error(`redocly build-docs failed for ${page.file} (exit ${run.status ?? run.signal}):\n${run.stdout}${run.stderr}`);
    process.exit(1);
  }
  const html = localizeRedocAssets(readFileSync(output, 'utf8'));
  writeFileSync(output, html);
  const external = findExternalResources(html);
  if (external.length > 0) {
    failed = true;
    console.error(`${output} would load resources from outside the machine:\n  ${external.join('\n  ')}`);
  } else {
    console.log(`${page.title}: ${output} (${Math.ceil(statSync(output).size / 1024)} KiB, self-contained)`);
  }
}
if (failed) process.exit(1);
