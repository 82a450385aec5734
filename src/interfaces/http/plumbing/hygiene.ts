import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyInstance, FastifyRequest } from 'fastify';
import { findUnsafeCharacter } from '../../../domain/intent/text.js';
import { problem, ProblemError, sendProblem, type Problem } from './problem.js';

/**
 * The request itself, before any route reads it: the wrong method on a known path, an overlong
 * URL or head, JSON nested too deep to walk, control and bidi characters in any string, and
 * fields nobody declared. Each is refused with problem+json and a stable code, the same way on
 * every route and on both storage engines (PostgreSQL's text refuses NUL; SQLite stores it).
 */

/** Longest URL (path and query) taken; longer is 414 URI_TOO_LONG. */
export const MAX_URL_LENGTH = 8192;
/** Deepest JSON body taken (every body of this API nests a few levels); deeper is 400 JSON_TOO_DEEP. */
export const MAX_JSON_DEPTH = 32;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * How deep `text` nests arrays and objects, counted without parsing (brackets inside strings do
 * not count), stopping as soon as it passes `limit`: so depth is known before JSON.parse runs,
 * and long before anything walks or hashes the value recursively.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** The first string (value or key) at any depth with an unsafe character: where it is and which. */
function unsafeIn(value: unknown, path: string): { field: string; character: string } | undefined {
  if (typeof value === 'string') {
    const bad = findUnsafeCharacter(value);
    return bad === undefined ? undefined : { field: path, character: bad.codePoint };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  // Only what JSON.parse and the query parser make: a stream or a buffer (a batch file) is not walked.
  if (ArrayBuffer.isView(value) || typeof (value as { pipe?: unknown }).pipe === 'function') return undefined;
  for (const [k, v] of Object.entries(value)) {
    const at = path === '' ? k : `${path}.${k}`;
    const inKey = findUnsafeCharacter(k);
    if (inKey !== undefined) return { field: at, character: inKey.codePoint };
    const found = unsafeIn(v, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Whether a parsed body carries anything (an empty object is what a client sends for "nothing"). */
function hasContent(body: unknown): boolean {
  if (body === undefined || body === null || body === '') return false;
  return !(typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
}

/**
 * The answer to a broken connection-level request (Node answers these itself, before Fastify
 * sees a request): a head over Node's limit (431, or 414 when the request line alone is too long),
 * a malformed request (400), a client too slow to send its request (408) — all problem+json.
 */
export function clientErrorHandler(hsts: string | undefined): (error: ConnectionError, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const id = `req_${randomUUID()}`;
    let p: Problem;
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      // Node hands over the bytes it was parsing (typed as their JSON form, but a Buffer).
      const raw: unknown = error.rawPacket;
      const head = Buffer.isBuffer(raw) ? raw.toString('latin1', 0, MAX_URL_LENGTH + 64) : '';
      const eol = head.indexOf('\r\n');
      const longUrl = /^[A-Z]+ /.test(head) && (eol === -1 || eol > MAX_URL_LENGTH);
      p = longUrl
        ? problem('URI_TOO_LONG', `the URL is longer than ${MAX_URL_LENGTH} characters`, id)
        : problem('HEADERS_TOO_LARGE', 'the request headers are too large', id);
    } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      p = problem('REQUEST_TIMEOUT', 'the request was not received in time', id);
    } else {
      p = problem('MALFORMED_REQUEST', 'the request is not valid HTTP (a header with a control character?)', id);
    }
    if (socket.writable) {
      const body = JSON.stringify(p);
      socket.write(
        `HTTP/1.1 ${p.status} ${p.title}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n` +
          (hsts === undefined ? '' : `Strict-Transport-Security: ${hsts}\r\n`) +
          `\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}

/** JSON bodies: the default parser (which refuses `__proto__` and `constructor.prototype`), after a depth check. */
export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      done(
        new ProblemError(problem('JSON_TOO_DEEP', `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`, req.id)),
        undefined,
      );
      return;
    }
    // The default parser answers through `done`; what it returns is nothing to wait for.
    void parse(req, text, done);
  });
}

/** The methods a concrete path is routed for (empty: no route has this path at all). */
function allowedMethods(app: FastifyInstance, path: string): string[] {
  return METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
}

/**
 * 405 with `Allow` for a known path and the wrong method, 414 for an overlong URL (both before
 * authentication: neither depends on who asks), then — once the body is parsed, before any
 * handler — control characters anywhere, and query parameters or a body a route does not declare.
 */
export function registerRequestHygiene(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.length > MAX_URL_LENGTH)
      return sendProblem(reply, problem('URI_TOO_LONG', `the URL is longer than ${MAX_URL_LENGTH} characters`, req.id));
    if (!req.is404) return undefined;
    const path = req.url.split('?')[0] ?? '';
    const allowed = allowedMethods(app, path);
    if (allowed.length === 0) return undefined;
    void reply.header('allow', allowed.join(', '));
    return sendProblem(
      reply,
      problem('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}; use ${allowed.join(', ')}`, req.id, {
        allow: allowed,
      }),
    );
  });

  app.addHook('preValidation', async (req, reply) => {
    const doc = req.routeOptions.config.openapi;
    // Signed callbacks are the channel's bytes, checked by signature and answered in its format.
    if (req.is404 || doc === undefined || doc.tags.includes('callbacks')) return undefined;
    for (const [where, value] of [
      ['params', req.params],
      ['query', req.query],
      ['body', req.body],
    ] as const) {
      const bad = unsafeIn(value, '');
      if (bad !== undefined)
        return sendProblem(
          reply,
          problem(
            'INVALID_CHARACTERS',
            `${where} ${bad.field === '' ? '' : `field "${bad.field}" `}holds a control or invisible ` +
              `format character (${bad.character})`,
            req.id,
            { details: { in: where, field: bad.field, character: bad.character } },
          ),
        );
    }
    const query = Object.keys(req.query ?? {});
    if (doc.query === undefined && query.length > 0)
      return sendProblem(reply, unknownFields(req, 'query', query, 'this endpoint takes no query parameters'));
    if (doc.body === undefined && doc.bodyContent === undefined && hasContent(req.body))
      return sendProblem(reply, unknownFields(req, 'body', [], 'this endpoint takes no request body'));
    // Whatever each handler's own schema says, a field the route does not declare is refused the
    // same way everywhere (a schema left loose cannot let one through).
    const extraQuery = undeclared(doc.query, req.query);
    if (extraQuery.length > 0) return sendProblem(reply, unknownFields(req, 'query', extraQuery, 'unknown query'));
    const extraBody = undeclared(doc.body, req.body);
    if (extraBody.length > 0) return sendProblem(reply, unknownFields(req, 'body', extraBody, 'unknown field(s)'));
    return undefined;
  });
}

/** Keys of `value` that the object schema `schema` does not declare (none when either is not an object). */
function undeclared(schema: z.ZodType | undefined, value: unknown): string[] {
  if (!(schema instanceof z.ZodObject) || typeof value !== 'object' || value === null || Array.isArray(value))
    return [];
  const shape = schema.shape as Record<string, unknown>;
  return Object.keys(value).filter((k) => !Object.hasOwn(shape, k));
}

function unknownFields(req: FastifyRequest, where: string, fields: readonly string[], detail: string): Problem {
  const named = fields.length === 0 ? '' : `: ${fields.join(', ')}`;
  return problem('VALIDATION_FAILED', `${detail}${named}`, req.id, {
    errors:
      fields.length === 0
        ? [{ field: `(${where})`, message: detail }]
        : fields.map((f) => ({ field: f, message: `unknown ${where} field` })),
  });
}
