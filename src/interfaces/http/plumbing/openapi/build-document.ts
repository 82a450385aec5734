import { z } from 'zod';
import { ACCESS_COOKIE, type RouteAccess } from '../authenticate.js';
import { problem, statusForCode } from '../problem.js';
import type { ResponseDoc, RouteDoc, StableCode } from './route-doc.js';

/** A route as registered, with its entry for the document (undefined: nobody described it yet). */
export interface DocumentedRoute extends RouteAccess {
  readonly doc: RouteDoc | undefined;
}

type Json = Record<string, unknown>;

/** What every route shares, by what it is: the document adds these codes by itself. */
const ALWAYS: readonly StableCode[] = [
  'RATE_LIMITED',
  'SOURCE_BLOCKED',
  'INTERNAL',
  // Node and the hygiene hooks answer these for any request (plumbing/hygiene.ts).
  'URI_TOO_LONG',
  'HEADERS_TOO_LARGE',
  'MALFORMED_REQUEST',
];
/** Every route but the signed callbacks: a control character anywhere, an undeclared field or parameter. */
const CHECKED: readonly StableCode[] = ['INVALID_CHARACTERS', 'VALIDATION_FAILED'];
/** A credential missing or refused, a role without the permission, an `X-Act-For` that names nobody valid. */
const AUTHENTICATED: readonly StableCode[] = ['UNAUTHENTICATED', 'FORBIDDEN', 'VALIDATION_FAILED'];
const JSON_BODY: readonly StableCode[] = [
  'VALIDATION_FAILED',
  'MALFORMED_JSON',
  'JSON_TOO_DEEP',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
];
const IDEMPOTENT: readonly StableCode[] = ['IDEMPOTENCY_KEY_INVALID', 'IDEMPOTENCY_CONFLICT', 'IDEMPOTENCY_IN_FLIGHT'];

const TAGS: Readonly<Record<string, string>> = {
  orders: 'Coffee orders: place, confirm, pay, cancel, list, audit.',
  refunds: 'Refunds of an order’s payment, whole or in part.',
  wallet: 'The person’s prepaid wallet and its top-ups.',
  recharges: 'Phone recharges, one at a time or a batch file.',
  confirmations: 'Money actions the policy held for the person to confirm or reject.',
  mandates: 'Spending mandates a person grants an agent.',
  agent: 'Words to intent, and the agent conversation.',
  identity: 'Logins, sessions, API keys and users.',
  operations: 'Health, readiness, metrics, gateways, channels, the ledger, review flags, blocks.',
  callbacks: 'Signed callbacks from payment gateways and recharge channels.',
  docs: 'This document and its page.',
};

/** An RFC 9457 problem document with our stable `code` and the `request_id`. */
const problemSchema = z
  .looseObject({
    type: z.string().describe('a URI naming the problem kind'),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe('the stable error code: branch on this'),
    detail: z.string().describe('what went wrong, for a person'),
    request_id: z.string().describe('quote it when asking about this request'),
    errors: z
      .array(z.looseObject({ code: z.string().optional(), field: z.string().optional(), message: z.string() }))
      .optional()
      .describe('each thing wrong with the request'),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({
    id: 'Problem',
    description: 'An error (RFC 9457 problem+json). Some carry the resource the error is about (e.g. `order`).',
  });

/** zod → JSON Schema 2020-12 (OpenAPI 3.1's dialect); named schemas become shared components. */
class Schemas {
  readonly components: Record<string, Json> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
    const { $schema: _dialect, $defs, ...rest } = json;
    for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, Json>)) this.components[id] = relink(def);
    return relink(rest);
  }
}

function relink(schema: Json): Json {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/$defs/', '"#/components/schemas/')) as Json;
}

/** Info of the document. */
export interface DocumentInfo {
  readonly title: string;
  readonly version: string;
  readonly description: string;
}

/**
 * The OpenAPI 3.1 document of every route, built from what each declares in `config.openapi` and
 * what authentication recorded (`routeTable`: its permission or public). Routes nobody described
 * are listed in `undocumented` (a test requires it to be empty) and still appear, bare.
 */
