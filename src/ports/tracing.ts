/** The span an incoming request runs as. */
export interface RequestSpan {
  /** 32 hex digits: the trace the request belongs to (the caller's, or a new one). */
  readonly traceId: string;
  /** The request's own position in the trace, echoed to the caller as `traceparent`. */
  readonly traceparent: string;
  /** Run the rest of the request inside the span (its logs, transactions, jobs and outgoing calls). */
  run(next: () => void): void;
  /**
   * The request was answered with this status, by the route with this template (never the raw
   * URL), with this stable error code when it was refused: ends the span, named by method and
   * route template.
   */
  end(status: number, route: string | undefined, errorCode?: string): void;
}

/** What a job's run tells its span. */
export interface JobSpan {
  /** How the run ended: done, to be retried, given up, or stopped because another worker owns the job now. */
  outcome(kind: 'done' | 'retry' | 'give_up' | 'lease_lost', error?: string): void;
}

/**
 * W3C trace context across requests and the work that outlives them: a request continues the
 * trace of its `traceparent` header (a malformed one is ignored and a new trace started, never
 * an error); a job stores the `traceparent` of the work that enqueued it (the storage adapter reads
 * it when the job is written), and its run continues that trace, so the run's log lines, spans and
 * outgoing calls name the trace that caused them.
 */
export interface Tracing {
  /** The span of an incoming request, from its `traceparent` header (absent or malformed: a new trace). */
  startRequest(method: string, traceparent: string | undefined): RequestSpan;
  /**
   * Run one job's work as a span of the trace in `traceparent` (the enqueuing work's), or of a
   * new trace when the job has none (written before tracing existed, or outside any trace).
   */
  runJob<T>(
    job: { readonly id: string; readonly kind: string; readonly attempts: number; readonly traceparent: string | null },
    work: (span: JobSpan) => Promise<T>,
  ): Promise<T>;
}
