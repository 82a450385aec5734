import {
  type Attributes,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { maskText } from '../../domain/mask.js';
import type { Tracing } from '../../ports/tracing.js';
import { redactForLog } from '../logging/redact.js';
import type { RecordedSpan, SpanAttributes, SpanKindName, SpanRecorder, TraceContext } from './trace-context.js';
import { recordingTracing } from './w3c-tracing.js';

/**
 * OpenTelemetry tracing: this module loads the SDK, so it is imported (dynamically) only when
 * tracing is configured; the default start never loads it.
 */
export interface OtelTracingSettings {
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** This process among the instances (service.instance.id). */
  readonly instanceId: string;
  /** The share of new traces recorded (0..1); a caller's sampled flag decides for its trace. */
  readonly sampleRatio: number;
  /**
   * Where spans go: an OTLP/HTTP endpoint (batched), or the given exporter (tests: the SDK's
   * InMemorySpanExporter, each span exported as it ends unless `batch`).
   */
  readonly export:
    | {
        readonly otlp: {
          readonly url: string;
          readonly headers: Readonly<Record<string, string>>;
          readonly timeoutMs: number;
        };
      }
    | { readonly exporter: SpanExporter; readonly batch?: boolean };
  /** An export the collector refused or never answered (after the exporter's own retries): these spans are lost. */
  readonly onExportFailure?: (spans: number, error: Error | undefined) => void;
}

export interface OtelTracing {
  readonly tracing: Tracing;
  readonly recorder: SpanRecorder;
  /** Export every span ended so far. */
  flush(): Promise<void>;
  /** Export what is left, then stop exporting (graceful drain). */
  shutdown(): Promise<void>;
}

const KINDS: Readonly<Record<SpanKindName, SpanKind>> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

/**
 * Attributes as they may leave the process: phone and card numbers masked inside any string,
 * values under secret-looking keys replaced (the log's own rules).
 */
function masked(attributes: SpanAttributes | undefined): Attributes {
  return attributes === undefined ? {} : (redactForLog(attributes) as Attributes);
}

function contextOf(span: Span): TraceContext {
  const c = span.spanContext();
  return { traceId: c.traceId, spanId: c.spanId, flags: c.traceFlags.toString(16).padStart(2, '0') };
}

export function createOtelTracing(settings: OtelTracingSettings): OtelTracing {
  const target = settings.export;
  const given =
    'exporter' in target
      ? target.exporter
      : new OTLPTraceExporter({
          url: target.otlp.url,
          headers: { ...target.otlp.headers },
          timeoutMillis: target.otlp.timeoutMs,
        });
  const onFailure = settings.onExportFailure;
  const exporter: SpanExporter =
    onFailure === undefined
      ? given
      : {
          export: (spans, done) => {
            given.export(spans, (result) => {
              // ExportResultCode.SUCCESS is 0 (@opentelemetry/core, not a dependency of ours for one constant).
              if (Number(result.code) !== 0) onFailure(spans.length, result.error);
              done(result);
            });
          },
          shutdown: () => given.shutdown(),
          forceFlush: () => given.forceFlush?.() ?? Promise.resolve(),
        };
  const processor =
    'exporter' in target && target.batch !== true
      ? new SimpleSpanProcessor(exporter)
      : new BatchSpanProcessor(exporter, { exportTimeoutMillis: 'otlp' in target ? target.otlp.timeoutMs : 30_000 });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: settings.serviceVersion,
      'service.instance.id': settings.instanceId,
    }),
    // A caller's decision stands for its whole trace; new traces are sampled at the ratio.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('open-autoglm', settings.serviceVersion);

  const recorder: SpanRecorder = {
    exporting: true,
    start(name, kind, parent, attributes): RecordedSpan {
      // The parent is passed explicitly (our own async context carries it), so no global context
      // manager or propagator is registered: nothing else in the process changes.
      const parentContext =
        parent === undefined
          ? ROOT_CONTEXT
          : trace.setSpanContext(ROOT_CONTEXT, {
              traceId: parent.traceId,
              spanId: parent.spanId,
              traceFlags: (parseInt(parent.flags, 16) & 1) === 1 ? TraceFlags.SAMPLED : TraceFlags.NONE,
              // A request's and a job's parents come from outside this process (a header, a row).
              isRemote: kind === 'server' || kind === 'consumer',
            });
      const span = tracer.startSpan(name, { kind: KINDS[kind], attributes: masked(attributes) }, parentContext);
      return {
        context: contextOf(span),
        setName: (n) => {
          span.updateName(n);
        },
        setAttributes: (a) => {
          span.setAttributes(masked(a));
        },
        fail: (failure) => {
          const message = maskText(failure.message);
          span.setStatus({ code: SpanStatusCode.ERROR, message });
          // The exception's type and masked message only: a stack or a body could carry a secret.
          span.addEvent('exception', { 'exception.type': failure.type, 'exception.message': message });
        },
        end: () => {
          span.end();
        },
      };
    },
  };
  return {
    tracing: recordingTracing(recorder),
    recorder,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
