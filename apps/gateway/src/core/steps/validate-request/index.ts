/**
 * Checks path, query and body against the operation's schemas in the contract (compiled from
 * the spec at start) before the request costs any DingTalk quota, and refuses what does not
 * match exactly as DingTalk would: DingTalk's own status and code for that input (the spec's
 * `x-dingtalk-invalid-input`, e.g. `400 paramError.orderBy`, `400 name.invalid`), with a
 * message naming the field. The body is read as DingTalk reads it (declared as JSON, not
 * encoded, UTF-8, no key twice): see `readJsonBody` in the spec validator.
 *
 * ```ts
 * app.use('*', validateRequest({ validator }));
 * ```
 */
import { type SpecValidator, queryOf } from '@dingtalk-gateway/spec-validator';
import { dingtalkError } from '../../errors.js';
import { type Step, stepMiddleware } from '../step.js';

export function validateRequest(options: { validator: SpecValidator }) {
  return stepMiddleware(validateRequestStep(options));
}

export function validateRequestStep(options: { validator: SpecValidator }): Step {
  return (c) => {
    const bytes = c.get('rawBody');
    const body = bytes === undefined ? undefined : { bytes, contentType: c.req.header('content-type'), contentEncoding: c.req.header('content-encoding') };
    const result = options.validator.validateRequest(c.get('operation'), { pathParams: c.get('pathParams'), query: queryOf(c.req.url), body });
    if (!result.ok) return dingtalkError(c, result.status, result.code, result.message);
    return undefined;
  };
}
