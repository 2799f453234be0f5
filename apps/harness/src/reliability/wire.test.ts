/**
 * Malformed HTTP on a real socket: the Node entry (`startGateway`) in front of a real sandbox
 * (`startSandbox`), and raw `node:net` sockets sending what no HTTP client would.
 *
 * What the gateway must do with each (the decisions):
 * - Whatever Node's parser refuses (CR/LF/NUL/CTL in a header, Transfer-Encoding with
 *   Content-Length, duplicate or malformed Content-Length, obs-fold, bad chunk framing, bad
 *   method, URL or version) and whatever the Node adapter refuses before the gateway's handlers
 *   (asterisk-form, a backslash in the path, an invalid Host, HTTP/1.1 without Host) is answered
 *   like every other gateway error: `400` with DingTalk's JSON body, `code`
 *   `gateway.request.malformed` (DingTalk answers these from its web front, with no code of its
 *   own), `requestid` = `x-request-id`, and the connection closed when the stream cannot be
 *   trusted. A `CONNECT` names no operation: `404 InvalidAction.NotFound`, as any method
 *   DingTalk does not serve.
 * - Headers over the limit: `431` `gateway.request.tooLarge`. A body over the limit: `413`,
 *   same code, without waiting for the body.
 * - A slowloris (headers or body trickling a byte at a time): the server's timeouts end it with
 *   `408` `gateway.request.timeout` and a close, bounded by the configured timeout. A close
 *   alone would free the socket too, but a 408 tells a slow-but-honest client why.
 * - A client that breaks the body off (abort, bad chunk after the headers were accepted) is the
 *   client's failure: never logged as an unhandled error, never counted as a 5xx.
 * - Nothing refused reaches DingTalk (the sandbox's counters and the recorded upstream calls
 *   prove it), and the gateway answers normally after each.
 *
 * Every loop here is bounded in bytes and time; every socket and server is closed.
 */
import { type RunningSandbox, startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, mintApiKey, type RunningGateway, startGateway, createUndiciUpstream, type Upstream, type UpstreamRequest } from '@dingtalk-gateway/gateway';
import { type RawResponse, apiCallsBetween, capturedLogger, isDingTalkError, parseResponses, rawExchange, trickle } from './support.js';

const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;
/** How late past a timeout the answer may come (Node checks timeouts on an interval). */
const TIMEOUT_SLACK_MS = 2_500;

const key = mintApiKey();
const operatorId = seeded.users.alice.unionId;
const list = `/v2.0/wiki/workspaces?operatorId=${operatorId}`;
const auth = `Authorization: Bearer ${key.key}\r\n`;

let sandbox: RunningSandbox;
let gateway: RunningGateway;
let port: number;
const forwarded: UpstreamRequest[] = [];
const captured = capturedLogger('info');

beforeAll(async () => {
  sandbox = await startSandbox({ admin: true, qpsLimit: 100_000 });
  const config = configSchema.parse({
    server: { host: '127.0.0.1', port: 0, headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS, shutdownGraceMs: 2_000 },
    upstream: { baseUrl: sandbox.url, responseTimeoutMs: 5_000 },
    // `expectServing` calls DingTalk after every case: keep DingTalk's QPS guard out of the way.
    dingtalk: { qpsLimit: 100_000 },
    apps: { full: { type: 'internal', appKey: seeded.apps.full.appKey, appSecretEnv: 'FULL_SECRET' } },
    tenants: {
      team: { name: 'Team', app: 'full', apiKeys: [{ sha256: key.sha256 }], scopes: ['Wiki.Workspace.Read', 'Wiki.Workspace.Write', 'Document.WorkspaceDocument.Write', 'Drive.Space.Write'], rateLimit: { rate: 10_000, burst: 10_000 } },
    },
    observability: { logLevel: 'info', metrics: { host: '127.0.0.1', port: 0 } },
  });
  const inner = createUndiciUpstream({ baseUrl: sandbox.url, connections: 8, connectTimeoutMs: 1_000, responseTimeoutMs: 5_000, maxResponseBytes: 10 * 1024 * 1024 });
  const upstream: Upstream = {
    send(request) {
      if (!request.path.startsWith('/v1.0/oauth2/')) forwarded.push(request);
      return inner.send(request);
    },
    close: () => inner.close(),
  };
  gateway = await startGateway({ config, env: { FULL_SECRET: seeded.apps.full.appSecret }, logger: captured.logger, upstream });
  port = Number(new URL(gateway.url).port);
});

