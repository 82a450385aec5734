import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { startTestApp } from './support/test-app.js';

let app: App;
const gateway = new SimulatedGateway();
beforeAll(async () => {
  app = (await startTestApp({ server: { port: 0, body_limit_bytes: 4096 } }, { gateway })).app;
  await app.http.ready();
  app.start();
});
afterAll(async () => {
  await app.close();
});

const json = { 'content-type': 'application/json' };

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  request_id: string;
  errors?: Array<{ code?: string; field?: string; message: string }>;
}

async function post(
  url: string,
  payload: string | object,
  headers: Record<string, string> = json,
): Promise<{ status: number; body: ProblemBody; contentType: string }> {
  const res = await app.http.inject({
    method: 'POST',
    url,
    headers,
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  return { status: res.statusCode, body: res.json<ProblemBody>(), contentType: String(res.headers['content-type']) };
}

describe('bad input gets a 4xx problem+json with a stable code, never a 500 or a charge', () => {
  it('the seed minimal failing case: amount -100, currency XYZ, payment_method invalid_method', async () => {
    const r = await post('/api/v1/payments', {
      order_id: 'ord_x',
      amount: -100,
      currency: 'XYZ',
      payment_method: 'invalid_method',
    });
    expect(r.status).toBe(400);
    expect(r.contentType).toContain('application/problem+json');
    expect(r.body.code).toBe('INVALID_AMOUNT');
    expect(r.body.errors?.map((e) => e.code)).toEqual(['INVALID_AMOUNT', 'INVALID_CURRENCY', 'INVALID_PAYMENT_METHOD']);
    expect(r.body.request_id).toMatch(/^req_/);
    expect(r.body.status).toBe(400);
    expect(gateway.calls.create).toBe(0);
  });

  const cases: Array<[string, string | object, number, string]> = [
    ['malformed JSON', '{"drink": "latte",', 400, 'MALFORMED_JSON'],
    ['empty body', '', 400, 'MALFORMED_JSON'],
    ['an array body', [1, 2], 400, 'VALIDATION_FAILED'],
    ['a string body', '"latte"', 400, 'VALIDATION_FAILED'],
    ['missing size', { drink: 'latte' }, 400, 'VALIDATION_FAILED'],
    ['wrong type of drink', { drink: 42, size: 'medium' }, 400, 'VALIDATION_FAILED'],
    ['quantity as a string', { drink: 'latte', size: 'medium', quantity: '2' }, 400, 'VALIDATION_FAILED'],
    ['fractional quantity', { drink: 'latte', size: 'medium', quantity: 1.5 }, 400, 'VALIDATION_FAILED'],
    ['zero quantity', { drink: 'latte', size: 'medium', quantity: 0 }, 400, 'INVALID_QUANTITY'],
    ['huge quantity', { drink: 'latte', size: 'medium', quantity: 1e9 }, 400, 'INVALID_QUANTITY'],
    ['unknown drink', { drink: 'tea', size: 'medium' }, 400, 'UNKNOWN_DRINK'],
    ['unknown size', { drink: 'latte', size: 'gigantic' }, 400, 'UNKNOWN_SIZE'],
    ['size not offered', { drink: 'espresso', size: 'xlarge' }, 400, 'UNKNOWN_SIZE'],
    ['unknown field', { drink: 'latte', size: 'medium', price: 1 }, 400, 'VALIDATION_FAILED'],
    ['unicode junk', { drink: '拿铁\uFFFD💥'.repeat(3), size: 'medium' }, 400, 'UNKNOWN_DRINK'],
    ['a NUL and a bidi override', { drink: '拿铁\u0000', size: '\u202Emedium' }, 400, 'INVALID_CHARACTERS'],
    [
      'prototype pollution attempt',
      '{"drink":"latte","size":"medium","__proto__":{"admin":true}}',
      400,
      'MALFORMED_JSON',
    ],
    [
      'iced cappuccino',
      { drink: 'cappuccino', size: 'medium', options: { temperature: 'iced' } },
      400,
      'UNKNOWN_OPTION',
    ],
    ['unknown option', { drink: 'latte', size: 'medium', options: { whip: true } }, 400, 'VALIDATION_FAILED'],
  ];

  it.each(cases)('%s → %s %s', async (_name, payload, status, code) => {
    const r = await post('/api/v1/order', payload);
    expect(r.status).toBe(status);
    expect(r.body.code).toBe(code);
    expect(r.contentType).toContain('application/problem+json');
  });

  it('a body over the limit → 413 PAYLOAD_TOO_LARGE', async () => {
    const r = await post('/api/v1/order', { drink: 'latte', size: 'medium', pad: 'x'.repeat(10_000) });
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a non-JSON content type → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const r = await post('/api/v1/order', 'drink=latte', { 'content-type': 'text/plain' });
    expect(r.status).toBe(415);
    expect(r.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('a batch sent as JSON (a file is CSV or JSON lines) → 415, whatever the JSON, null included', async () => {
    for (const payload of ['null', '{}', '[]', '"13800138000,1000"', '12']) {
      const r = await post('/api/v1/recharges/batch', payload, json);
      expect(r.status, payload).toBe(415);
      expect(r.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('an unknown order id → 404 ORDER_NOT_FOUND; a malformed one too', async () => {
    for (const id of ['ord_nothere', '..%2F..%2Fetc', 'x'.repeat(90)]) {
      const res = await app.http.inject({ method: 'GET', url: `/api/v1/orders/${id}` });
      expect(res.statusCode).toBe(404);
      expect(res.json<ProblemBody>().code).toBe('ORDER_NOT_FOUND');
    }
    const tooLong = await app.http.inject({ method: 'GET', url: `/api/v1/orders/${'x'.repeat(300)}` });
    expect(tooLong.statusCode).toBe(414);
    expect(tooLong.json<ProblemBody>().code).toBe('URI_TOO_LONG');
  });

  it('an unknown route → 404 NOT_FOUND problem', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/api/v1/nothing' });
    expect(res.statusCode).toBe(404);
    expect(res.json<ProblemBody>().code).toBe('NOT_FOUND');
  });

  it('an invalid Idempotency-Key → 400 IDEMPOTENCY_KEY_INVALID', async () => {
    const r = await post(
      '/api/v1/order',
      { drink: 'latte', size: 'medium' },
      { ...json, 'idempotency-key': 'x'.repeat(256) },
    );
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('IDEMPOTENCY_KEY_INVALID');
  });

  it('a payment whose amount does not match the order → 422 AMOUNT_MISMATCH, no charge', async () => {
    const placed = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json,
      payload: { drink: 'latte', size: 'medium' },
    });
    const id = placed.json<{ order: { id: string } }>().order.id;
    const before = gateway.calls.create;
    const r = await post('/api/v1/payments', { order_id: id, amount: 1, currency: 'CNY', payment_method: 'wallet' });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('AMOUNT_MISMATCH');
    expect(gateway.calls.create).toBe(before);
  });

  it('nothing above caused a 500', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/api/v1/orders?limit=200' });
    expect(res.statusCode).toBe(200);
  });
});
