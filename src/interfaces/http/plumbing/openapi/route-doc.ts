import type { z } from 'zod';
import type { ErrorCode } from '../../../../domain/result.js';
import type { TransportErrorCode } from '../problem.js';

/** A stable error code (`problem.ts` maps each to its HTTP status). */
export type StableCode = ErrorCode | TransportErrorCode;

/** One answer of a route. */
export interface ResponseDoc {
  readonly description: string;
  /** The JSON body (`application/json`); none for an empty answer (204). */
  readonly body?: z.ZodType;
  /** Bodies of other content types (CSV, text, a gateway's own acknowledgement). */
  readonly content?: Readonly<Record<string, z.ZodType>>;
  /** Response headers it carries, name → what it says. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * What the OpenAPI document says of one route, declared beside its registration in the route's
 * `config.openapi`. Request schemas are the very zod schemas the handler parses with, so the
 * document cannot drift from what the route accepts.
 */
export interface RouteDoc {
  readonly summary: string;
  readonly description?: string;
  /** Groups of the docs page; the first one is where the route is listed. */
  readonly tags: readonly [string, ...string[]];
  /** Path parameters (`:id` in the URL), as the handler parses them. */
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  /** The JSON request body the handler parses. */
  readonly body?: z.ZodType;
  /** Request bodies of other content types (a batch file, a gateway's callback). */
  readonly bodyContent?: Readonly<Record<string, z.ZodType>>;
  /** The body may be left out (a confirm or cancel with nothing to add). */
  readonly bodyOptional?: boolean;
  /** An example request body, shown on the docs page. */
  readonly example?: unknown;
  /** The route honours `Idempotency-Key` (a retry with the same key replays the first answer). */
  readonly idempotent?: boolean;
  /** Other request headers it reads, name → what it says. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Its answers other than problems, by status. */
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /**
   * The stable codes it may answer with besides those every route of its kind shares (a
   * credential refused, a body that is not JSON, an Idempotency-Key reused...), which the
   * document adds by itself.
   */
  readonly errors?: readonly StableCode[];
  /** Error answers may also come in these content types (a gateway's own refusal format). */
  readonly errorContent?: Readonly<Record<string, z.ZodType>>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's entry in the OpenAPI document (GET /openapi.json); every route has one. */
    openapi?: RouteDoc;
  }
}
