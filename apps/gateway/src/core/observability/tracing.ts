/**
 * Spans, as a port: the core starts one per request (a child of the caller's span, W3C Trace
 * Context) and a child span around the limiter, the token and each call to DingTalk. With no
 * tracer (the default) nothing is created: each place costs one `undefined` check. The Node
 * adapter's tracer exports to an OTLP endpoint with OpenTelemetry's SDK
 * (`adapters/node/otel-tracer.ts`).
 */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

export interface SpanHandle {
  /** Ends the span; `error` marks it failed with that description. */
  end(attributes?: SpanAttributes, error?: string): void;
}

export interface RequestSpan extends SpanHandle {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
  child(name: string, attributes?: SpanAttributes): SpanHandle;
}

export interface GatewayTracer {
  /** A request's span: a child of `parent` (the caller's `traceparent`) when given, else a new trace's root. */
  startRequest(parent: { traceId: string; spanId: string; flags: string } | undefined, attributes: SpanAttributes): RequestSpan;
}
