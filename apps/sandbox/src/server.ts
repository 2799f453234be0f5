/**
 * `startSandbox()`: the sandbox on a real socket (@hono/node-server), bound to 127.0.0.1 on a
 * free port by default. This is what the gateway's tests and `pnpm start` call in-process.
 *
 * ```ts
 * const { url, sandbox, close } = await startSandbox({ admin: true });
 * // point a DingTalk client at `url` ...
 * await close();
 * ```
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { type Sandbox, createSandbox } from './app.js';
import { ConnectionDroppedError } from './faults.js';
import type { SandboxOptions } from './options.js';

export interface StartSandboxOptions extends SandboxOptions {
  /** Default 127.0.0.1: the sandbox is for this machine only. */
  host?: string;
  /** Default 0: a free port, reported back. */
  port?: number;
}

export interface RunningSandbox {
  /** e.g. `http://127.0.0.1:9100` */
  url: string;
  port: number;
  sandbox: Sandbox;
  /** Stops listening and closes open (keep-alive) connections. */
  close(): Promise<void>;
}

export function startSandbox({ host = '127.0.0.1', port = 0, ...options }: StartSandboxOptions = {}): Promise<RunningSandbox> {
  const sandbox = createSandbox(options);
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        hostname: host,
        port,
        // A dropped connection's socket is already destroyed: answer into the void rather than
        // let node-server log the rejection as a server error.
        fetch: async (request, env) => {
          try {
            return await sandbox.app.fetch(request, env);
          } catch (error) {
            if (error instanceof ConnectionDroppedError) return new Response(null, { status: 500 });
            throw error;
          }
        },
      },
      (info: AddressInfo) => {
        server.off('error', reject);
        const close = () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            (server as Server).closeAllConnections?.();
          });
        resolve({ url: `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`, port: info.port, sandbox, close });
      },
    );
    server.once('error', reject);
  });
}
