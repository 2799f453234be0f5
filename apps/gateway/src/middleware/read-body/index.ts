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
  const limit = bodyLimit({
    maxSize: options.maxBytes,
    onError: (c) => gatewayError(c, 413, 'gateway.request.tooLarge', `request body is over ${options.maxBytes} bytes`),
  });
  return createMiddleware<GatewayEnv>(async (c, next) => {
    if (!mayHaveBody(c.req.method, c.req.header('content-length'), c.req.header('transfer-encoding'), () => c.req.raw.body !== null)) {
      c.set('rawBody', undefined);
      return next();
    }
    return limit(c, async () => {
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      // bodyLimit trusts Content-Length when present; Node's parser enforces it, not every runtime does.
      if (bytes.byteLength > options.maxBytes) {
        c.res = gatewayError(c, 413, 'gateway.request.tooLarge', `request body is over ${options.maxBytes} bytes`);
        return;
      }
      c.set('rawBody', bytes.byteLength === 0 ? undefined : bytes);
      await next();
    });
  });
}
