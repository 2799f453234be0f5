import { connect } from 'node:net';
import { startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { pino } from 'pino';
import { it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { mintApiKey } from '../keys/api-key.js';
import { startGateway } from '../node/server.js';

function raw(port: number, chunks: (string | Buffer)[], waitMs = 1500): Promise<{ text: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let closed = false;
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', (e) => (text += `<<error ${(e as any).code}>>`));
    socket.on('close', () => { closed = true; clearTimeout(t); resolve({ text, closed, ms: Date.now() - started }); });
    const t = setTimeout(() => { socket.destroy(); resolve({ text, closed: false, ms: Date.now() - started }); }, waitMs);
    socket.on('connect', () => { for (const c of chunks) socket.write(c); });
  });
}

it('explore', async () => {
  const sandbox = await startSandbox({ admin: true, qpsLimit: 100000 });
  const key = mintApiKey();
  const logs: string[] = [];
  const config = configSchema.parse({
    server: { port: 0, headersTimeoutMs: 500, requestTimeoutMs: 1000 } as any,
    upstream: { baseUrl: sandbox.url },
    apps: { full: { type: 'internal', appKey: seeded.apps.full.appKey, appSecretEnv: 'FULL_SECRET' } },
    tenants: { a: { name: 'A', app: 'full', apiKeys: [{ sha256: key.sha256 }], scopes: ['Wiki.Workspace.Read', 'Drive.Space.Write'], rateLimit: { rate: 1000, burst: 1000 } } },
    observability: { metrics: { port: 0 } },
  });
  const gw = await startGateway({ config, env: { FULL_SECRET: seeded.apps.full.appSecret }, logger: pino({ level: 'info' }, { write: (s: string) => logs.push(s) } as any) });
  const port = Number(new URL(gw.url).port);
  const op = `/v2.0/wiki/workspaces?operatorId=${seeded.users.alice.unionId}`;
  const auth = `Authorization: Bearer ${key.key}\r\n`;

  function trickle(prefix: string, byteEveryMs: number, maxMs: number): Promise<{ text: string; closed: boolean; ms: number; sent: number }> {
    return new Promise((resolve) => {
      const started = Date.now();
      const socket = connect(port, '127.0.0.1');
      let text = ''; let sent = 0;
      socket.on('data', (d) => (text += d.toString('latin1')));
      socket.on('error', (e) => (text += `<<error ${(e as any).code}>>`));
      const done = (closed: boolean) => { clearInterval(iv); clearTimeout(t); socket.destroy(); resolve({ text, closed, ms: Date.now() - started, sent }); };
      socket.on('close', () => done(true));
      const t = setTimeout(() => done(false), maxMs);
      let iv: NodeJS.Timeout;
      socket.on('connect', () => { socket.write(prefix); iv = setInterval(() => { if (socket.writable) { socket.write('a'); sent++; } }, byteEveryMs); });
    });
  }
  console.log('body', JSON.stringify(await trickle(`POST /v1.0/drive/spaces HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n`, 50, 8000)));
  console.log('headers', JSON.stringify(await trickle(`GET ${op} HTTP/1.1\r\nHost: x\r\nX-Slow: `, 50, 8000)));
  console.log('idle', JSON.stringify(await trickle(``, 100000, 8000)));
  await gw.close();
  await sandbox.close();
  console.log(logs.filter((l) => !l.includes('"msg":"request"')).join('').slice(0, 3000));
}, 60000);
