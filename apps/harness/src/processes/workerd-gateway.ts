/**
 * The gateway on Cloudflare's workerd as a process: the Workers bundle built for a config
 * (`dingtalk-gateway build-worker`, as a user runs it), served by the real workerd on a free
 * loopback port, the secrets in its environment. Stopped with SIGTERM.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { track } from './children.js';
import { gatewayCli, workerdBinary } from './gateway-package.js';
import { freePort, untilServing } from './serving.js';

export interface WorkerdGateway {
  url: string;
  /** What workerd printed on stderr (the gateway's errors). */
  stderr(): string;
  stop(): Promise<number | null>;
}

/** `config` as the gateway's config object; its `server` gets the loopback host and a free port. */
export async function startWorkerdGateway(options: { config: Record<string, unknown> & { server?: Record<string, unknown> }; env: Record<string, string> }): Promise<WorkerdGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'dtg-worker-'));
  const port = await freePort();
  writeFileSync(join(dir, 'gateway.yaml'), JSON.stringify({ ...options.config, server: { ...options.config.server, host: '127.0.0.1', port } }));
  await promisify(execFile)(process.execPath, [gatewayCli, 'build-worker', '--config', join(dir, 'gateway.yaml'), '--out', dir]);
  const child = track(spawn(workerdBinary(), ['serve', join(dir, 'workerd.capnp')], { env: { PATH: process.env.PATH ?? '', ...options.env }, stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + String(chunk)).slice(-100_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  await untilServing([url], child, 20_000, () => stderr);
  return {
    url,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