export function buildOpenApiDocument(
  routes: readonly DocumentedRoute[],
  info: DocumentInfo,
): { readonly document: Json; readonly undocumented: readonly string[] } {
  const schemas = new Schemas();
  schemas.convert(problemSchema, 'output');
  const paths: Record<string, Record<string, Json>> = {};
  const undocumented: string[] = [];
  const tags: string[] = [];
  for (const route of routes) {
    if (route.doc === undefined) undocumented.push(`${route.method} ${route.url}`);
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const op = operation(route, schemas);
    for (const t of op.tags as string[]) if (!tags.includes(t)) tags.push(t);
    (paths[path] ??= {})[route.method.toLowerCase()] = op;
  }
  const document: Json = {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description: info.description },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    tags: tags.map((name) => ({ name, ...(TAGS[name] === undefined ? {} : { description: TAGS[name] }) })),
    paths,
    components: {
      schemas: schemas.components,
      securitySchemes: SECURITY_SCHEMES,
      parameters: PARAMETERS,
      headers: HEADERS,
    },
  };
  return { document, undocumented };
}

const SECURITY_SCHEMES: Json = {
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'agk_…',
    description: 'An API key (`Authorization: Bearer agk_…`), made by an admin (`POST /api/v1/admin/keys`).',
  },
  accessToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from `POST /api/v1/auth/login` or `/refresh` (15 minutes at most).',
  },
  sessionCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: ACCESS_COOKIE,
    description: 'The browser session cookie set at login (HttpOnly, SameSite=Strict).',
  },
  csrfToken: {
    type: 'apiKey',
    in: 'header',
    name: 'X-CSRF-Token',
    description: 'With the session cookie, a request that changes anything echoes the `autoglm_csrf` cookie here.',
  },
};

const PARAMETERS: Json = {
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Send one per action and reuse it on every retry: the first answer is replayed (`Idempotent-Replayed: true`), ' +
      'so nothing runs twice. The same key with a different body is 422 IDEMPOTENCY_CONFLICT; while the first ' +
      'request runs, 409 IDEMPOTENCY_IN_FLIGHT with Retry-After.',
    schema: { type: 'string', minLength: 1, maxLength: 255 },
    example: 'order-2024-05-01-0001',
  },
  ActFor: {
    name: 'X-Act-For',
    in: 'header',
    required: false,
    description: 'An operator or admin acts for this person (audited as such); anyone else is refused FORBIDDEN.',
    schema: { type: 'string' },
    example: 'alice',
  },
  RequestId: {
    name: 'X-Request-Id',
    in: 'header',
    required: false,
    description: 'Your id for this request (letters, digits, `._:-`, up to 128); one is made when absent.',
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
  },
};

const HEADERS: Json = {
  RequestId: { description: 'The id of this request, in every answer and log line.', schema: { type: 'string' } },
  IdempotentReplayed: {
    description: '`true` when this is the stored first answer to the same Idempotency-Key.',
    schema: { type: 'string', enum: ['true'] },
  },
};

const ref = (kind: string, name: string): Json => ({ $ref: `#/components/${kind}/${name}` });

function operation(route: DocumentedRoute, schemas: Schemas): Json {
  const doc = route.doc;
  const isPublic = route.access === 'public';
  const unsafe = !['GET', 'HEAD', 'OPTIONS'].includes(route.method);
  const pathParams = [...route.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] ?? '');
  const parameters: Json[] = [
    ...describeParameters(doc?.params, 'path', schemas, pathParams),
    ...describeParameters(doc?.query, 'query', schemas, []),
    ...Object.entries(doc?.headers ?? {}).map(([name, description]) => ({
      name,
      in: 'header',
      required: false,
      description,
      schema: { type: 'string' },
    })),
    ref('parameters', 'RequestId'),
  ];
  if (doc?.idempotent === true) parameters.push(ref('parameters', 'IdempotencyKey'));
  if (!isPublic) parameters.push(ref('parameters', 'ActFor'));

  const op: Json = {
    operationId: operationId(route),
    summary: doc?.summary ?? `${route.method} ${route.url} (not described yet)`,
    ...(doc?.description === undefined ? {} : { description: doc.description }),
    tags: doc?.tags ?? ['undocumented'],
    parameters,
    'x-permission': route.access,
    security: securityOf(route.access, unsafe),
  };
  const body = requestBody(doc, schemas);
  if (body !== undefined) op.requestBody = body;

  const responses: Record<string, Json> = {};
  for (const [status, r] of Object.entries(doc?.responses ?? {})) {
    responses[status] = response(r, schemas, doc?.idempotent === true && status.startsWith('2'));
  }
  const codes = new Set<StableCode>([
    ...ALWAYS,
    ...(doc === undefined || doc.tags.includes('callbacks') ? [] : CHECKED),
    ...(isPublic ? [] : AUTHENTICATED),
    ...(body === undefined || doc?.body === undefined ? [] : JSON_BODY),
    ...(doc?.query === undefined ? [] : (['VALIDATION_FAILED'] as const)),
    ...(doc?.idempotent === true ? IDEMPOTENT : []),
    ...(doc?.errors ?? []),
  ]);
  const byStatus = new Map<number, StableCode[]>();
  for (const code of codes) {
    const s = statusForCode(code);
    byStatus.set(s, [...(byStatus.get(s) ?? []), code]);
  }
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const media: Json = { ...problemMedia(status, list.sort()) };
    for (const [type, schema] of Object.entries(doc?.errorContent ?? {})) {
      media[type] = { schema: schemas.convert(schema, 'output') };
    }
    const key = String(status);
    const existing = responses[key];
    responses[key] =
      existing === undefined
        ? { description: list.join(', '), headers: { 'X-Request-Id': ref('headers', 'RequestId') }, content: media }
        : {
            ...existing,
            description: `${String(existing.description)}; or a problem: ${list.join(', ')}`,
            content: { ...(existing.content as Json | undefined), ...media },
          };
  }
  op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
  return op;
}