afterAll(async () => {
  await gateway?.close();
  await sandbox?.close();
});

async function expectServing() {
  const health = await fetch(`${gateway.url}/healthz`);
  expect(health.status).toBe(200);
  await health.arrayBuffer();
  const listed = await fetch(`${gateway.url}${list}`, { headers: { authorization: `Bearer ${key.key}` } });
  expect(listed.status).toBe(200);
  await listed.arrayBuffer();
}

/** Asserts a gateway error in DingTalk's shape, and returns its body. */
function expectGatewayError(response: RawResponse | undefined, status: number | number[], codes: string | string[], where: string) {
  expect(response, `an HTTP answer; ${where}`).toBeDefined();
  const statuses = Array.isArray(status) ? status : [status];
  expect(statuses, `status ${response!.status}; ${where}`).toContain(response!.status);
  expect(response!.headers['content-type'], `JSON, not Node's bare status line; ${where}: ${JSON.stringify(response)}`).toMatch(/^application\/json/);
  const body = JSON.parse(response!.body) as unknown;
  expect(isDingTalkError(body), `DingTalk's error shape; ${where}: ${response!.body}`).toBe(true);
  const error = body as { code: string; requestid: string };
  expect(Array.isArray(codes) ? codes : [codes], `code ${error.code}; ${where}`).toContain(error.code);
  expect(error.requestid, where).toBe(response!.headers['x-request-id']);
  return error;
}

interface RefusalCase {
  name: string;
  chunks: Array<string | Uint8Array>;
  status: number | number[];
  code: string | string[];
  /** The stream cannot be trusted after this: the server must close the connection. */
  closes: boolean;
}

const post = (headers: string, body = '') => `POST /v1.0/drive/spaces HTTP/1.1\r\nHost: gateway.test\r\n${auth}${headers}\r\n${body}`;
const get = (headers: string, target = list) => `GET ${target} HTTP/1.1\r\nHost: gateway.test\r\n${auth}${headers}\r\n`;
const bytes = (...parts: Array<string | number[]>) => new Uint8Array(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p)))));

