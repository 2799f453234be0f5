/**
 * The operation's input checked against the spec, after the platform checks and before the
 * handler, answered as DingTalk answers bad input: the status and code the spec gives for that
 * field (`x-dingtalk-invalid-input`), a message naming it. The gateway checks requests with the
 * same validator and the same rules, so a request refused here is refused there alike.
 *
 * Handlers read the checked input (`c.get('input')`: the query coerced, defaults filled in, the
 * body parsed) and refuse what only DingTalk's own rules catch with `c.get('refuseInput')`,
 * which takes the field and finds its code in the spec too: no handler names a code per field.
 *
 * ```ts
 * app.post('/v1.0/drive/spaces', ..., validateInput(validator, 'addSpace'), handler);
 * // in the handler:
 * if (tooLong(name)) c.get('refuseInput')('body.name', 'Space name is invalid.'); // 400 name.invalid
 * ```
 */
import { type OperationInfo, type SpecValidator, queryOf } from '@dingtalk-gateway/spec-validator';
import type { MiddlewareHandler } from 'hono';
import type { SandboxEnv } from './env.js';
import { DingTalkError } from './errors.js';

export function validateInput(validator: SpecValidator, operationId: string): MiddlewareHandler<SandboxEnv> {
  const operation: OperationInfo | undefined = validator.operation(operationId);
  if (!operation) throw new Error(`sandbox: the validator has no operation ${operationId}`);
  const refuseInput = (field: string, message: string): never => {
    const refusal = validator.refuse(operation, field, 'value', message);
    throw new DingTalkError(refusal.status as DingTalkError['status'], refusal.code, refusal.message);
  };
  return async (c, next) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    const result = validator.validateRequest(operation, {
      pathParams: c.req.param(),
      query: queryOf(c.req.url),
      body: bytes.byteLength === 0 ? undefined : { bytes, contentType: c.req.header('content-type'), contentEncoding: c.req.header('content-encoding') },
    });
    if (!result.ok) throw new DingTalkError(result.status as DingTalkError['status'], result.code, result.message);
    c.set('input', { query: result.query, body: result.body });
    c.set('refuseInput', refuseInput);
    await next();
  };
}
