/**
 * Requests Node's HTTP parser refuses (not valid HTTP, CR/LF or NUL in a header, both
 * Transfer-Encoding and Content-Length, oversized headers) or that arrive too slowly never reach
 * the gateway's handlers. Node would answer them with a bare status line; this answers them
 * like every other gateway error, in DingTalk's body shape, and closes the connection (after a
 * parse error the stream cannot be trusted, so keep-alive is off).
 */
import type { Socket } from 'node:net';
import { errorBody } from '@dingtalk-gateway/errors';
import type { GatewayErrorCode } from '@dingtalk-gateway/types';

type ClientError = Error & { code?: string };

const ANSWERS: Record<string, { status: number; reason: string; code: GatewayErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'Request Header Fields Too Large', code: 'gateway.request.tooLarge', message: 'request headers are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout', code: 'gateway.request.timeout', message: 'the request did not arrive in time' },
};
const MALFORMED = { status: 400, reason: 'Bad Request', code: 'paramError' as const, message: 'the request is not valid HTTP' };

export function answerClientError(error: ClientError, socket: Socket, requestId: () => string = () => crypto.randomUUID()): void {
  // Nothing can be written on a connection the client already broke or that is half-written.
  if (error.code === 'ECONNRESET' || !socket.writable || (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const answer = (error.code && ANSWERS[error.code]) || MALFORMED;
  const id = requestId();
  const body = JSON.stringify(errorBody(answer.code, answer.message, id));
  socket.end(
    `HTTP/1.1 ${answer.status} ${answer.reason}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${id}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
}
