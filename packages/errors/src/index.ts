/**
 * DingTalk's error model, shared by the client, the token provider and the gateway.
 *
 * Every error from DingTalk, and every error the gateway makes, is a JSON body
 * `{code, message, requestid}` (plus `accessdenieddetail` on permission errors), so one
 * parser serves all of them.
 *
 * ```ts
 * if (!response.ok) throw await DingTalkError.fromResponse(response);
 * ...
 * catch (err) { if (err instanceof DingTalkError && err.code === 'workspaceNotExist') ... }
 * ```
 */
import type { AccessDeniedDetail, DingTalkErrorBody } from '@dingtalk-gateway/types';

export type { AccessDeniedDetail, DingTalkErrorBody };

/** The code given to an error answer whose body is not DingTalk's error shape (an HTML page, an IP-ban body). */
export const UNRECOGNIZED_ERROR_BODY = 'unrecognizedErrorBody';

export class DingTalkError extends Error {
  override readonly name = 'DingTalkError';
  /** The HTTP status of the answer. */
  readonly status: number;
  /** DingTalk's (or the gateway's) machine-readable code, e.g. `workspaceNotExist`. */
  readonly code: string;
  /** The `requestid` of the body, or the `x-acs-request-id` / `x-request-id` header. */
  readonly requestId: string | undefined;
  /** On permission errors: the permissions the app (or tenant) lacks. */
  readonly accessDeniedDetail: AccessDeniedDetail | undefined;

  constructor(init: { status: number; code: string; message: string; requestId?: string | undefined; accessDeniedDetail?: AccessDeniedDetail | undefined }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.accessDeniedDetail = init.accessDeniedDetail;
  }

  /** Reads an error answer. Consumes the body. */
  static async fromResponse(response: Response): Promise<DingTalkError> {
    const text = await response.text().catch(() => '');
    return DingTalkError.fromBody(response.status, text, response.headers);
  }

  /**
   * Builds the error from a status and a body, parsed or not. Accepts DingTalk's spelling and
   * the capitalised one its SDK also reads (`Code`, `Message`, `RequestId`).
   */
  static fromBody(status: number, body: unknown, headers?: Headers): DingTalkError {
    const parsed = typeof body === 'string' ? parseJson(body) : body;
    const headerRequestId = headers?.get('x-acs-request-id') ?? headers?.get('x-request-id') ?? undefined;
    if (isRecord(parsed)) {
      const code = stringField(parsed, 'code', 'Code');
      if (code) {
        return new DingTalkError({
          status,
          code,
          message: stringField(parsed, 'message', 'Message') ?? code,
          requestId: stringField(parsed, 'requestid', 'RequestId', 'requestId') ?? headerRequestId,
          accessDeniedDetail: isRecord(parsed.accessdenieddetail) ? (parsed.accessdenieddetail as AccessDeniedDetail) : undefined,
        });
      }
    }
    const snippet = typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body)?.slice(0, 200);
    return new DingTalkError({
      status,
      code: UNRECOGNIZED_ERROR_BODY,
      message: `HTTP ${status} with a body that is not a DingTalk error${snippet ? `: ${snippet}` : ''}`,
      requestId: headerRequestId,
    });
  }

  /** The error as DingTalk's body shape. */
  toBody(): DingTalkErrorBody {
    return errorBody(this.code, this.message, this.requestId ?? '', this.accessDeniedDetail);
  }
}

/** DingTalk's error body shape, for errors the gateway or the sandbox make. */
export function errorBody(code: string, message: string, requestid: string, accessdenieddetail?: AccessDeniedDetail): DingTalkErrorBody {
  return accessdenieddetail ? { code, message, requestid, accessdenieddetail } : { code, message, requestid };
}

/** Whether a parsed JSON value has DingTalk's error shape. */
export function isDingTalkErrorBody(value: unknown): value is DingTalkErrorBody {
  return isRecord(value) && typeof value.code === 'string' && typeof value.message === 'string' && typeof value.requestid === 'string';
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function stringField(record: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = record[name];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
