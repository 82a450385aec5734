import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { ENGINES, startCluster, type Cluster } from './support/cluster.js';
import { adminKeyOf, keyOf } from './support/test-app.js';
import { runCliCaptured } from './support/cli-run.js';

interface ProblemBody {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly request_id: string;
  readonly errors?: ReadonlyArray<{ field?: string; message: string }>;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** One raw HTTP/1.1 exchange: what Node itself answers (a broken head) is never seen by fetch otherwise. */
function raw(url: string, request: string): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      if (Number.isNaN(status)) reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      else resolve({ status, headers: head.toLowerCase(), body });
    });
  });
}

describe.each(ENGINES)('HTTP hygiene on %s: every refusal is problem+json with a stable code', (engine) => {
  let cluster: Cluster;
  let app: App;
  let url: string;
  let admin: Record<string, string>;
  let alice: Record<string, string>;
  let aliceKey: string;

  beforeAll(async () => {
    cluster = await startCluster(engine, {}, () => ({}), 1);
    app = cluster.apps[0] as App;
    url = await app.listen();
    admin = { authorization: `Bearer ${adminKeyOf(app)}`, 'content-type': 'application/json' };
    aliceKey = await keyOf(app, 'alice');
    alice = { authorization: `Bearer ${aliceKey}`, 'content-type': 'application/json' };
  });
  /** The CLI, as alice, against this instance. */
  const asAlice = (...args: string[]) => runCliCaptured(args, { defaultUrl: url, apiKey: aliceKey });
  afterAll(async () => {
    await cluster.close();
  });

  async function call(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string | object,
  ): Promise<{ status: number; problem: ProblemBody; type: string; res: Response }> {
    const res = await fetch(`${url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const type = res.headers.get('content-type') ?? '';
    const text = await res.text();
    return { status: res.status, problem: (text === '' ? {} : JSON.parse(text)) as ProblemBody, type, res };
  }

  function expectProblem(r: { status: number; problem: ProblemBody; type: string }, status: number, code: string) {
    expect({ status: r.status, code: r.problem.code }).toEqual({ status, code });
    expect(r.type).toContain('application/problem+json');
    expect(r.problem.status).toBe(status);
    expect(r.problem.request_id).toMatch(/^req_/);
  }

  it('a known path with the wrong method is 405 with Allow; an unknown path stays 404', async () => {
    const wrong = await call('GET', '/api/v1/order', admin);
    expectProblem(wrong, 405, 'METHOD_NOT_ALLOWED');
    expect(wrong.res.headers.get('allow')).toBe('POST');
    const del = await call('DELETE', '/api/v1/orders/ord_01ABC', admin);
    expectProblem(del, 405, 'METHOD_NOT_ALLOWED');
    expect(del.res.headers.get('allow')).toBe('GET, HEAD');
    const put = await call('PUT', '/api/v1/webhooks/whk_1', admin, {});
    expect(put.res.headers.get('allow')).toBe('GET, HEAD, PATCH, DELETE');
    expectProblem(await call('GET', '/api/v1/nothing-here', admin), 404, 'NOT_FOUND');
  });

  it('431 for a head over the limit, 414 for an overlong URL (ours and Node’s), 413 for a large body', async () => {
    expectProblem(await call('GET', '/healthz', { 'x-pad': 'a'.repeat(20_000) }), 431, 'HEADERS_TOO_LARGE');
    expectProblem(await call('GET', `/api/v1/orders?cursor=${'a'.repeat(9_000)}`, admin), 414, 'URI_TOO_LONG');
    expectProblem(await call('GET', `/healthz?${'a'.repeat(20_000)}`, {}), 414, 'URI_TOO_LONG');
    const big = await call('POST', '/api/v1/order', admin, { drink: 'x'.repeat(200_000), size: 'medium' });
    expectProblem(big, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a head Node cannot parse (a control character in a header) is a 400 problem, not Node’s JSON', async () => {
    const r = await raw(url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Act-For: al\x01ice\r\n\r\n');
    expect(r.status).toBe(400);
    expect(r.headers).toContain('content-type: application/problem+json');
    expect(JSON.parse(r.body)).toMatchObject({ status: 400, code: 'MALFORMED_REQUEST' });
  });

  it('a cursor this API never gave out, or a user id that cannot be one, is 400 naming the field', async () => {
    for (const [query, field] of [
      ['cursor=zz', 'cursor'],
      ['cursor=', 'cursor'],
      ["cursor=zz'--", 'cursor'],
      ['cursor=ord_%20x', 'cursor'],
      ['user_id=a%20b', 'user_id'],
      ['user_id=' + 'u'.repeat(65), 'user_id'],
    ] as const) {
      const r = await call('GET', `/api/v1/orders?${query}`, admin);
      expect(r.status, query).toBe(400);
      expect(r.problem.errors?.map((e) => e.field)).toContain(field);
    }
    // A person to act for must be a possible user id too.
    for (const who of ['a b', 'x'.repeat(65), 'al/ice']) {
      const r = await call('GET', '/api/v1/wallet', { ...admin, 'x-act-for': who });
      expectProblem(r, 400, 'VALIDATION_FAILED');
    }
    // A real cursor still pages.
    for (let i = 0; i < 2; i++) await call('POST', '/api/v1/order', alice, { drink: 'latte', size: 'medium' });
    const first = await call('GET', '/api/v1/orders?limit=1', alice);
    const next = (first.problem as unknown as { next_cursor: string }).next_cursor;
    expect(next).toMatch(/^ord_/);
    expect((await call('GET', `/api/v1/orders?limit=1&cursor=${next}`, alice)).status).toBe(200);
  });

  it('NUL and other control characters are refused alike wherever text goes, and nothing is stored', async () => {
    const hooksBefore = (await call('GET', '/api/v1/webhooks', admin)).problem as unknown as { data: unknown[] };
    const cases: Array<[string, string, object | undefined]> = [
      ['POST', '/api/v1/webhooks', { url: 'https://example.com/h', events: ['order.*'], description: 'a\u0000b' }],
      ['POST', '/api/v1/order', { drink: 'latte\u0000', size: 'medium' }],
      ['POST', '/api/v1/orders/ord_01ABC/cancel', { reason: 'changed\u0007 my mind' }],
      ['POST', '/api/v1/agent/messages', { text: '点一杯\u0000大杯拿铁' }],
      ['POST', '/api/v1/auth/login', { user: 'alice\u0000', password: 'whatever-it-is' }],
      ['GET', '/api/v1/orders?user_id=%00', undefined],
      ['GET', '/api/v1/orders?cursor=ord_%00', undefined],
      ['GET', '/api/v1/orders?status=PAID%00', undefined],
      ['POST', '/api/v1/order', { drink: 'latte', size: 'medium', options: { milk: 'oat\u202E' } }],
      ['POST', '/api/v1/order', { drink: '\uD800latte', size: 'medium' }],
    ];
    for (const [method, path, body] of cases) {
      const r = await call(method, path, admin, body);
      expect({ path, status: r.status, code: r.problem.code }).toEqual({
        path,
        status: 400,
        code: 'INVALID_CHARACTERS',
      });
      expect(r.type).toContain('application/problem+json');
    }
    const hooksAfter = (await call('GET', '/api/v1/webhooks', admin)).problem as unknown as { data: unknown[] };
    expect(hooksAfter.data).toHaveLength(hooksBefore.data.length);
    // Tab and line breaks are ordinary text.
    const fine = await call('POST', '/api/v1/webhooks', admin, {
      url: 'https://example.com/h',
      events: ['order.*'],
      description: 'line one\nline\ttwo',
    });
    expect(fine.status).toBe(201);
  });

  it('JSON nested too deep is 400 JSON_TOO_DEEP before anything hashes it (it was a 500)', async () => {
    for (const body of [
      '['.repeat(5_000) + ']'.repeat(5_000),
      `{"drink":${'{"a":'.repeat(3_000)}1${'}'.repeat(3_000)},"size":"medium"}`,
    ]) {
      const r = await call('POST', '/api/v1/order', { ...admin, 'idempotency-key': `deep-${body.length}` }, body);
      expectProblem(r, 400, 'JSON_TOO_DEEP');
    }
    // Brackets inside strings are not nesting.
    const text = await call('POST', '/api/v1/intents/parse', admin, { text: '[[[['.repeat(40) });
    expect(text.problem.code).not.toBe('JSON_TOO_DEEP');
  });

  it('unknown fields and parameters are refused on every endpoint alike', async () => {
    const extra = await call('POST', '/api/v1/payments', admin, {
      order_id: 'ord_x',
      amount: 100,
      currency: 'CNY',
      payment_method: 'wallet',
      skip_confirmation: true,
    });
    expectProblem(extra, 400, 'VALIDATION_FAILED');
    expect(extra.problem.errors?.map((e) => e.field)).toEqual(['skip_confirmation']);
    const query = await call('GET', '/api/v1/wallet?as_admin=1', alice);
    expectProblem(query, 400, 'VALIDATION_FAILED');
    expect(query.problem.errors?.map((e) => e.field)).toEqual(['as_admin']);
    const body = await call('POST', '/api/v1/mandates/mdt_x/revoke', alice, { force: true });
    expectProblem(body, 400, 'VALIDATION_FAILED');
    for (const name of ['toString', 'constructor', 'hasOwnProperty']) {
      const r = await call('POST', '/api/v1/recharges', alice, `{"phone":"13800138000","amount":5000,"${name}":1}`);
      expectProblem(r, 400, 'VALIDATION_FAILED');
    }
  });

  it('words are never guessed into money through the API: nothing is ordered or recharged', async () => {
    const ledger = async (): Promise<unknown> => (await call('GET', '/api/v1/ledger/balances', admin)).problem;
    const orders = async (): Promise<unknown> => (await call('GET', '/api/v1/orders?limit=200', alice)).problem;
    const before = [await ledger(), await orders()];
    const refusals: Array<[string, string]> = [
      ['点0.5杯小杯美式', 'INVALID_QUANTITY'],
      ['2.5 grande lattes', 'INVALID_QUANTITY'],
      ['-3杯中杯拿铁', 'INVALID_QUANTITY'],
      ['1e2杯中杯拿铁', 'INVALID_QUANTITY'],
      ['给13800138000充值100美元', 'INVALID_CURRENCY'],
      ['给13800138000充100元 USD', 'INVALID_CURRENCY'],
      ['给13800138000充值1e2元', 'INVALID_AMOUNT'],
      ['recharge 13800138000 with 100 bucks', 'INVALID_CURRENCY'],
      ['top up 13800138000 with $100', 'INVALID_CURRENCY'],
      ['给13800138000充值100刀', 'INVALID_CURRENCY'],
      ['给13800138000充值100美金', 'INVALID_CURRENCY'],
      ['top up 13800138000 with 100 USD', 'INVALID_CURRENCY'],
    ];
    for (const [text, code] of refusals) {
      // The agent says what the engine did: refused, and why.
      const said = await call('POST', '/api/v1/agent/messages', alice, { text });
      const reply = said.problem as unknown as { intent: unknown; outcome: { kind: string; code?: string } };
      expect({ text, status: said.status, intent: reply.intent, outcome: reply.outcome }).toMatchObject({
        text,
        status: 200,
        intent: null,
        outcome: { kind: 'refused', code },
      });
      // Words to intent alone: a 400 with the same code.
      const parsed = await call('POST', '/api/v1/intents/parse', alice, { text });
      expect({ text, status: parsed.status, code: parsed.problem.code }).toEqual({ text, status: 400, code });
      // The same words through the CLI, even with --yes: refused with the code, a non-zero exit
      // (`--` ends the options: "-3杯…" is the person's words, not a flag).
      const done = await asAlice('do', '--yes', '--', text);
      expect({ text, code: done.code, out: done.out.join('\n') }).toMatchObject({
        text,
        code: 1,
        out: expect.stringMatching(new RegExp(`^refused ${code}`)) as unknown,
      });
    }
    // A bidi override never reaches the parser: what would be shown (13800138000) is not what would run.
    const bidi = await call('POST', '/api/v1/agent/messages', alice, { text: '给\u202E00083100831\u202C充值100元' });
    expectProblem(bidi, 400, 'INVALID_CHARACTERS');
    const bidiByCli = await asAlice('do', '--yes', '给\u202E00083100831\u202C充值100元');
    expect(bidiByCli.code).not.toBe(0);
    expect(bidiByCli.err[0]).toMatch(/^error INVALID_CHARACTERS: .*\(request req_\S+\)$/);
    expect([await ledger(), await orders()]).toEqual(before);
  });
});
