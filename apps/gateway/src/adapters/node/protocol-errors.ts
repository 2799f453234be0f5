/**
 * Requests that never reach the gateway's handlers: what Node's HTTP parser refuses (not valid
 * HTTP, CR/LF or NUL in a header, Transfer-Encoding with Content-Length, oversized headers),
 * what arrives too slowly, an HTTP/1.1 request without Host, an `Expect` the server does not
 * meet, a `CONNECT`, and a request the adapter cannot turn into a `Request`. Node would answer
 * them with a bare status line or a silent close; these answer them like every other gateway
 * error, in DingTalk's body shape with a request id, and close the connection (after a protocol
 * error the stream cannot be trusted). DingTalk answers such requests from its web front, not
 * in its JSON, so there is no DingTalk code to give: they get the gateway's own
 * (`gateway.request.*`), but for a `CONNECT`, which names no operation, as DingTalk answers any
 * method it does not serve (`404 InvalidAction.NotFound`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorBody } from '@dingtalk-gateway/errors';
import type { GatewayErrorCode } from '@dingtalk-gateway/types';
import { API_NOT_FOUND } from '../../core/errors.js';

interface Answer {
  status: number;
  reason: string;
  code: GatewayErrorCode | typeof API_NOT_FOUND;
  message: string;
}

const MALFORMED: Answer = { status: 400, reason: 'Bad Request', code: 'gateway.request.malformed', message: 'the request is not valid HTTP' };
const BY_PARSER_ERROR: Record<string, Answer> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'Request Header Fields Too Large', code: 'gateway.request.tooLarge', message: 'request headers are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout', code: 'gateway.request.timeout', message: 'the request did not arrive in time' },
};

const newId = () => crypto.randomUUID();

function json(answer: Answer, id: string): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(errorBody(answer.code, answer.message, id));
  return {
    body,
    headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), 'x-request-id': id, connection: 'close' },
  };
}

/** Writes the answer on a raw socket (no ServerResponse exists yet) and closes it. */
function endSocket(socket: Socket, answer: Answer): void {
  const { body, headers } = json(answer, newId());
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${answer.status} ${answer.reason}\r\n${head}\r\n${body}`);
}

function endResponse(response: ServerResponse, answer: Answer): void {
  const { body, headers } = json(answer, newId());
  response.writeHead(answer.status, headers).end(body);
}

/** `server.on('clientError')`. */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  // Nothing can be written on a connection the client broke, or once an answer has started.
  if (error.code === 'ECONNRESET' || !socket.writable || (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  endSocket(socket, (error.code && BY_PARSER_ERROR[error.code]) || MALFORMED);
}

/** `server.on('connect')`: the gateway is no tunnel. */
export function answerConnect(_request: IncomingMessage, socket: Socket): void {
  endSocket(socket, { status: 404, reason: 'Not Found', code: API_NOT_FOUND, message: 'no operation at CONNECT: the gateway is no tunnel' });
}

/** `server.on('checkExpectation')`: only `Expect: 100-continue` is met (by Node itself). */
export function answerExpectation(request: IncomingMessage, response: ServerResponse): void {
  endResponse(response, { status: 417, reason: 'Expectation Failed', code: 'gateway.request.malformed', message: `Expect: ${request.headers.expect} cannot be met` });
}

/** Wraps the adapter's listener: an HTTP/1.1 request without Host is refused (RFC 9112 §3.2). */
export function requireHost(listener: (request: IncomingMessage, response: ServerResponse) => unknown) {
  return (request: IncomingMessage, response: ServerResponse) => {
    if (request.httpVersion === '1.1' && !request.headers.host) {
      endResponse(response, { status: 400, reason: 'Bad Request', code: 'gateway.request.malformed', message: 'an HTTP/1.1 request needs a Host header' });
      return;
    }
    void listener(request, response);
  };
}

/** The adapter's `errorHandler`: a request it cannot turn into a `Request` (e.g. `GET *`, a bad Host). */
export function malformedRequestResponse(): Response {
  const { body, headers } = json(MALFORMED, newId());
  return new Response(body, { status: 400, headers });
}
