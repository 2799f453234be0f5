/**
 * Reads the request body, at most `maxBytes` of it (413 beyond, checked on `Content-Length`
 * first and on the bytes actually received otherwise), and keeps the exact bytes: the gateway
 * validates a parsed copy but forwards what the caller sent.
 *
 * ```ts
 * app.use('*', readBody({ maxBytes: 1024 * 1024 }));
 * ```
 */
import { bodyLimit } from 'hono/body-limit';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { GatewayEnv } from '../../context.js';
import { gatewayError } from '../../errors.js';

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

export function readBody(options: { maxBytes: number }) {
  const tooLarge = (c: Context<GatewayEnv>) => gatewayError(c, 413, 'gateway.request.tooLarge', `request body is over ${options.maxBytes} bytes`);
  const limit = bodyLimit({ maxSize: options.maxBytes, onError: tooLarge });
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const method = c.req.method;
    const contentLength = c.req.header('content-length');
    const transferEncoding = c.req.header('transfer-encoding');
    if (!mayHaveBody(method, contentLength, transferEncoding, () => c.req.raw.body !== null)) {
      c.set('rawBody', undefined);
      return next();
    }
    let bodyRead = false;
    const read = async () => {
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      bodyRead = true;
      // bodyLimit trusts Content-Length when present; Node's parser enforces it, not every runtime does.
      if (bytes.byteLength > options.maxBytes) {
        c.res = tooLarge(c);
        return;
      }
      c.set('rawBody', bytes.byteLength === 0 ? undefined : bytes);
      await next();
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
      return await limit(c, read);
    } catch (error) {
      // Only a body that broke off (client gone, bad chunk) is the caller's doing; anything thrown
      // after the body was read comes from further down and is not ours to answer.
      if (bodyRead) throw error;
      return gatewayError(c, 400, 'paramError', 'the request body could not be read');
    }
  });
}
