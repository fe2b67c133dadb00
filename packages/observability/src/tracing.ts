import { randomBytes } from 'node:crypto';
import { diag, DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';
import type { Logger } from './logger';

/**
 * W3C Trace Context for one transition, end to end: the API takes the caller's `traceparent` (or starts a trace),
 * the write path stores it in the outbox row's headers, the relay sends it as the Kafka header `ce_traceparent`
 * (CloudEvents distributed-tracing extension), and the notifier logs its trace id and passes it on in the socket
 * payload and the webhook request. That much runs always and costs two random ids per request.
 *
 * With `OTEL_TRACES_EXPORTER=otlp` each process also records spans with the OpenTelemetry SDK and exports them over
 * OTLP/HTTP (`OTEL_EXPORTER_OTLP_ENDPOINT`, default http://localhost:4318). Off, the SDK is never loaded.
 */

export type SpanKindName = 'server' | 'client' | 'producer' | 'consumer' | 'internal';

export interface TraceSpan {
  /** This span's `traceparent`: what the next hop is given (outbox headers, a webhook request). */
  readonly traceparent: string;
  readonly traceId: string;
  setAttributes(attributes: Attributes): void;
  /** Ends the span; an error marks it failed. */
  end(error?: unknown): void;
}

export interface StartSpanOptions {
  /** The caller's `traceparent`; an absent or malformed one starts a new trace. */
  parent?: string | undefined;
  kind?: SpanKindName;
  attributes?: Attributes;
}

export interface Tracing {
  /** True when spans are recorded and exported (OTEL_TRACES_EXPORTER=otlp). */
  readonly enabled: boolean;
  startSpan(name: string, options?: StartSpanOptions): TraceSpan;
  /** Exports what is still buffered (for at most SHUTDOWN_EXPORT_MS); never throws. */
  shutdown(): Promise<void>;
}

export interface ParsedTraceparent {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

/** A valid W3C `traceparent` (version 00 layout, ids not all zero), or undefined. */
export function parseTraceparent(value: unknown): ParsedTraceparent | undefined {
  if (typeof value !== 'string' || value.length > 512) return undefined;
  const parsed = parseTraceParent(value);
  return parsed === null ? undefined : { traceId: parsed.traceId, spanId: parsed.spanId, traceFlags: parsed.traceFlags };
}

/** The trace id of a `traceparent`, or undefined when it is not one. */
export const traceIdOf = (traceparent: unknown): string | undefined => parseTraceparent(traceparent)?.traceId;

export const formatTraceparent = (traceId: string, spanId: string, traceFlags: number): string =>
  `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;

const SAMPLED = 1;
/** How long a stopping process waits for its last spans to be exported: a collector that is down must not hold it. */
const SHUTDOWN_EXPORT_MS = 2_000;
const NOOP = (): void => {};

/**
 * Tracing off: spans are ids only. A span continues its parent's trace (with its flags) under a new span id; a new
 * trace is marked sampled, so a process that records (its own OTEL_TRACES_EXPORTER=otlp) keeps it.
 */
export const idOnlyTracing: Tracing = {
  enabled: false,
  startSpan(_name, options = {}) {
    const parent = parseTraceparent(options.parent);
    const ids = randomBytes(24).toString('hex');
    const traceId = parent?.traceId ?? ids.slice(16);
    return {
      traceparent: formatTraceparent(traceId, ids.slice(0, 16), parent?.traceFlags ?? SAMPLED),
      traceId,
      setAttributes: NOOP,
      end: NOOP,
    };
  },
  shutdown: () => Promise.resolve(),
};

const KINDS: Record<SpanKindName, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

function sdkTracing(tracer: Tracer, shutdown: () => Promise<void>): Tracing {
  return {
    enabled: true,
    startSpan(name, options = {}) {
      const parent = parseTraceparent(options.parent);
      const parentContext = parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, { ...parent, isRemote: true });
      const span = tracer.startSpan(
        name,
        { kind: KINDS[options.kind ?? 'internal'], ...(options.attributes !== undefined ? { attributes: options.attributes } : {}) },
        parentContext,
      );
      const context = span.spanContext();
      return {
        traceparent: formatTraceparent(context.traceId, context.spanId, context.traceFlags),
        traceId: context.traceId,
        setAttributes: (attributes) => void span.setAttributes(attributes),
        end(error) {
          if (error !== undefined) {
            const failure = error instanceof Error ? error : new Error(typeof error === 'string' ? error : JSON.stringify(error));
            span.recordException(failure);
            span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
          }
          span.end();
        },
      };
    },
    shutdown,
  };
}

export interface TracingConfig {
  OTEL_TRACES_EXPORTER: 'none' | 'otlp';
  OTEL_SERVICE_NAME?: string | undefined;
}

/**
 * The process's tracing: ids only (the default), or the OpenTelemetry SDK exporting over OTLP/HTTP. The exporter
 * reads the standard OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout); the sampler is parent-based.
 * The SDK's own warnings and errors (an export the collector refused or could not take) go to `logger` at warn.
 */
export async function startTracing(config: TracingConfig, app: string, logger?: Logger): Promise<Tracing> {
  if (config.OTEL_TRACES_EXPORTER !== 'otlp') return idOnlyTracing;
  const [{ BatchSpanProcessor, TracerProvider, ParentBasedSampler, AlwaysOnSampler }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.OTEL_SERVICE_NAME ?? `settle-${app}`, 'service.namespace': 'settle' }),
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), scheduledDelayMillis: 1_000 })],
  });
  if (logger !== undefined) {
    const warn = (message: string, ...args: unknown[]): void =>
      logger.warn({ component: 'opentelemetry', detail: args.map(String).join(' ') }, message);
    diag.setLogger({ error: warn, warn, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
  }
  const shutdown = async (): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_EXPORT_MS)));
    await Promise.race([
      provider.shutdown().catch((error: unknown) => logger?.warn({ err: error }, 'could not export the last spans')),
      deadline,
    ]);
    clearTimeout(timer);
  };
  return sdkTracing(provider.getTracer('settle'), shutdown);
}
