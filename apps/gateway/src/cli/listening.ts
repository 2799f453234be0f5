/**
 * The line `dingtalk-gateway start` prints on stderr once it serves, and how a parent process
 * waits for it: one definition for the CLI and everything that starts it (the scale-out and
 * process tests, the benchmark).
 *
 * ```ts
 * const child = spawn(process.execPath, [cli, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
 * const { url, metricsUrl } = await waitUntilListening(child, 15_000);
 * ```
 */
import type { ChildProcess } from 'node:child_process';

export function listeningLine(url: string, upstreamBaseUrl: string, metricsUrl: string | undefined): string {
  return `dingtalk-gateway listening on ${url} (upstream ${upstreamBaseUrl})${metricsUrl ? `, metrics on ${metricsUrl}` : ''}`;
}

const LISTENING = /dingtalk-gateway listening on (\S+) \(upstream [^\n]*?\)(?:, metrics on (\S+))?\n/;

/**
 * Resolves with the addresses once `child` (started with its stderr piped) prints its
 * listening line; rejects, with what it printed, if it exits first or `timeoutMs` passes.
 */
export function waitUntilListening(child: ChildProcess, timeoutMs: number): Promise<{ url: string; metricsUrl: string | undefined }> {
  const stderr = child.stderr;
  if (!stderr) return Promise.reject(new Error('waitUntilListening needs the child started with its stderr piped'));
  let seen = '';
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      stderr.off('data', onData);
      child.off('exit', onExit);
    };
    const onData = (chunk: Buffer) => {
      seen = (seen + String(chunk)).slice(-20_000);
      const match = LISTENING.exec(seen);
      if (!match) return;
      done();
      resolve({ url: match[1]!, metricsUrl: match[2] });
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`the gateway exited with ${code} before listening:\n${seen}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the gateway did not start within ${timeoutMs} ms:\n${seen}`));
    }, timeoutMs);
    stderr.on('data', onData);
    child.once('exit', onExit);
  });
}
