import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { listeningLine, waitUntilListening } from './listening.js';

/** A child that writes `text` to stderr in two pieces, then stays (or exits with `exitCode`). */
function child(text: string, exitCode?: number) {
  const half = Math.floor(text.length / 2);
  const script = [
    `process.stderr.write(${JSON.stringify(text.slice(0, half))});`,
    `setTimeout(() => process.stderr.write(${JSON.stringify(text.slice(half))}), 30);`,
    exitCode === undefined ? 'setTimeout(() => {}, 5000);' : `setTimeout(() => process.exit(${exitCode}), 60);`,
  ].join('\n');
  return spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
}

describe('waitUntilListening', () => {
  it("reads the CLI's own line, with and without the metrics listener, even split across writes", async () => {
    const withMetrics = child(`starting\n${listeningLine('http://127.0.0.1:4000', 'https://api.dingtalk.com', 'http://127.0.0.1:9464/metrics')}\n`);
    expect(await waitUntilListening(withMetrics, 5_000)).toEqual({ url: 'http://127.0.0.1:4000', metricsUrl: 'http://127.0.0.1:9464/metrics' });
    withMetrics.kill();
    const without = child(`${listeningLine('http://[::1]:4001', 'http://sandbox', undefined)}\n`);
    expect(await waitUntilListening(without, 5_000)).toEqual({ url: 'http://[::1]:4001', metricsUrl: undefined });
    without.kill();
  });

  it('fails with what the process printed when it exits first, or stays silent past the timeout', async () => {
    await expect(waitUntilListening(child('config.yaml:1:7: apps: expected at least one app\n', 1), 5_000)).rejects.toThrow(/exited with 1 before listening:\nconfig\.yaml:1:7/);
    const silent = child('still thinking');
    await expect(waitUntilListening(silent, 200)).rejects.toThrow(/did not start within 200 ms:\nstill thinking/);
    silent.kill();
  });
});
