/**
 * Checks path, query and body against the operation's schemas in the contract (compiled from
 * the spec at start) before the request costs any DingTalk quota: `400 paramError` with a
 * message naming the field.
 *
 * ```ts
 * app.use('*', validateRequest({ validator }));
 * ```
 */
import type { SpecValidator } from '@dingtalk-gateway/spec-validator';
import { gatewayError } from '../../errors.js';
import { type Step, stepMiddleware } from '../step.js';
import { duplicateKey } from './duplicate-keys.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * DingTalk reads a body only when it is declared as JSON: a JSON body labelled text/plain would
 * be checked here and then read as no body upstream. A missing Content-Type is filled in by the
 * proxy; any other type is refused.
 */
const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export function validateRequest(options: { validator: SpecValidator }) {
  return stepMiddleware(validateRequestStep(options));
}

export function validateRequestStep(options: { validator: SpecValidator }): Step {
  return (c) => {
    const raw = c.get('rawBody');
    let body: unknown;
    if (raw !== undefined) {
      const encoding = c.req.header('content-encoding');
      if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
        return gatewayError(c, 400, 'paramError', `request body must not be encoded (content-encoding ${encoding.slice(0, 50)})`);
      }
      const contentType = c.req.header('content-type');
      if (contentType !== undefined && !JSON_MEDIA_TYPE.test(contentType)) {
        return gatewayError(c, 400, 'paramError', `request body must be JSON (content-type application/json), not ${contentType.slice(0, 100)}`);
      }
      let text: string;
      try {
        text = utf8.decode(raw);
      } catch {
        return gatewayError(c, 400, 'paramError', 'request body is not valid UTF-8');
      }
      try {
        body = JSON.parse(text);
      } catch (error) {
        return gatewayError(c, 400, 'paramError', `request body is not valid JSON: ${(error as Error).message}`);
      }
      const repeated = duplicateKey(text);
      if (repeated !== undefined) return gatewayError(c, 400, 'paramError', `request body has the key '${repeated.slice(0, 100)}' twice in one object`);
    }
    const url = c.req.url;
    const queryStart = url.indexOf('?');
    const query = new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1));
    const result = options.validator.validateRequest(c.get('operation'), { pathParams: c.get('pathParams'), query, body });
    if (!result.ok) return gatewayError(c, 400, 'paramError', result.message);
    return undefined;
  };
}