const MALFORMED: RefusalCase[] = [
  { name: 'a bare CR inside a header value', chunks: [get('X-Injected: a\rSet-Cookie: b\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'a bare LF ending a header line (header injection)', chunks: [get('X-Injected: a\nX-Smuggled: b\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'a NUL inside a header value', chunks: [get('X-Injected: a\u0000b\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'a control character inside a header value', chunks: [get('X-Injected: a\u0001b\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'Transfer-Encoding: chunked with Content-Length', chunks: [post('Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n', '0\r\n\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'Content-Length with Transfer-Encoding: chunked (CL first)', chunks: [post('Content-Length: 4\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'two different Content-Lengths', chunks: [post('Content-Length: 2\r\nContent-Length: 3\r\n', '{}x')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'two equal Content-Lengths', chunks: [post('Content-Length: 2\r\nContent-Length: 2\r\n', '{}')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'a Content-Length list "2, 2"', chunks: [post('Content-Length: 2, 2\r\n', '{}')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'Content-Length: +2', chunks: [post('Content-Length: +2\r\n', '{}')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'Content-Length: -1', chunks: [post('Content-Length: -1\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'a Content-Length beyond 2^64', chunks: [post('Content-Length: 99999999999999999999\r\n', '{}')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'an obs-fold continuation line', chunks: [get('X-Folded: a\r\n  b\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'a chunk size that is not hex', chunks: [post('Transfer-Encoding: chunked\r\n', 'zz\r\nab\r\n0\r\n\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'a chunk size overflowing 64 bits', chunks: [post('Transfer-Encoding: chunked\r\n', 'fffffffffffffffffff\r\nab\r\n0\r\n\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'chunk data without its CRLF', chunks: [post('Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n', '2\r\n{}XX0\r\n\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'Transfer-Encoding: gzip (not chunked last)', chunks: [post('Transfer-Encoding: gzip\r\n', 'abc')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'Transfer-Encoding: chunked twice', chunks: [post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'a space before the colon of Transfer-Encoding', chunks: [post('Transfer-Encoding : chunked\r\n', '0\r\n\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'a header line without a colon', chunks: [get('NoColonHere\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'a method that is not a token', chunks: [`G@T ${list} HTTP/1.1\r\nHost: gateway.test\r\n\r\n`], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'an unknown method', chunks: [`FOO ${list} HTTP/1.1\r\nHost: gateway.test\r\n\r\n`], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'a space inside the URL', chunks: [`GET /v2.0/wiki/work spaces HTTP/1.1\r\nHost: gateway.test\r\n\r\n`], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'invalid UTF-8 bytes in the URL', chunks: [bytes('GET /v2.0/wiki/workspaces/', [0xc3, 0x28, 0xff], ` HTTP/1.1\r\nHost: gateway.test\r\n${auth}\r\n`)], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'HTTP/9.9', chunks: [`GET ${list} HTTP/9.9\r\nHost: gateway.test\r\n\r\n`], status: [400, 505], code: 'gateway.request.malformed', closes: true },
  { name: "HTTP/2's preface on an HTTP/1.1 port", chunks: ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'binary garbage', chunks: [bytes([0xff, 0xfe, 0x00, 0x01, 0x16, 0x03, 0x01], '\r\n\r\n')], status: 400, code: 'gateway.request.malformed', closes: true },
  // Refused by the Node adapter before the gateway's handlers run: today a bare 400 with no body.
  { name: 'an asterisk-form target (GET *)', chunks: [`GET * HTTP/1.1\r\nHost: gateway.test\r\n${auth}Connection: close\r\n\r\n`], status: [400, 404], code: ['gateway.request.malformed', 'InvalidAction.NotFound'], closes: true },
  { name: 'OPTIONS *', chunks: [`OPTIONS * HTTP/1.1\r\nHost: gateway.test\r\n${auth}Connection: close\r\n\r\n`], status: [400, 404], code: ['gateway.request.malformed', 'InvalidAction.NotFound'], closes: true },
  { name: 'a backslash in the path', chunks: [`GET /v2.0\\wiki\\workspaces?operatorId=${operatorId} HTTP/1.1\r\nHost: gateway.test\r\n${auth}Connection: close\r\n\r\n`], status: [400, 404], code: ['gateway.request.malformed', 'InvalidAction.NotFound'], closes: true },
  { name: 'an invalid Host header', chunks: [`GET ${list} HTTP/1.1\r\nHost: a@b:c\r\n${auth}Connection: close\r\n\r\n`], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'HTTP/1.1 without a Host header', chunks: [`GET ${list} HTTP/1.1\r\n${auth}Connection: close\r\n\r\n`], status: 400, code: 'gateway.request.malformed', closes: true },
  { name: 'an Expect the server cannot meet', chunks: [post('Expect: 200-ok\r\nContent-Type: application/json\r\nContent-Length: 2\r\n', '{}')], status: [400, 417], code: 'gateway.request.malformed', closes: false },
  { name: 'CONNECT (the gateway is no tunnel)', chunks: [`CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n${auth}\r\n`], status: 404, code: 'InvalidAction.NotFound', closes: true },
];

const TOO_LARGE: RefusalCase[] = [
  { name: 'a 20 KB header', chunks: [get(`X-Big: ${'a'.repeat(20_000)}\r\n`)], status: 431, code: 'gateway.request.tooLarge', closes: true },
  { name: '3,000 small headers', chunks: [get(Array.from({ length: 3_000 }, (_, i) => `X-H${i}: v\r\n`).join(''))], status: 431, code: 'gateway.request.tooLarge', closes: true },
  { name: 'a 20 KB URL', chunks: [get('', `${list}&teamId=${'t'.repeat(20_000)}`)], status: [414, 431], code: 'gateway.request.tooLarge', closes: true },
  { name: 'Content-Length over the body limit (the body never sent)', chunks: [post('Content-Type: application/json\r\nContent-Length: 2000000\r\n')], status: 413, code: 'gateway.request.tooLarge', closes: false },
  {
    name: 'a chunked body growing past the limit',
    chunks: [post('Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n'), ...Array.from({ length: 18 }, () => `10000\r\n${'x'.repeat(0x10000)}\r\n`)],
    status: 413,
    code: 'gateway.request.tooLarge',
    closes: false,
  },
];

describe('malformed HTTP on a real socket', () => {
  it.each(MALFORMED.map((c) => [c.name, c] as const))('%s → JSON in DingTalk shape, nothing forwarded, still serving', async (_name, refusal) => {
    await expectRefusal(refusal);
  });

  it.each(TOO_LARGE.map((c) => [c.name, c] as const))('%s → 413/431 gateway.request.tooLarge, nothing forwarded, still serving', async (_name, refusal) => {
    await expectRefusal(refusal);
  });

  it('accepts headers well under the limit (the limit is not absurdly low)', async () => {
    const exchange = await rawExchange(port, [get(`X-Big: ${'a'.repeat(8_000)}\r\nConnection: close\r\n`)]);
    expect(parseResponses(exchange.text)[0]?.status).toBe(200);
  });

  it('never forwards a body on an operation that takes none (GET with Content-Length), and keeps the framing', async () => {
    // In process the gateway refuses such a body (400 "body is not allowed"); on Node the adapter
    // gives a GET no body at all, so it is dropped. Either way DingTalk must not receive it, and
    // its bytes must not be read as the next request.
    const forwardedBefore = forwarded.length;
    const exchange = await rawExchange(port, [`${get('Content-Type: application/json\r\nContent-Length: 2\r\n')}{}${get('Connection: close\r\n', '/healthz')}`]);
    const responses = parseResponses(exchange.text);
    expect(responses.map((r) => r.status), exchange.text.slice(0, 400)).toEqual([expect.any(Number), 200]);
    expect([200, 400]).toContain(responses[0]!.status);
    if (responses[0]!.status === 400) expectGatewayError(responses[0], 400, 'paramError', 'GET with a body');
    expect(forwarded.slice(forwardedBefore).map((r) => r.body?.byteLength ?? 0)).toEqual(responses[0]!.status === 200 ? [0] : []);
  });
});

async function expectRefusal(refusal: RefusalCase) {
  const before = sandbox.sandbox.counters.snapshot();
  const forwardedBefore = forwarded.length;
  const exchange = await rawExchange(port, refusal.chunks, { timeoutMs: 3_000, ...(refusal.closes ? {} : { responses: 1 }) });
  const responses = parseResponses(exchange.text);
  const where = `${refusal.name}: ${JSON.stringify(exchange.text.slice(0, 400))}`;
  expect(responses, `exactly one answer; ${where}`).toHaveLength(1);
  expectGatewayError(responses[0], refusal.status, refusal.code, where);
  if (refusal.closes) expect(exchange.closedByServer, `the server closes a connection it cannot trust; ${where}`).toBe(true);
  expect(apiCallsBetween(before, sandbox.sandbox.counters.snapshot()), `nothing reached DingTalk; ${where}`).toEqual({});
  expect(forwarded.length, where).toBe(forwardedBefore);
  await expectServing();
}

describe('request smuggling and framing', () => {
  it('answers a request pipelined after a complete one as its own request, never as part of the first', async () => {
    const before = sandbox.sandbox.counters.snapshot();
    const exchange = await rawExchange(
      port,
      [`${post('Content-Type: application/json\r\nContent-Length: 2\r\n', '{}')}GET /__sandbox/state HTTP/1.1\r\nHost: gateway.test\r\n${auth}Connection: close\r\n\r\n`],
      { timeoutMs: 3_000 },
    );
    const responses = parseResponses(exchange.text);
    expect(responses.map((r) => r.status), exchange.text.slice(0, 600)).toEqual([400, 404]);
    // AddSpace without a name: DingTalk's own code for it.
    expectGatewayError(responses[0], 400, 'param.error', 'first');
    expectGatewayError(responses[1], 404, 'InvalidAction.NotFound', 'second');
    expect(apiCallsBetween(before, sandbox.sandbox.counters.snapshot())).toEqual({});
  });

  it('never answers a request hidden behind Transfer-Encoding + Content-Length (CL.TE / TE.CL)', async () => {
    const smuggled = `GET /__sandbox/state HTTP/1.1\r\nHost: gateway.test\r\n${auth}\r\n`;
    for (const head of [`Content-Length: ${5 + smuggled.length}\r\nTransfer-Encoding: chunked\r\n`, `Transfer-Encoding: chunked\r\nContent-Length: 3\r\n`]) {
      const exchange = await rawExchange(port, [post(head, `0\r\n\r\n${smuggled}`)], { timeoutMs: 3_000 });
      const responses = parseResponses(exchange.text);
      expect(responses, exchange.text.slice(0, 600)).toHaveLength(1);
      expectGatewayError(responses[0], 400, 'gateway.request.malformed', head);
      expect(exchange.closedByServer).toBe(true);
    }
    await expectServing();
  });

  it('forwards an absolute-form request to DingTalk only, whatever host it names', async () => {
    const before = sandbox.sandbox.counters.snapshot();
    const forwardedBefore = forwarded.length;
    const exchange = await rawExchange(port, [`GET http://evil.example${list} HTTP/1.1\r\nHost: evil.example\r\n${auth}Connection: close\r\n\r\n`]);
    expect(parseResponses(exchange.text)[0]?.status).toBe(200);
    expect(apiCallsBetween(before, sandbox.sandbox.counters.snapshot())).toEqual({ listWorkspaces: 1 });
    expect(forwarded.slice(forwardedBefore).map((r) => r.path)).toEqual([list]);
  });

  it('does not switch protocols on Upgrade', async () => {
    const exchange = await rawExchange(port, [get('Connection: Upgrade, close\r\nUpgrade: websocket\r\n')]);
    const [response] = parseResponses(exchange.text);
    expect(response?.status).not.toBe(101);
    expect(response?.status).toBe(200);
  });

  it("refuses two Authorization headers rather than picking one (no 'which key wins')", async () => {
    const other = mintApiKey();
    const exchange = await rawExchange(port, [`GET ${list} HTTP/1.1\r\nHost: gateway.test\r\n${auth}Authorization: Bearer ${other.key}\r\nConnection: close\r\n\r\n`]);
    const [response] = parseResponses(exchange.text);
    expectGatewayError(response, 401, ['gateway.auth.missingKey', 'gateway.auth.invalidKey'], 'two keys');
  });
});

describe('slow clients (slowloris), bounded', () => {
  it(`ends headers trickling a byte every 100 ms with 408 gateway.request.timeout within ${HEADERS_TIMEOUT_MS} ms + slack`, async () => {
    const before = sandbox.sandbox.counters.snapshot();
    const slow = await trickle(port, `GET ${list} HTTP/1.1\r\nHost: gateway.test\r\n${auth}X-Slow: `, { everyMs: 100, maxMs: HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS + 2_000 });
    const where = JSON.stringify({ ...slow, text: slow.text.slice(0, 300) });
    expect(slow.closedByServer, `closed by the server in time; ${where}`).toBe(true);
    expect(slow.elapsedMs, where).toBeLessThan(HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS);
    const responses = parseResponses(slow.text);
    expect(responses, where).toHaveLength(1);
    expectGatewayError(responses[0], 408, 'gateway.request.timeout', where);
    expect(apiCallsBetween(before, sandbox.sandbox.counters.snapshot())).toEqual({});
    await expectServing();
  });

  it(`ends a body trickling a byte every 100 ms with 408 gateway.request.timeout within ${REQUEST_TIMEOUT_MS} ms + slack, forwarding nothing`, async () => {
    const before = sandbox.sandbox.counters.snapshot();
    const forwardedBefore = forwarded.length;
    const slow = await trickle(port, post('Content-Type: application/json\r\nContent-Length: 100000\r\n', '{"name":"'), { everyMs: 100, maxMs: REQUEST_TIMEOUT_MS + TIMEOUT_SLACK_MS + 2_000 });
    const where = JSON.stringify({ ...slow, text: slow.text.slice(0, 300) });
    expect(slow.closedByServer, `closed by the server in time; ${where}`).toBe(true);
    expect(slow.elapsedMs, where).toBeLessThan(REQUEST_TIMEOUT_MS + TIMEOUT_SLACK_MS);
    expect(slow.bytesTrickled, where).toBeLessThan(100);
    const responses = parseResponses(slow.text);
    expect(responses, where).toHaveLength(1);
    expectGatewayError(responses[0], 408, 'gateway.request.timeout', where);
    expect(apiCallsBetween(before, sandbox.sandbox.counters.snapshot())).toEqual({});
    expect(forwarded.length).toBe(forwardedBefore);
    await expectServing();
  });

  it('closes a connection that opens and never sends a byte, in time', async () => {
    const idle = await trickle(port, '', { everyMs: 60_000, maxMs: HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS + 2_000 });
    expect(idle.closedByServer, JSON.stringify(idle)).toBe(true);
    expect(idle.elapsedMs).toBeLessThan(HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS);
    // Nothing was asked: an answer is optional, but if there is one it is the gateway's JSON.
    const [response] = parseResponses(idle.text);
    if (response) expectGatewayError(response, 408, 'gateway.request.timeout', 'idle');
  });
});

describe("the client's failures are not the gateway's", () => {
  it('a body broken off mid-way (client abort, bad chunk after the headers) is never an unhandled error nor a 5xx', async () => {
    const metricsBefore = await fiveHundreds();
    const errorsBefore = errorLogLines().length;
    // Content-Length 100, 10 bytes sent, then the client goes away.
    await rawExchange(port, [post('Content-Type: application/json\r\nContent-Length: 100\r\n', '{"name":"x')], { timeoutMs: 300 });
    // The headers are fine (the gateway starts the request), the chunk framing breaks later.
    await rawExchange(port, [post('Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n', '2\r\n{"\r\nzz\r\n')], { timeoutMs: 1_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(errorLogLines().slice(errorsBefore), 'log lines at level error or above').toEqual([]);
    expect(await fiveHundreds(), 'dtg_requests_total with a 5xx status').toEqual(metricsBefore);
    await expectServing();
  });

  it('across every malformed request of this file: no log line at level error, no 5xx in the metrics', async () => {
    expect(captured.lines().length).toBeGreaterThan(0);
    expect(errorLogLines()).toEqual([]);
    expect(await fiveHundreds()).toEqual([]);
  });
});

function errorLogLines(): string[] {
  return captured.lines().filter((line) => ((JSON.parse(line) as { level?: number }).level ?? 0) >= 50);
}

/** The `dtg_requests_total` series with a 5xx status, from the metrics listener. */
async function fiveHundreds(): Promise<string[]> {
  const text = await (await fetch(gateway.metricsUrl!)).text();
  return text.split('\n').filter((line) => line.startsWith('dtg_requests_total{') && /status="5\d\d"/.test(line));
}
