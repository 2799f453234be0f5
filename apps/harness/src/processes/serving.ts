/** Waiting for servers: a free loopback port, and every URL answering `/healthz`. */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * Resolves once every one of `urls` answers `/healthz` with 2xx; rejects, with `output()`, when
 * `child` exits first or `timeoutMs` passes (for a server that prints no listening line: workerd).
 */
export async function untilServing(urls: readonly string[], child: ChildProcess, timeoutMs: number, output: () => string = () => ''): Promise<void> {
  for (let waited = 0; ; waited += 100) {
    const up = await Promise.all(urls.map((url) => fetch(`${url}/healthz`).then((r) => r.ok, () => false)));
    if (up.every(Boolean)) return;
    if (waited > timeoutMs || child.exitCode !== null) throw new Error(`${urls.join(' and ')} not served within ${timeoutMs} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