function operationId(route: RouteAccess): string {
  const words = route.url
    .replace(/^\/api\/v1\//, '/')
    .split(/[/:_.-]+/)
    .filter((w) => w !== '');
  return [route.method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join('');
}

function securityOf(access: RouteAccess['access'], unsafe: boolean): Json[] {
  if (access === 'public') return [];
  const credentials: Json[] = [
    { apiKey: [] },
    { accessToken: [] },
    unsafe ? { sessionCookie: [], csrfToken: [] } : { sessionCookie: [] },
  ];
  // Open without a credential to this machine (the metrics scrape).
  return access === 'public-on-loopback' ? [{}, ...credentials] : credentials;
}

function describeParameters(
  schema: z.ZodType | undefined,
  where: 'path' | 'query',
  schemas: Schemas,
  pathNames: readonly string[],
): Json[] {
  const json = schema === undefined ? {} : schemas.convert(schema, 'input');
  const props = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  const out = Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    };
  });
  // A path parameter nobody described is still a string the URL carries.
  for (const name of pathNames) {
    if (!(name in props)) out.push({ name, in: 'path', required: true, schema: { type: 'string' } });
  }
  return out;
}

function requestBody(doc: RouteDoc | undefined, schemas: Schemas): Json | undefined {
  if (doc === undefined || (doc.body === undefined && doc.bodyContent === undefined)) return undefined;
  const content: Record<string, Json> = {};
  if (doc.body !== undefined) {
    content['application/json'] = {
      schema: schemas.convert(doc.body, 'input'),
      ...(doc.example === undefined ? {} : { example: doc.example }),
    };
  }
  for (const [type, s] of Object.entries(doc.bodyContent ?? {}))
    content[type] = { schema: schemas.convert(s, 'input') };
  return { required: doc.bodyOptional !== true, content };
}

function response(r: ResponseDoc, schemas: Schemas, replayable: boolean): Json {
  const headers: Record<string, Json> = { 'X-Request-Id': ref('headers', 'RequestId') };
  if (replayable) headers['Idempotent-Replayed'] = ref('headers', 'IdempotentReplayed');
  for (const [name, description] of Object.entries(r.headers ?? {})) {
    headers[name] = { description, schema: { type: 'string' } };
  }
  const content: Record<string, Json> = {};
  if (r.body !== undefined) content['application/json'] = { schema: schemas.convert(r.body, 'output') };
  for (const [type, s] of Object.entries(r.content ?? {})) content[type] = { schema: schemas.convert(s, 'output') };
  return { description: r.description, headers, ...(Object.keys(content).length === 0 ? {} : { content }) };
}

/** The problem+json of one status: its codes, and an example of each. */
function problemMedia(status: number, codes: readonly StableCode[]): Json {
  return {
    'application/problem+json': {
      schema: {
        allOf: [ref('schemas', 'Problem')],
        properties: { status: { const: status }, code: { enum: codes } },
      },
      examples: Object.fromEntries(
        codes.map((code) => [
          code,
          { summary: code, value: problem(code, `(what went wrong, in words: ${code})`, 'req_example') },
        ]),
      ),
    },
  };
}
