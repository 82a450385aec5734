import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { ANONYMOUS, startTestApp } from './support/test-app.js';

/**
 * The OpenAPI document (GET /openapi.json) and its page (GET /docs): every registered route is in
 * it with its method and a description, it is valid OpenAPI 3.1 by the specification's own schema,
 * and both are open to anyone. That every answer matches it: test/openapi-responses.test.ts.
 */
let app: App;
let document: {
  openapi: string;
  paths: Record<string, Record<string, { security: unknown[]; 'x-permission': string; responses: object }>>;
};
beforeAll(async () => {
  app = (await startTestApp()).app;
  await app.http.ready();
  const res = await app.http.inject({ url: '/openapi.json', headers: { [ANONYMOUS]: '1' } });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  document = res.json();
});
afterAll(async () => {
  await app.close();
});

const pathOf = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('the OpenAPI document', () => {
  it('has every route the server registered, with its method and what it needs', () => {
    const table = app.http.routeTable;
    expect(table.length).toBeGreaterThan(40);
    const missing = table.filter((r) => document.paths[pathOf(r.url)]?.[r.method.toLowerCase()] === undefined);
    expect(missing.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    for (const r of table) {
      const op = document.paths[pathOf(r.url)]![r.method.toLowerCase()]!;
      expect(op['x-permission'], `${r.method} ${r.url}`).toBe(r.access);
      // Public routes need no credential; the others list the credentials that work.
      if (r.access === 'public') expect(op.security).toEqual([]);
      else expect(op.security.length).toBeGreaterThanOrEqual(3);
    }
    // Nothing in the document the server does not serve.
    const served = new Set(table.map((r) => `${r.method.toLowerCase()} ${pathOf(r.url)}`));
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of Object.keys(item)) expect(served.has(`${method} ${path}`), `${method} ${path}`).toBe(true);
    }
  });

  it('describes every route: one added without `config.openapi` fails here', () => {
    const bare = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, op]) => (op as { tags?: string[] }).tags?.includes('undocumented'))
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(bare).toEqual([]);
  });

  it('is valid OpenAPI 3.1 by the specification’s schema', async () => {
    expect(document.openapi).toBe('3.1.0');
    const result = await new Validator().validate(document);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents error answers as problem+json with their stable codes', () => {
    const op = document.paths['/api/v1/order']!.post! as {
      responses: Record<
        string,
        { content?: Record<string, { schema: { properties?: { code?: { enum: string[] } } } }> }
      >;
    };
    const codes = (status: string) =>
      op.responses[status]?.content?.['application/problem+json']?.schema.properties?.code?.enum ?? [];
    expect(codes('400')).toEqual(expect.arrayContaining(['VALIDATION_FAILED', 'UNKNOWN_DRINK', 'MALFORMED_JSON']));
    expect(codes('401')).toContain('UNAUTHENTICATED');
    expect(codes('409')).toContain('IDEMPOTENCY_IN_FLIGHT');
    expect(codes('422')).toContain('IDEMPOTENCY_CONFLICT');
  });

  it('serves a page for people at /docs, with every route and nothing fetched from elsewhere', async () => {
    const res = await app.http.inject({ url: '/docs', headers: { [ANONYMOUS]: '1' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    for (const path of Object.keys(document.paths)) expect(res.body.includes(path), path).toBe(true);
    // Self-contained: no script, and no stylesheet, font or image from another host.
    expect(res.body).not.toMatch(/<script|<link|src=|@import|url\(/i);
    expect(res.body).not.toMatch(/href="(https?:)?\/\//i);
  });
});
