/**
 * Child process: the baseline, the least a forwarder can do. node:http in front of an undici
 * keep-alive Pool (as many connections as the gateway's), fetching one DingTalk token at start
 * and injecting it as the token header; request and answer are streamed through untouched
 * (only the hop-by-hop headers of each connection are left behind). No auth, no validation, no
 * limits, no logs, no metrics: the gateway is measured against this.
 *
 * Started with `fork()`: reports `{ type: 'ready', port }` over IPC and exits when the parent
 * goes away.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const upstreamUrl = process.env.BENCH_UPSTREAM_URL;
if (!upstreamUrl) throw new Error('BENCH_UPSTREAM_URL is not set');
const pool = new Pool(upstreamUrl, { connections: Number(process.env.BENCH_UPSTREAM_CONNECTIONS ?? '128'), keepAliveTimeout: 30_000 });

const tokenAnswer = await pool.request({
  method: 'POST',
  path: '/v1.0/oauth2/accessToken',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ appKey: 'dingbenchbaseline', appSecret: 'bench' }),
});
const token = ((await tokenAnswer.body.json()) as { accessToken: string }).accessToken;

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const headers = req.headers;
  delete headers.host;
  delete headers.connection;
  headers['x-acs-dingtalk-access-token'] = token;
  const method = req.method ?? 'GET';
  pool
    .stream(
      { method: method as 'GET', path: req.url ?? '/', headers, body: method === 'GET' || method === 'HEAD' ? null : req },
      ({ statusCode, headers: answerHeaders }) => {
        delete answerHeaders.connection;
        delete answerHeaders['keep-alive'];
        delete answerHeaders['transfer-encoding'];
        res.writeHead(statusCode, answerHeaders as Record<string, string | string[]>);
        return res;
      },
    )
    .catch(() => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end();
    });
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
// A clean exit on SIGTERM, so a --cpu-prof profile gets written.
process.on('SIGTERM', () => process.exit(0));
