import { pino, type DestinationStream, type Logger as Pino } from 'pino';
import { maskText } from '../../domain/mask.js';
import type { Logger } from '../../ports/logger.js';
import { redactForLog } from './redact.js';
import { currentTrace } from '../tracing/trace-context.js';

export interface PinoLoggerOptions {
  readonly level: string;
  /** Kept for configuration compatibility: output stays one JSON object per line (pipe to pino-pretty to read). */
  readonly pretty?: boolean;
  readonly destination?: DestinationStream | NodeJS.WritableStream;
  readonly base?: Record<string, unknown>;
}

/**
 * Structured JSON logs through pino, masked on the way out: every call — ours, Fastify's, any
 * child logger's — passes its fields through `redactForLog` and its message through `maskText`.
 */
export function createPinoLogger(options: PinoLoggerOptions): { logger: Logger; pino: Pino } {
  const instance = pino(
    {
      level: options.level,
      base: options.base ?? { service: 'open-autoglm' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => redactForLog(obj) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === 'string' ? maskText(a) : a)) as Parameters<typeof method>;
          method.apply(this, masked);
        },
      },
      serializers: { err: (e: unknown) => redactForLog(e) },
      // Every line written inside a trace (a request, a job run, work either started) names it.
      mixin: () => {
        const trace = currentTrace();
        return trace === undefined ? {} : { trace_id: trace.traceId, span_id: trace.spanId };
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
  return { logger: wrap(instance), pino: instance };
}

function wrap(p: Pino): Logger {
  return {
    debug: (fields, message) => p.debug(fields, message),
    info: (fields, message) => p.info(fields, message),
    warn: (fields, message) => p.warn(fields, message),
    error: (fields, message) => p.error(fields, message),
    // pino writes child bindings as given, so they are masked here, once, at creation.
    child: (fields) => wrap(p.child(redactForLog(fields) as Record<string, unknown>)),
  };
}
