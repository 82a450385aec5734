import { Ajv2020 } from 'ajv/dist/2020.js';
import * as formats from 'ajv-formats';
import type { LightMyRequestResponse } from 'fastify';

/** ajv-formats is CommonJS: under ESM its plugin is the default export (once or twice wrapped). */
type FormatsPlugin = (ajv: Ajv2020) => Ajv2020;
const unwrap = (m: unknown): unknown => (m as { default?: unknown }).default ?? m;
const addFormats = unwrap(unwrap(formats)) as FormatsPlugin;

type Json = Record<string, unknown>;

/** One answer the service gave, as a client saw it. */
export interface SeenResponse {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** Where an answer belongs in the document, or why it does not. */
export type Verdict =
  | { readonly ok: true; readonly operation: string }
  | { readonly ok: false; readonly operation: string | undefined; readonly why: string };

const pointer = (...parts: string[]): string => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * Checks answers against an OpenAPI 3.1 document: the path and method must be an operation of it,
 * the status one of its responses, the content type one of that response's media types, and the
 * body valid under that media type's schema — validated by Ajv's JSON Schema 2020-12 validator
 * (OpenAPI 3.1's schema dialect), with `$ref`s resolved inside the document itself.
 */
export class OpenApiResponseValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly templates: Array<{ readonly template: string; readonly re: RegExp }>;

  constructor(private readonly document: Json) {
    addFormats(this.ajv);
    // The OpenAPI keywords that may sit beside a schema's own are not JSON Schema vocabulary.
    this.ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
    this.ajv.addSchema(document, 'openapi.json');
    this.templates = Object.keys(document.paths as Json).map((template) => ({
      template,
      re: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }));
  }

  /** The operation of a concrete path: a literal path wins over a templated one. */
  templateOf(path: string): string | undefined {
    const matches = this.templates.filter((t) => t.re.test(path)).map((t) => t.template);
    return matches.find((t) => !t.includes('{')) ?? matches.sort((a, b) => a.indexOf('{') - b.indexOf('{')).at(-1);
  }

  check(r: SeenResponse): Verdict {
    const template = this.templateOf(r.path.split('?')[0] ?? '');
    if (template === undefined)
      return { ok: false, operation: undefined, why: `no path in the document for ${r.path}` };
    const method = r.method.toLowerCase();
    const operation = `${r.method} ${template}`;
    const op = (this.document.paths as Record<string, Record<string, Json>>)[template]?.[method];
    if (op === undefined) return { ok: false, operation, why: 'no such operation' };
    const responses = op.responses as Record<string, Json>;
    const status = String(r.status) in responses ? String(r.status) : 'default';
    const response = responses[status];
    if (response === undefined) return { ok: false, operation, why: `status ${r.status} is not documented` };
    const content = response.content as Record<string, Json> | undefined;
    if (content === undefined) {
      return r.body === ''
        ? { ok: true, operation }
        : { ok: false, operation, why: `status ${r.status} has no body in the document, got ${r.body.slice(0, 80)}` };
    }
    const type = r.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    if (content[type] === undefined) {
      return { ok: false, operation, why: `content type ${type} is not documented for ${r.status}` };
    }
    const ref = `openapi.json#/${pointer('paths', template, method, 'responses', status, 'content', type, 'schema')}`;
    const validate = this.ajv.getSchema(ref);
    if (validate === undefined) return { ok: false, operation, why: `cannot compile ${ref}` };
    let instance: unknown = r.body;
    if (/json$/.test(type)) {
      try {
        instance = JSON.parse(r.body);
      } catch {
        return { ok: false, operation, why: `${type} body is not JSON` };
      }
    }
    if (validate(instance) === true) return { ok: true, operation };
    return {
      ok: false,
      operation,
      why: `${r.status} ${type}: ${this.ajv.errorsText(validate.errors)} — ${r.body.slice(0, 300)}`,
    };
  }

  /** An injected request's answer, as seen. */
  static seen(method: string, path: string, res: LightMyRequestResponse): SeenResponse {
    return {
      method,
      path,
      status: res.statusCode,
      contentType: String(res.headers['content-type'] ?? ''),
      body: res.body,
    };
  }
}
