import type { RequestSpan, Tracing } from '../../ports/tracing.js';
import {
  formatTraceparent,
  inSpan,
  parseTraceparent,
  runInTrace,
  type SpanRecorder,
  w3cRecorder,
} from './trace-context.js';

/**
 * The tracing port over a span recorder: requests as server spans named by method and route
 * template (OpenTelemetry's HTTP conventions), job runs as consumer spans continuing the trace
 * stored with the job. The recorder mints every span id, so the ids in `traceparent` answers,
 * log lines and job rows are the recorded spans' own.
 */
export function recordingTracing(recorder: SpanRecorder): Tracing {
  return {
    startRequest(method, header): RequestSpan {
      // A malformed header is no parent: the request starts a new trace.
      const span = recorder.start(method, 'server', parseTraceparent(header), { 'http.request.method': method });
      return {
        traceId: span.context.traceId,
        traceparent: formatTraceparent(span.context),
        run: (next) => runInTrace(span.context, next, recorder),
        end(status, route, errorCode) {
          if (route !== undefined) span.setName(`${method} ${route}`);
          span.setAttributes({
            'http.response.status_code': status,
            ...(route === undefined ? {} : { 'http.route': route }),
            ...(errorCode === undefined ? {} : { 'autoglm.error_code': errorCode }),
            // The conventions mark a server span failed on 5xx only: a 4xx is the caller's mistake.
            ...(status >= 500 ? { 'error.type': errorCode ?? String(status) } : {}),
          });
          if (status >= 500) span.fail({ type: errorCode ?? String(status), message: `answered ${status}` });
          span.end();
        },
      };
    },
    runJob(job, work) {
      return inSpan(
        `job ${job.kind}`,
        'consumer',
        { 'autoglm.job.kind': job.kind, 'autoglm.job.id': job.id, 'autoglm.job.attempt': job.attempts },
        (span) =>
          work({
            outcome(kind, error) {
              span.setAttributes({ 'autoglm.job.outcome': kind });
              // A retry or a give-up is the run's failure (a lost lease is another worker's run).
              if (error !== undefined && (kind === 'retry' || kind === 'give_up'))
                span.fail({ type: kind, message: error });
            },
          }),
        // A job written before 0020, or outside any trace, starts a new one.
        { parent: parseTraceparent(job.traceparent) ?? null, recorder },
      );
    },
  };
}

/** W3C trace context only: ids carried through requests, jobs, logs and outgoing calls; nothing exported. */
export const w3cTracing: Tracing = recordingTracing(w3cRecorder);
