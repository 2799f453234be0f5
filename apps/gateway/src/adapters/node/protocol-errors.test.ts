/**
 * What Node's parser refuses is still answered in DingTalk's shape: raw sockets against the real
 * Node entry.
 */
import { connect } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { mintApiKey } from './api-key.js';
import { type RunningGateway, startGateway } from './server.js';

let gateway: RunningGateway;
const key = mintApiKey();

beforeAll(async () => {
  const config = configSchema.parse({
    server: { port: 0, headersTimeoutMs: 300, requestTimeoutMs: 600, maxHeaderBytes: 4096 },
    upstream: { baseUrl: 'http://127.0.0.1:9' },
    apps: { full: { type: 'internal', appKey: 'dingprotocolerrors', appSecretEnv: 'S' } },
    tenants: { t: { name: 'T', app: 'full', apiKeys: [{ sha256: key.sha256 }], scopes: ['Drive.Space.Write'], rateLimit: { rate: 1, burst: 1 } } },
    observability: { metrics: { enabled: false } },
  });
  gateway = await startGateway({ config, env: { S: 'secret' }, logger: pino({ level: 'silent' }) });
});
afterAll(() => gateway.close());

/** Writes raw bytes (optionally in timed pieces) and collects everything until the server closes. */
function raw(pieces: Array<string | { waitMs: number }>): Promise<string> {
  const { port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += String(chunk)));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const piece of pieces) {
        if (typeof piece === 'string') socket.write(piece);
        else await new Promise((r) => setTimeout(r, piece.waitMs));
        if (socket.destroyed) return;
      }
    });
  });
}

function parse(answer: string) {
  const [head, body] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head ?? '')?.[1]);
  const json = JSON.parse(body ?? '') as { code: string; message: string; requestid: string };
  expect(head).toMatch(new RegExp(`x-request-id: ${json.requestid}`));
  expect(head).toMatch(/content-type: application\/json/);
  return { status, ...json };
}

describe('requests Node refuses before the gateway sees them', () => {
  it.each([
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
    ['a CR inside a header value', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\rb\r\n\r\n'],
    ['Transfer-Encoding and Content-Length together (smuggling)', 'POST /v1.0/drive/spaces HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['two different Content-Lengths', 'POST /v1.0/drive/spaces HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde'],
  ])('%s → 400 gateway.request.malformed as JSON', async (_name, request) => {
    expect(parse(await raw([request]))).toMatchObject({ status: 400, code: 'gateway.request.malformed' });
  });

  it('oversized headers → 431 gateway.request.tooLarge', async () => {
    const answer = parse(await raw([`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8192)}\r\n\r\n`]));
    expect(answer).toMatchObject({ status: 431, code: 'gateway.request.tooLarge' });
  });

  it('a body trickling in slower than the request timeout → 408 gateway.request.timeout', async () => {
    // An authenticated caller, so that the gateway waits for the body (others are refused at once).
    const trickle = Array.from({ length: 20 }, () => [{ waitMs: 100 }, 'x'] as const).flat();
    const head = `POST /v1.0/drive/spaces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key.key}\r\nContent-Length: 100\r\n\r\n`;
    const answer = parse(await raw([head, ...trickle]));
    expect(answer).toMatchObject({ status: 408, code: 'gateway.request.timeout' });
  });

  it('keeps serving normally afterwards', async () => {
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
  });
});
