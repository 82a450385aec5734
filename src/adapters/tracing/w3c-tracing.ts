import type { RequestSpan, Tracing } from '../../ports/tracing.js';
import { childOf, formatTraceparent, newTrace, parseTraceparent, runInTrace } from './trace-context.js';

/** W3C trace context only: ids carried through requests, jobs, logs and outgoing calls; nothing exported. */
export const w3cTracing: Tracing = {
  startRequest(_method, header): RequestSpan {
    const parent = parseTraceparent(header);
    const trace = parent === undefined ? newTrace() : childOf(parent);
    return {
      traceId: trace.traceId,
      traceparent: formatTraceparent(trace),
      run: (next) => runInTrace(trace, next),
      end: () => undefined,
    };
  },
  runJob(job, work) {
    const parent = parseTraceparent(job.traceparent);
    return runInTrace(parent === undefined ? newTrace() : childOf(parent), work);
  },
};
