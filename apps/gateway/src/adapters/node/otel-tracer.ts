/**
 * The core's tracing port on OpenTelemetry's SDK: spans exported to an OTLP/HTTP endpoint
 * (`observability.tracing.otlpEndpoint`, e.g. a collector's `http://127.0.0.1:4318/v1/traces`),
 * in batches. Off unless configured. A request's span is a child of the caller's `traceparent`
 * (and sampled as the caller says); a new trace is sampled.
 *
 * ```ts
 * const tracing = createOtelTracer({ endpoint: 'http://127.0.0.1:4318/v1/traces', serviceName: 'dingtalk-gateway' });
 * createGateway(config, { ...deps, tracer: tracing.tracer });
 * await tracing.shutdown(); // exports what is pending
 * ```
 */
import { ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import type { GatewayTracer, RequestSpan, SpanAttributes, SpanHandle } from '../../core/observability/tracing.js';

export interface OtelTracing {
  tracer: GatewayTracer;
  /** Exports the spans still pending, then stops. */
  shutdown(): Promise<void>;
}

export function createOtelTracer(options: { endpoint: string; serviceName: string; exportDelayMs?: number }): OtelTracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: options.endpoint }), scheduledDelayMillis: options.exportDelayMs ?? 1_000 })],
  });
  const tracer = provider.getTracer('dingtalk-gateway');
  return {
    tracer: {
      startRequest(parent, attributes) {
        const context = parent ? trace.setSpanContext(ROOT_CONTEXT, { traceId: parent.traceId, spanId: parent.spanId, traceFlags: Number.parseInt(parent.flags, 16), isRemote: true }) : ROOT_CONTEXT;
        const span = tracer.startSpan('gateway.request', { kind: SpanKind.SERVER, attributes: clean(attributes) }, context);
        return requestSpan(tracer, span);
      },
    },
    shutdown: () => provider.shutdown(),
  };
}

function requestSpan(tracer: Tracer, span: Span): RequestSpan {
  const { traceId, spanId, traceFlags } = span.spanContext();
  const parent = trace.setSpan(ROOT_CONTEXT, span);
  return {
    traceId,
    spanId,
    sampled: (traceFlags & 1) === 1,
    child: (name, attributes) => handle(tracer.startSpan(name, { kind: name.startsWith('dingtalk.') ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes: clean(attributes) }, parent)),
    end: handle(span).end,
  };
}

function handle(span: Span): SpanHandle {
  return {
    end(attributes, error) {
      if (attributes) span.setAttributes(clean(attributes));
      if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      span.end();
    },
  };
}

/** OpenTelemetry's attributes take no `undefined`. */
function clean(attributes: SpanAttributes | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(attributes ?? {})) if (value !== undefined) out[key] = value;
  return out;
}
