/**
 * Reads the request body, at most `maxBytes` of it (413 beyond, checked on `Content-Length`
 * first and on the bytes actually received otherwise), and keeps the exact bytes: the gateway
 * validates a parsed copy but forwards what the caller sent. A body that breaks off is one
 * that cannot be read: DingTalk's code for the operation's body (the spec says which).
 *
 * ```ts
 * app.use('*', readBody({ maxBytes: 1024 * 1024, validator }));
 * ```
 */
import type { SpecValidator } from '@dingtalk-gateway/spec-validator';
import { bodyLimit } from 'hono/body-limit';
import type { Context } from 'hono';
import type { GatewayEnv } from '../../context.js';
import { dingtalkError, gatewayError } from '../../errors.js';
import { type Step, stepMiddleware } from '../step.js';

/**
 * Headers first: a body-less GET never touches the request stream (on Node that would build a
 * full `Request`). Without framing headers (an in-process `Request`, HTTP/2) look at the stream.
 */
function mayHaveBody(method: string, contentLength: string | undefined, transferEncoding: string | undefined, hasStream: () => boolean): boolean {
  if (contentLength !== undefined) return contentLength !== '0';
  if (transferEncoding !== undefined) return true;
  if (method === 'GET' || method === 'HEAD') return false;
  return hasStream();
}

export interface ReadBodyOptions {
  maxBytes: number;
  /** Says DingTalk's answer to a body that cannot be read, per operation. */
  validator: SpecValidator;
}

export function readBody(options: ReadBodyOptions) {
  return stepMiddleware(readBodyStep(options));
}

export function readBodyStep(options: ReadBodyOptions): Step {
  const tooLarge = (c: Context<GatewayEnv>) => gatewayError(c, 413, 'gateway.request.tooLarge', `request body is over ${options.maxBytes} bytes`);
  const limit = bodyLimit({ maxSize: options.maxBytes, onError: tooLarge });
  return (c) => {
    const method = c.req.method;
    const contentLength = c.req.header('content-length');
    const transferEncoding = c.req.header('transfer-encoding');
    if (!mayHaveBody(method, contentLength, transferEncoding, () => c.req.raw.body !== null)) {
      c.set('rawBody', undefined);
      return undefined;
    }
    return readWithin(c, contentLength, transferEncoding);
  };

  async function readWithin(c: Context<GatewayEnv>, contentLength: string | undefined, transferEncoding: string | undefined): Promise<Response | undefined> {
    const method = c.req.method;
    const read = async (): Promise<Response | undefined> => {
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      // bodyLimit trusts Content-Length when present; Node's parser enforces it, not every runtime does.
      if (bytes.byteLength > options.maxBytes) return tooLarge(c);
      c.set('rawBody', bytes.byteLength === 0 ? undefined : bytes);
      return undefined;
    };
    // The usual request with a body announces its length. bodyLimit's own check for that case,
    // done here (performance): bodyLimit starts by reading `c.req.raw.body`, and on Node that
    // makes @hono/node-server build a full Web `Request` with a stream over the socket, so the
    // body is then read through Web streams instead of its direct path (a POST cost about twice
    // a GET). `raw.body` is only looked at on the rare refusal, to keep bodyLimit's answer for a
    // request that announces a length but has no body.
    try {
      if (contentLength !== undefined && transferEncoding === undefined && method !== 'GET' && method !== 'HEAD') {
        if (Number.parseInt(contentLength || '0', 10) > options.maxBytes && c.req.raw.body !== null) return tooLarge(c);
        return await read();
      }
      // bodyLimit answers with `tooLarge`, or goes on to `read` and passes on what it returns.
      return ((await limit(c, read as () => Promise<void>)) as Response | undefined) ?? undefined;
    } catch {
      // Only reading can throw here: a body that broke off (client gone, bad chunk).
      const refusal = options.validator.refuse(c.get('operation'), 'body', 'presence', 'the request body could not be read');
      return dingtalkError(c, refusal.status, refusal.code, refusal.message);
    }
  }
}
