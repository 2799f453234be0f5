/**
 * What the middlewares of one request share, as Hono context variables.
 */
import type { TraceContext } from './steps/trace-context/index.js';
import type { RequestSpan } from './observability/tracing.js';
import type { OperationInfo } from '@dingtalk-gateway/spec-validator';
import type { Context } from 'hono';
import type { MeteredCall } from './quota/metered-call.js';
import type { ReservedCall } from './quota/limits-with-call.js';
import type { Tenant } from './tenants.js';

export interface RequestLog {
  /** Milliseconds spent waiting for DingTalk, over all attempts. */
  upstreamMs?: number;
  upstreamAttempts?: number;
  /** Whether the DingTalk token came from the cache without a fetch. */
  tokenCached?: boolean;
  /** What the read cache did: answered (`hit`), shared another request's answer (`collapsed`), sent it (`miss`), or was told to (`bypass`). */
  cache?: 'hit' | 'miss' | 'collapsed' | 'bypass';
  /** Why the gateway answered by itself, when it did. */
  errorCode?: string;
}

export type GatewayEnv = {
  Variables: {
    requestId: string;
    /** W3C Trace Context: the caller's trace or a new one, and the gateway's span (`steps/trace-context`). */
    trace: TraceContext;
    /** The request's span, when a tracer is configured (`observability/tracing.ts`). */
    span: RequestSpan | undefined;
    tenant: Tenant;
    operation: OperationInfo;
    pathParams: Readonly<Record<string, string>>;
    /** The request body exactly as received, forwarded without re-serialisation. */
    rawBody: Uint8Array | undefined;
    log: RequestLog;
    /** Headers every answer to this request carries (lower-case names): see `answer.ts`. */
    answerHeaders: Record<string, string | string[]>;
    /** Set once `answer()` has built the answer with them. */
    answerHeadersSent: boolean;
    /** A metered operation's calls in the org's month, reserved by the quota step; settled by the proxy. */
    meteredCall: MeteredCall | undefined;
    /** The call of the month the rate-limit step reserved with the limits (`quota/limits-with-call.ts`), for the quota step to take. */
    reservedCall: ReservedCall | undefined;
    /** The call's slot of DingTalk's per-IP window was taken with its rate limits (the egress guard takes none for its first attempt: `UpstreamRequest.ipWindowSlot`). */
    egressCounted: boolean | undefined;
    /** `unknown`: an attempt may have reached DingTalk and no answer came (set by the proxy, read by idempotency). */
    upstreamOutcome: 'unknown' | undefined;
    /** `deferred`: the rate-limit step left DingTalk's slot (QPS, per IP) to `dingtalkSlotStep`, after the read cache. */
    dingtalkSlot: 'deferred' | undefined;
  };
};

/** A route's handler as the gateway writes them: it always answers (no `next`). */
export type RouteHandler = (c: Context<GatewayEnv>) => Response | Promise<Response>;
