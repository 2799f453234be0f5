import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { seeded } from './seed.js';
import { type RunningSandbox, startSandbox } from './server.js';

const running: RunningSandbox[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

const start = async (options: Parameters<typeof startSandbox>[0] = {}) => {
  const r = await startSandbox(options);
  running.push(r);
  return r;
};

/** A raw HTTP/1.1 request, to see exactly what happens on the socket. */
const post = (url: string, path: string, body: unknown) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(new URL(path, url), { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (data += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });

describe('startSandbox (a real socket)', () => {
  it('listens on 127.0.0.1 on a free port and serves the API', async () => {
    const { url, port } = await start();
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const res = await fetch(`${url}/v1.0/oauth2/accessToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appKey: seeded.apps.full.appKey, appSecret: seeded.apps.full.appSecret }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-acs-request-id')).toBeTruthy();
    const { accessToken } = (await res.json()) as { accessToken: string };
    const list = await fetch(`${url}/v2.0/wiki/workspaces?operatorId=${seeded.users.alice.unionId}`, {
      headers: { 'x-acs-dingtalk-access-token': accessToken },
    });
    expect(list.status).toBe(200);
  });

  it('drops the TCP connection for real: the client sees a connection reset', async () => {
    const { url, sandbox } = await start({ faults: { getAccessToken: { dropConnection: { times: 1 } } } });
    const credentials = { appKey: seeded.apps.full.appKey, appSecret: seeded.apps.full.appSecret };
    await expect(post(url, '/v1.0/oauth2/accessToken', credentials)).rejects.toMatchObject({ code: 'ECONNRESET' });
    await expect(fetch(`${url}/v1.0/oauth2/accessToken`, { method: 'POST', body: '{}' }).then((r) => r.status)).resolves.toBe(400);
    const retried = await post(url, '/v1.0/oauth2/accessToken', credentials);
    expect(retried.status).toBe(200);
    expect(sandbox.counters.snapshot().byStatus.getAccessToken).toEqual({ dropped: 1, '400': 1, '200': 1 });
  });

  it('closes even with keep-alive connections open', async () => {
    const { url, close } = await start();
    await fetch(`${url}/nothing`); // undici keeps the connection alive
    running.pop();
    await close();
    await expect(fetch(`${url}/nothing`)).rejects.toThrow();
  });

  it('rejects when the port is taken', async () => {
    const { port } = await start();
    await expect(startSandbox({ port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
