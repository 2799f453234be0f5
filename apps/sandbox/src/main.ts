#!/usr/bin/env node
/**
 * The CLI: `pnpm --filter @dingtalk-gateway/sandbox start` (`node dist/main.js`). Reads the
 * `SANDBOX_*` environment variables, starts the sandbox on 127.0.0.1, prints its URL and the
 * seeded credentials, and stops cleanly on SIGINT/SIGTERM.
 *
 * ```sh
 * SANDBOX_PORT=9100 SANDBOX_ADMIN=1 node dist/main.js
 * ```
 */
import { performance } from 'node:perf_hooks';
import { OptionsError, optionsFromEnv } from './options.js';
import { startSandbox } from './server.js';
import type { SandboxState } from './state/store.js';

function describe(state: SandboxState): string {
  const lines: string[] = [];
  const orgName = (corpId: string) => state.orgs.get(corpId)?.name ?? corpId;
  lines.push('Internal apps (POST /v1.0/oauth2/accessToken):');
  for (const a of state.apps.values()) {
    lines.push(`  ${a.appKey} / ${a.appSecret}  (${orgName(a.corpId)}: ${[...a.permissions].join(', ') || 'no permissions'})`);
  }
  lines.push('ISV suites (POST /v1.0/oauth2/corpAccessToken):');
  for (const s of state.suites.values()) {
    lines.push(`  ${s.suiteKey} / ${s.suiteSecret}  suiteTicket ${s.suiteTicket}  authCorpId ${[...s.authorizedCorpIds].join(' | ')}`);
  }
  lines.push('Users (operatorId / unionId):');
  for (const u of state.users.values()) lines.push(`  ${u.unionId}  userId ${u.userId}  ${u.name} (${orgName(u.corpId)} ${u.corpId})`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { port, ...options } = optionsFromEnv(process.env);
  const running = await startSandbox({ ...options, port });
  const readyMs = performance.now();
  console.log(
    [
      `DingTalk sandbox listening on ${running.url} (ready ${readyMs.toFixed(0)} ms after process start)`,
      `Admin API: ${options.admin ? `${running.url}/__sandbox/` : 'off (SANDBOX_ADMIN=1 turns it on)'}`,
      describe(running.sandbox.state),
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof OptionsError ? `sandbox: ${error.message}` : error);
  process.exit(1);
});
