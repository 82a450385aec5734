import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { currentTrace, inSpan, type SpanRecorder } from '../adapters/tracing/trace-context.js';
import { type PeerKind, tracedPort } from '../adapters/tracing/traced-port.js';
import { w3cTracing } from '../adapters/tracing/w3c-tracing.js';
import type { AppConfig } from '../config/load-config.js';
import type { Logger } from '../ports/logger.js';
import type { Repositories, UnitOfWork, UnitOfWorkMeter } from '../ports/repositories.js';
import type { Tracing } from '../ports/tracing.js';
import { packageVersion } from './build-mcp.js';

/** The process's tracing: W3C ids always; spans when `tracing.otlp` (or a test's exporter) is given. */
export interface TracingRuntime {
  readonly tracing: Tracing;
  /** Whether spans are exported (the wrappers below are only put in then). */
  readonly exporting: boolean;
  /** Calls of a port to an outside party as client spans (unchanged when not exporting). */
  traced<T extends object>(
    target: T,
    peer: { kind: PeerKind; name: string },
    methods: readonly (keyof T & string)[],
  ): T;
  /** Each unit of work (one storage transaction) as a span (unchanged when not exporting). */
  tracedUnitOfWork(uow: UnitOfWork, engine: string): UnitOfWork;
  /**
   * Export the spans still buffered and stop (graceful drain); a collector that does not answer
   * is logged, not thrown.
   */
  shutdown(): Promise<void>;
}

const untraced: TracingRuntime = {
  tracing: w3cTracing,
  exporting: false,
  traced: (target) => target,
  tracedUnitOfWork: (uow) => uow,
  shutdown: () => Promise.resolve(),
};

/**
 * Without `tracing.otlp` nothing of OpenTelemetry is loaded (the default start stays free of
 * it); with it, the SDK is imported here, once.
 */
export async function buildTracing(
  config: AppConfig,
  logger: Logger,
  workerId: string,
  now: () => number,
  /** Tests: spans go to this exporter (the SDK's InMemorySpanExporter) instead of OTLP. */
  exporter?: SpanExporter,
): Promise<TracingRuntime> {
  const otlp = config.tracing.otlp;
  const target =
    exporter !== undefined
      ? { exporter }
      : otlp === undefined
        ? undefined
        : { otlp: { url: otlp.endpoint, headers: otlp.headers, timeoutMs: otlp.timeout_ms } };
  if (target === undefined) return untraced;
  const { createOtelTracing } = await import('../adapters/tracing/otel-tracing.js');
  const otel = createOtelTracing({
    serviceName: config.tracing.service_name,
    serviceVersion: packageVersion(),
    instanceId: workerId,
    sampleRatio: config.tracing.sample_ratio,
    export: target,
    onExportFailure: exportFailures(logger, now),
  });
  // Only the origin: a path is harmless, but credentials in a URL would not be.
  if (otlp !== undefined) logger.info({ endpoint: new URL(otlp.endpoint).origin }, 'exporting spans over OTLP/HTTP');
  return {
    tracing: otel.tracing,
    exporting: true,
    traced: (target, peer, methods) => tracedPort(target, peer, methods),
    tracedUnitOfWork: (uow, engine) => tracedUnitOfWork(uow, otel.recorder, engine),
    async shutdown() {
      try {
        await otel.shutdown();
      } catch (e) {
        logger.warn({ err: e }, 'could not export the last spans');
      }
    },
  };
}

/**
 * One internal span per unit of work, started in the caller's trace, so what the work enqueues
 * (a job's stored traceparent) and logs names this span. The attempts are counted: PostgreSQL
 * runs the work again on a serialization failure or deadlock. So are the statements it sent, as
 * the storage adapter counts them (`autoglm.uow.statements`; on PostgreSQL, round trips).
 */
function tracedUnitOfWork(uow: UnitOfWork, recorder: SpanRecorder, engine: string): UnitOfWork {
  return {
    read: uow.read,
    // The worker's polls: outside any trace.
    claimDue: (...args) => uow.claimDue(...args),
    run<T>(work: (repos: Repositories) => Promise<T>, meter?: UnitOfWorkMeter): Promise<T> {
      // Outside any trace (the worker's polls, timers' sweeps): no span, or each poll would be a trace.
      if (currentTrace() === undefined) return uow.run(work, meter);
      return inSpan(
        'unit of work',
        'internal',
        { 'db.system.name': engine },
        async (span) => {
          let attempts = 0;
          // Counted by the storage adapter as it sends them; a caller's own meter is told too.
          const counted: UnitOfWorkMeter = { statements: 0 };
          try {
            return await uow.run((repos) => {
              attempts++;
              return work(repos);
            }, counted);
          } finally {
            if (meter !== undefined) meter.statements += counted.statements;
            span.setAttributes({ 'autoglm.uow.attempts': attempts, 'autoglm.uow.statements': counted.statements });
          }
        },
        { recorder },
      );
    },
  };
}

/**
 * Export failures, logged at most once a minute with the spans lost since the last line: a
 * collector that is down must not flood the log it is meant to complement.
 */
function exportFailures(logger: Logger, now: () => number): (spans: number, error: Error | undefined) => void {
  let lost = 0;
  let loggedAt = -Infinity;
  return (spans, error) => {
    lost += spans;
    if (now() - loggedAt < 60_000) return;
    logger.warn(
      { err: error, spans_lost: lost },
      'could not export spans: the collector refused them or did not answer',
    );
    loggedAt = now();
    lost = 0;
  };
}
