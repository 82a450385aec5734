import { createHash } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { OpenApiResponseValidator, type SeenResponse } from './support/openapi-validator.js';
import { ANONYMOUS, startTestApp } from './support/test-app.js';
import type { ConfigResult } from '../src/config/load-config.js';

/**
 * Every answer a client gets matches the OpenAPI document (GET /openapi.json): a flow through the
 * whole API — identity, orders and payments, refunds, the wallet and held top-ups, confirmations,
 * recharges one by one and in a batch, mandates, the agent, the ledger, operations, callbacks —
 * with its successes and its errors, every answer checked against the document by Ajv's JSON
 * Schema 2020-12 validator. Every route is seen answering at least one success and one error.
 */
let app: App;
let validator: OpenApiResponseValidator;
const seen: SeenResponse[] = [];
/** What POST /api/v1/admin/reload reads as "the configuration file again". */
let reloaded: () => ConfigResult = () => ({ ok: true, value: app.config });

beforeAll(async () => {
  app = (
    await startTestApp(
      {
        // Orders wait for their confirm; top-ups are held for the person (the confirmations flow).
        auto_confirm_order: false,
        trusted_actions: ['recharge_phone', 'refund'],
        security: { block: { enabled: false } },
      },
      { reloadConfig: () => reloaded() },
    )
  ).app;
  await app.http.ready();
  const doc = await app.http.inject({ url: '/openapi.json', headers: { [ANONYMOUS]: '1' } });
  validator = new OpenApiResponseValidator(doc.json());
}, 60_000);
afterAll(async () => {
  await app.close();
});

interface Call {
  readonly method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly as?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly raw?: string;
}

/** One request, recorded with its answer. */
async function call(c: Call): Promise<{ status: number; json: () => Record<string, unknown>; body: string }> {
  const method = c.method ?? (c.body === undefined && c.raw === undefined ? 'GET' : 'POST');
  const opts: InjectOptions = {
    method,
    url: c.url,
    headers: {
      ...(c.as === undefined ? {} : { 'x-user-id': c.as }),
      ...(c.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...c.headers,
    },
    ...(c.body === undefined ? {} : { payload: JSON.stringify(c.body) }),
    ...(c.raw === undefined ? {} : { payload: c.raw }),
  };
  const res = await app.http.inject(opts);
  seen.push(OpenApiResponseValidator.seen(method, c.url, res));
  return { status: res.statusCode, json: () => res.json<Record<string, unknown>>(), body: res.body };
}

const id = (r: { json: () => Record<string, unknown> }, key: string): string =>
  String((r.json()[key] as { id: string }).id);

describe('every answer matches the OpenAPI document', () => {
  it('runs the whole API, successes and errors', async () => {
    const anon = { [ANONYMOUS]: '1' };
    // Public: health, readiness, the document, its page, the mandate key.
    for (const url of ['/healthz', '/readyz', '/openapi.json', '/docs', '/api/v1/mandates/jwks', '/metrics']) {
      await call({ url, headers: anon });
    }

    // Identity: users, logins, sessions, keys.
    expect(
      (await call({ url: '/api/v1/admin/users', body: { user: 'olivia', password: 'pw-olivia-123' } })).status,
    ).toBe(201);
    await call({ url: '/api/v1/admin/users', body: { user: 'olivia', password: 'pw-olivia-123' } });
    await call({ url: '/api/v1/admin/users', body: { user: 7 } });
    const login = await call({
      url: '/api/v1/auth/login',
      body: { user: 'olivia', password: 'pw-olivia-123' },
      headers: anon,
    });
    expect(login.status).toBe(200);
    await call({ url: '/api/v1/auth/login', body: { user: 'olivia', password: 'wrong' }, headers: anon });
    await call({ url: '/api/v1/auth/login', body: { nobody: true }, headers: anon });
    const session = login.json() as { access_token: string; refresh_token: string };
    await call({ url: '/api/v1/auth/me', headers: { authorization: `Bearer ${session.access_token}` } });
    await call({ url: '/api/v1/auth/me', headers: { authorization: 'Bearer agk_not_a_real_key_000000000000000000' } });
    const refreshed = await call({
      url: '/api/v1/auth/refresh',
      body: { refresh_token: session.refresh_token },
      headers: anon,
    });
    expect(refreshed.status).toBe(200);
    const again = refreshed.json() as { refresh_token: string };
    expect(
      (await call({ url: '/api/v1/auth/logout', body: { refresh_token: again.refresh_token }, headers: anon })).status,
    ).toBe(204);
    await call({ url: '/api/v1/auth/refresh', body: { refresh_token: session.refresh_token }, headers: anon });
    await call({ url: '/api/v1/auth/refresh', body: {}, headers: anon });
    await call({ url: '/api/v1/auth/logout', body: {}, headers: anon });
    const key = await call({ url: '/api/v1/admin/keys', body: { role: 'viewer', user: 'vera' } });
    expect(key.status).toBe(201);
    await call({ url: '/api/v1/admin/keys', body: { role: 'emperor', user: 'vera' } });
    await call({ url: '/api/v1/admin/keys' });
    await call({ method: 'DELETE', url: `/api/v1/admin/keys/${(key.json().api_key as { id: string }).id}` });
    await call({ method: 'DELETE', url: '/api/v1/admin/keys/none' });
    await call({ url: '/api/v1/admin/users?limit=2' });
    await call({ url: '/api/v1/admin/users?limit=0' });
    expect(
      (await call({ method: 'PATCH', url: '/api/v1/admin/users/olivia', body: { role: 'operator' } })).status,
    ).toBe(200);
    await call({ method: 'PATCH', url: '/api/v1/admin/users/nobody', body: { disabled: true } });

    // Orders: the menu, place (awaiting its confirm), confirm and pay, pay by POST /payments, lists, audit.
    await call({ url: '/api/v1/menu', as: 'alice' });
    const latte = { drink: 'latte', size: 'large', quantity: 1 };
    const placed = await call({
      url: '/api/v1/order',
      as: 'alice',
      body: latte,
      headers: { 'idempotency-key': 'oa-1' },
    });
    expect(placed.status, placed.body).toBe(202);
    await call({ url: '/api/v1/order', as: 'alice', body: latte, headers: { 'idempotency-key': 'oa-1' } });
    await call({
      url: '/api/v1/order',
      as: 'alice',
      body: { ...latte, quantity: 2 },
      headers: { 'idempotency-key': 'oa-1' },
    });
    await call({ url: '/api/v1/order', as: 'alice', body: { drink: 'hot chocolate soup', size: 'large' } });
    await call({
      url: '/api/v1/order',
      as: 'alice',
      raw: '{"drink":',
      headers: { 'content-type': 'application/json' },
    });
    const orderId = id(placed, 'order');
    const confirmed = await call({ url: `/api/v1/orders/${orderId}/confirm`, as: 'alice', body: {} });
    expect(confirmed.status).toBe(201);
    await call({ url: `/api/v1/orders/${orderId}/confirm`, as: 'alice', body: {} });
    const second = await call({ url: '/api/v1/order', as: 'alice', body: latte });
    const secondOrder = second.json().order as { id: string; amount: number; currency: string };
    const method = app.services.orders.defaultPaymentMethod;
    const pay = {
      order_id: secondOrder.id,
      amount: secondOrder.amount,
      currency: secondOrder.currency,
      payment_method: method,
    };
    await call({ url: '/api/v1/payments', as: 'alice', body: { ...pay, amount: 1 } });
    await call({ url: '/api/v1/payments', as: 'alice', body: { order_id: 5, amount: 'a lot', currency: 'XXX' } });
    await call({ url: '/api/v1/payments', as: 'alice', body: pay, headers: { prefer: 'return=minimal' } });
    const third = await call({ url: '/api/v1/order', as: 'alice', body: latte });
    await call({
      url: `/api/v1/orders/${id(third, 'order')}/cancel`,
      as: 'alice',
      body: { reason: 'changed my mind' },
    });
    await call({ url: `/api/v1/orders/${id(third, 'order')}/cancel`, as: 'alice', body: {} });
    await call({ url: `/api/v1/orders/${orderId}`, as: 'alice' });
    await call({ url: '/api/v1/orders/none', as: 'alice' });
    await call({ url: `/api/v1/orders/${orderId}/audit`, as: 'alice' });
    await call({ url: '/api/v1/orders/none/audit', as: 'alice' });
    await call({ url: '/api/v1/orders?limit=2&status=COMPLETED,PAID', as: 'alice' });
    await call({ url: '/api/v1/orders?limit=0', as: 'alice' });

    // Refunds: part of the payment, too much, the list, one.
    const refund = await call({
      url: `/api/v1/orders/${orderId}/refund`,
      as: 'alice',
      body: { amount: 100, reason: 'cold' },
    });
    expect([201, 202]).toContain(refund.status);
    await call({ url: `/api/v1/orders/${orderId}/refund`, as: 'alice', body: { amount: 10_000_000 } });
    await call({ url: `/api/v1/orders/${orderId}/refunds`, as: 'alice' });
    await call({ url: '/api/v1/orders/none/refunds', as: 'alice' });
    await call({ url: `/api/v1/refunds/${id(refund, 'refund')}`, as: 'alice' });
    await call({ url: '/api/v1/refunds/none', as: 'alice' });

    // A refund the gateway declines: sent again; another settled outside; their review flags.
    const declineOne = async (amount: number): Promise<string> => {
      // The embedded gateway declines the next refund (the recovery routes need a failed one).
      app.paymentSimulator?.declineRefunds(1);
      const r = await call({ url: `/api/v1/orders/${orderId}/refund`, as: 'alice', body: { amount } });
      expect(r.status).toBe(422);
      return id(r, 'refund');
    };
    const failed = await declineOne(200);
    await call({ method: 'POST', url: `/api/v1/refunds/${failed}/retry`, as: 'alice' });
    await call({ method: 'POST', url: `/api/v1/refunds/${failed}/retry`, as: 'alice' });
    const outside = await declineOne(300);
    await call({ url: `/api/v1/refunds/${outside}/settle-outside`, body: { note: '' } });
    await call({ url: `/api/v1/refunds/${outside}/settle-outside`, body: { note: 'paid back in cash' } });
    const flagged = await declineOne(400);
    const flags = await call({ url: `/api/v1/review-flags?code=REFUND_FAILED&resource_id=${flagged}` });
    const flagId = String((flags.json().data as Array<{ id: string }>)[0]?.id);
    await call({ url: `/api/v1/review-flags/${flagId}` });
    await call({ url: '/api/v1/review-flags/none' });
    await call({ url: `/api/v1/review-flags/${flagId}/actions`, body: { action: 'close_trade' } });
    await call({ url: `/api/v1/review-flags/${flagId}/actions`, body: { action: 'retry_refund' } });
    const toResolve = await declineOne(500);
    const open = await call({ url: `/api/v1/review-flags?status=open&resource_id=${toResolve}` });
    const openId = String((open.json().data as Array<{ id: string }>)[0]?.id);
    await call({ url: `/api/v1/review-flags/${openId}/resolve`, body: { note: 'refunded by the shop' } });
    await call({ url: `/api/v1/review-flags/${openId}/resolve`, body: { note: 'again' } });

    // The wallet: a top-up is held for the person, who confirms it; another is rejected.
    await call({ url: '/api/v1/wallet', as: 'alice' });
    const held = await call({ url: '/api/v1/wallet/top-ups', as: 'alice', body: { amount: 20_000 } });
    expect(held.status).toBe(202);
    await call({ url: '/api/v1/wallet/top-ups', as: 'alice', body: { amount: -5 } });
    const hold = held.json().held as { id: string; digest: string };
    await call({ url: '/api/v1/confirmations', as: 'alice' });
    await call({ url: '/api/v1/confirmations?all=maybe', as: 'alice' });
    await call({ url: `/api/v1/confirmations/${hold.id}`, as: 'alice' });
    await call({ url: '/api/v1/confirmations/none', as: 'alice' });
    await call({ url: `/api/v1/confirmations/${hold.id}`, as: 'alice', body: { digest: 'not-it' } });
    const ran = await call({ url: `/api/v1/confirmations/${hold.id}`, as: 'alice', body: { digest: hold.digest } });
    expect(ran.status).toBe(200);
    const topUpId = (ran.json().top_up as { id: string } | undefined)?.id ?? 'none';
    await call({ url: `/api/v1/wallet/top-ups/${topUpId}`, as: 'alice' });
    await call({ url: '/api/v1/wallet/top-ups/none', as: 'alice' });
    const other = (await call({ url: '/api/v1/wallet/top-ups', as: 'alice', body: { amount: 100 } })).json().held as {
      id: string;
      digest: string;
    };
    await call({ url: `/api/v1/confirmations/${other.id}/reject`, as: 'alice', body: { digest: other.digest } });
    await call({ url: `/api/v1/confirmations/${other.id}/reject`, as: 'alice', body: { digest: other.digest } });

    // Recharges: one from the wallet, a bad number, a batch file, its result file.
    const recharge = await call({
      url: '/api/v1/recharges',
      as: 'alice',
      body: { phone: '13800138000', amount: 5000 },
    });
    expect([201, 202]).toContain(recharge.status);
    await call({ url: '/api/v1/recharges', as: 'alice', body: { phone: '12345', amount: 5000 } });
    await call({ url: `/api/v1/recharges/${id(recharge, 'recharge')}`, as: 'alice' });
    await call({ url: '/api/v1/recharges/none', as: 'alice' });
    await call({ url: '/api/v1/channels' });
    await call({ url: '/api/v1/channels/history' });
    await call({ url: '/api/v1/channels/history?since=yesterday' });
    await call({ url: '/api/v1/recharges?status=SUCCEEDED,FAILED,PROCESSING&limit=5', as: 'alice' });
    await call({ url: '/api/v1/recharges?phone=13800138000&channel=sim', as: 'alice' });
    await call({ url: '/api/v1/recharges?status=DONE', as: 'alice' });
    await call({ url: '/api/v1/recharges?phone=12', as: 'alice' });
    await call({ url: '/api/v1/batches/none/events', as: 'alice', headers: { accept: 'text/event-stream' } });
    const csv = 'phone,amount\n13800138001,1000\n13800138002,777\n';
    const digest = `sha-256=:${createHash('sha256').update(csv).digest('base64')}:`;
    const batch = await call({
      url: '/api/v1/recharges/batch',
      as: 'alice',
      raw: csv,
      headers: { 'content-type': 'text/csv', 'content-digest': digest },
    });
    expect(batch.status).toBe(202);
    await call({
      url: '/api/v1/recharges/batch',
      as: 'alice',
      raw: csv,
      headers: { 'content-type': 'text/csv', 'content-digest': 'md5' },
    });
    await call({ url: `/api/v1/batches/${id(batch, 'batch')}`, as: 'alice' });
    await call({ url: '/api/v1/batches/none', as: 'alice' });
    await call({ url: `/api/v1/batches/${id(batch, 'batch')}/results`, as: 'alice' });
    await call({ url: '/api/v1/batches/none/results', as: 'alice' });

    // Mandates: alice grants her agent one, reads it, revokes it.
    await call({ url: '/api/v1/admin/keys', body: { role: 'agent', user: 'alice-bot', acts_for: 'alice' } });
    const grant = {
      agent: 'alice-bot',
      actions: ['order_coffee'],
      max_per_transaction: 5000,
      budget: 20_000,
      period: 'week',
      expires_at: new Date(Date.now() + 86_400_000).toISOString(),
    };
    const mandate = await call({ url: '/api/v1/mandates', as: 'alice', body: grant });
    expect(mandate.status).toBe(201);
    await call({ url: '/api/v1/mandates', as: 'alice', body: { ...grant, period: 'century' } });
    await call({ url: '/api/v1/mandates', as: 'alice' });
    await call({ url: `/api/v1/mandates/${id(mandate, 'mandate')}`, as: 'alice' });
    await call({ url: '/api/v1/mandates/none', as: 'alice' });
    await call({ method: 'POST', url: `/api/v1/mandates/${id(mandate, 'mandate')}/revoke`, as: 'alice' });
    await call({ method: 'POST', url: '/api/v1/mandates/none/revoke', as: 'alice' });

    // The agent: words to intent, a conversation, a confirm of nothing, the actions.
    await call({ url: '/api/v1/intents/parse', as: 'alice', body: { text: '来一杯大杯拿铁' } });
    await call({ url: '/api/v1/intents/parse', as: 'alice', body: { text: '' } });
    const talk = await call({ url: '/api/v1/agent/messages', as: 'alice', body: { text: '来一杯大杯拿铁' } });
    await call({ url: '/api/v1/agent/messages', as: 'alice', body: { text: 'x'.repeat(600) } });
    const sessionId = (talk.json() as { session_id?: string }).session_id ?? 'none';
    await call({ url: `/api/v1/agent/sessions/${sessionId}/confirm`, as: 'alice', body: { digest: 'nothing-waits' } });
    await call({ url: '/api/v1/agent/sessions/none/confirm', as: 'alice', body: { digest: 'x' } });
    await call({ url: '/api/v1/actions', as: 'alice' });

    // Operations: the ledger, review flags, gateways, blocks.
    await call({ url: '/api/v1/ledger/balances' });
    await call({ url: '/api/v1/ledger/check' });
    await call({ url: '/api/v1/review-flags?open=false&limit=5' });
    await call({ url: '/api/v1/review-flags?limit=0' });
    await call({ url: `/api/v1/audit?resource=order:${orderId}&limit=2` });
    await call({ url: '/api/v1/audit?resource=nonsense:x' });
    await call({ url: '/api/v1/gateways' });
    await call({ url: '/api/v1/admin/blocks' });
    await call({ method: 'DELETE', url: '/api/v1/admin/blocks/none' });
    await call({ url: '/api/v1/admin/blocks', body: { source: 'ip:203.0.113.7', minutes: 5, note: 'x' } });
    await call({ url: '/api/v1/admin/blocks', body: { source: 'nowhere', minutes: 5, note: 'x' } });

    // Webhook endpoints: subscribe, read, change, the delivery log, delete.
    const hook = await call({ url: '/api/v1/webhooks', body: { url: 'http://127.0.0.1:9/hook', events: ['order.*'] } });
    const hookId = id(hook, 'webhook');
    await call({ url: '/api/v1/webhooks', body: { url: 'ftp://127.0.0.1/hook' } });
    await call({ url: '/api/v1/webhooks' });
    await call({ url: '/api/v1/webhooks', as: 'alice' });
    await call({ url: `/api/v1/webhooks/${hookId}` });
    await call({ url: '/api/v1/webhooks/none' });
    await call({ method: 'PATCH', url: `/api/v1/webhooks/${hookId}`, body: { enabled: false } });
    await call({ method: 'PATCH', url: '/api/v1/webhooks/none', body: { enabled: true } });
    await call({ url: `/api/v1/webhooks/${hookId}/deliveries` });
    await call({ url: `/api/v1/webhooks/${hookId}/deliveries?limit=0` });
    await call({ method: 'POST', url: `/api/v1/webhooks/${hookId}/deliveries/none/redeliver` });
    await call({ method: 'DELETE', url: `/api/v1/webhooks/${hookId}` });
    await call({ method: 'DELETE', url: '/api/v1/webhooks/none' });

    // Blocks: on an instance that blocks past 3 failures (this one does not block: the flow's refused
    // credentials would block it halfway).
    const blocking = (await startTestApp({ security: { block: { enabled: true, threshold: 3 } } })).app;
    try {
      for (let i = 0; i <= 3; i += 1) await blocking.services.abuse.recordFailure('ip:198.51.100.7', 'authentication');
      const byHand = { source: 'ip:203.0.113.8', minutes: 5, note: 'probing' };
      for (let i = 0; i < 2; i += 1) {
        const made = await blocking.http.inject({ method: 'POST', url: '/api/v1/admin/blocks', payload: byHand });
        seen.push(OpenApiResponseValidator.seen('POST', '/api/v1/admin/blocks', made));
        expect(made.statusCode, made.body).toBe(i === 0 ? 201 : 409);
      }
      const list = await blocking.http.inject({ url: '/api/v1/admin/blocks' });
      seen.push(OpenApiResponseValidator.seen('GET', '/api/v1/admin/blocks', list));
      const blockId = String((list.json<{ data: { id: string }[] }>().data[0] ?? { id: 'none' }).id);
      const lift = await blocking.http.inject({ method: 'DELETE', url: `/api/v1/admin/blocks/${blockId}` });
      seen.push(OpenApiResponseValidator.seen('DELETE', `/api/v1/admin/blocks/${blockId}`, lift));
      expect(lift.statusCode, lift.body).toBe(200);
    } finally {
      await blocking.close();
    }

    // Reconciliation: today's statement of the embedded gateway, with a capture we never sold on
    // it (so a repair is proposed and applied); an unknown source, report and repair.
    await app.paymentSimulator?.create({
      outTradeNo: 'oa_stranger_1',
      amount: { amount: 900, currency: 'CNY' },
      subject: 'not ours',
      method: 'wallet',
      payer: 'bob',
    });
    const day = new Date(Date.now() + 480 * 60_000).toISOString().slice(0, 10);
    const rec = await call({ url: '/api/v1/reconciliations', body: { source: 'secure-pay-v3', date: day } });
    expect(rec.status, rec.body).toBe(201);
    await call({ url: '/api/v1/reconciliations', body: { source: 'nowhere', date: day } });
    await call({ url: `/api/v1/reconciliations/${id(rec, 'reconciliation')}` });
    await call({ url: '/api/v1/reconciliations/rcn_none' });
    await call({ url: '/api/v1/reconciliations?source=secure-pay-v3' });
    await call({ url: '/api/v1/reconciliations?limit=0' });
    const repairs = (rec.json().reconciliation as { repairs: Array<{ id: string; action: string }> }).repairs;
    const giveBack = repairs.find((r) => r.action === 'refund_unknown_capture');
    expect(giveBack).toBeDefined();
    const applied = await call({ url: `/api/v1/reconciliation-repairs/${giveBack?.id ?? 'none'}/apply`, body: {} });
    expect(applied.status, applied.body).toBe(200);
    await call({ url: '/api/v1/reconciliation-repairs/rpr_none/apply', body: {} });

    // Reload: the same configuration (nothing changed), then one that does not validate.
    expect((await call({ url: '/api/v1/admin/reload', body: {} })).status).toBe(200);
    reloaded = () => ({
      ok: false,
      error: { code: 'CONFIG_INVALID', message: 'the configuration is not valid', issues: ['max_order_amount: < 1'] },
    });
    expect((await call({ url: '/api/v1/admin/reload', body: {} })).status).toBe(422);

    // Callbacks: a forged one, and one for a gateway or channel that does not exist.
    const form = { 'content-type': 'application/x-www-form-urlencoded', ...anon };
    await call({
      url: '/api/v1/callbacks/secure-pay-v3',
      raw: '{"forged":true}',
      headers: { 'content-type': 'application/json', ...anon },
    });
    await call({ url: '/api/v1/callbacks/nowhere', raw: 'a=1', headers: form });
    await call({ url: '/api/v1/recharge-callbacks/juhe', raw: 'orderid=x&sign=forged', headers: form });
    await call({ url: '/api/v1/recharge-callbacks/nowhere', raw: 'a=1', headers: form });

    // A QR payment: the confirm's answer hands over qr_code / pay_url / expires_at; the embedded
    // simulator's pay page shows the trade, and the payer's Pay settles it (a second press: 409).
    const qr = await call({ url: '/api/v1/order', as: 'quinn', body: latte, headers: { 'idempotency-key': 'oa-qr' } });
    const qrPaid = await call({
      url: `/api/v1/orders/${id(qr, 'order')}/confirm`,
      as: 'quinn',
      body: { payment_method: 'sim_qr' },
    });
    expect(qrPaid.status, qrPaid.body).toBe(202);
    const payUrl = (qrPaid.json().order as { payment: { pay_url: string } }).payment.pay_url;
    const pagePath = new URL(payUrl).pathname;
    expect((await call({ url: pagePath, headers: anon })).status).toBe(200);
    expect((await call({ url: '/_sim/pay/sim_0000000000', headers: anon })).status).toBe(404);
    expect((await call({ url: pagePath, raw: '', headers: form })).status).toBe(200);
    expect((await call({ url: pagePath, raw: '', headers: form })).status).toBe(409);

    // Every route refuses a made-up credential the same way (and the public ones say what they say).
    for (const r of app.http.routeTable) {
      if (r.access === 'public' || r.access === 'public-on-loopback') continue;
      const url = r.url.replace(/:([A-Za-z_]+)/g, 'none');
      await call({
        method: r.method as 'GET',
        url,
        headers: { authorization: 'Bearer agk_not_a_real_key_000000000000000000' },
      });
    }
  }, 120_000);

  it('validates every answer against the document', () => {
    expect(seen.length).toBeGreaterThan(100);
    if (process.env.OPENAPI_TRACE === '1')
      for (const r of seen) console.log(r.method, r.path, r.status, r.body.slice(0, 160));
    const wrong = seen
      .map((r) => ({ r, v: validator.check(r) }))
      .filter(({ v }) => !v.ok)
      .map(({ r, v }) => `${r.method} ${r.path} → ${r.status}: ${v.ok ? '' : v.why}`);
    expect(wrong).toEqual([]);
  });

  it('refuses an answer the document does not allow (the check bites)', () => {
    const problem = (code: string, status: number) =>
      JSON.stringify({ type: 't', title: 't', status, code, detail: 'd', request_id: 'r' });
    const wrong: SeenResponse[] = [
      // An undocumented code for the route, and a documented one at the wrong status.
      {
        method: 'GET',
        path: '/api/v1/orders/x',
        status: 404,
        contentType: 'application/problem+json',
        body: problem('BATCH_NOT_FOUND', 404),
      },
      {
        method: 'GET',
        path: '/api/v1/orders/x',
        status: 418,
        contentType: 'application/problem+json',
        body: problem('ORDER_NOT_FOUND', 418),
      },
      // A view missing a field, and one with a field the schema does not have.
      {
        method: 'GET',
        path: '/api/v1/wallet',
        status: 200,
        contentType: 'application/json',
        body: '{"wallet":{"user_id":"a","currency":"CNY"}}',
      },
      {
        method: 'GET',
        path: '/api/v1/wallet',
        status: 200,
        contentType: 'application/json',
        body: '{"wallet":{"user_id":"a","balance":1,"currency":"CNY","x":1}}',
      },
      // The wrong content type, and a path the API does not have.
      { method: 'GET', path: '/api/v1/wallet', status: 200, contentType: 'text/html', body: '<p>' },
      { method: 'GET', path: '/api/v1/nowhere', status: 200, contentType: 'application/json', body: '{}' },
    ];
    for (const r of wrong) expect(validator.check(r).ok, JSON.stringify(r)).toBe(false);
    expect(validator.check({ ...wrong[0]!, body: problem('ORDER_NOT_FOUND', 404) }).ok).toBe(true);
  });

  it('saw every route answer a success and an error', () => {
    const byOp = new Map<string, Set<string>>();
    for (const r of seen) {
      const v = validator.check(r);
      if (v.operation === undefined) continue;
      const kinds = byOp.get(v.operation) ?? new Set<string>();
      kinds.add(r.status < 400 ? 'success' : 'error');
      byOp.set(v.operation, kinds);
    }
    // Signed callbacks succeed only with a gateway's or channel's real signature (their own suites).
    // Readiness: the test app runs no worker, so it says 503 not_ready (the 200 is in test/shutdown.test.ts).
    const noSuccessHere = new Set([
      'GET /readyz',
      'POST /api/v1/callbacks/{gateway}',
      'POST /api/v1/recharge-callbacks/{channel}',
      'POST /api/v1/agent/sessions/{id}/confirm',
      // A delivery to send again exists once an event was delivered (test/webhooks.test.ts redelivers).
      'POST /api/v1/webhooks/{id}/deliveries/{delivery}/redeliver',
      // MCP speaks JSON-RPC over Streamable HTTP: driven with the SDK's own client in test/mcp.test.ts.
      'GET /mcp',
      'POST /mcp',
      'DELETE /mcp',
      // An endless event stream: read over a real socket in test/order-events.test.ts (406 and 401 here).
      'GET /api/v1/orders/events',
      // The same, read over real sockets by the console's browser tests (test/console-ops-browser.test.ts).
      'GET /api/v1/recharges/events',
      'GET /api/v1/batches/{id}/events',
    ]);
    const missing: string[] = [];
    for (const r of app.http.routeTable) {
      const op = `${r.method} ${r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
      const kinds = byOp.get(op) ?? new Set();
      if (!kinds.has('success') && !noSuccessHere.has(op)) missing.push(`${op}: no success`);
      const mayNotFail =
        r.access === 'public' && /^GET \/(healthz|readyz|openapi\.json|docs|api\/v1\/mandates\/jwks)$/.test(op);
      if (!kinds.has('error') && !mayNotFail && r.access !== 'public-on-loopback') missing.push(`${op}: no error`);
    }
    expect(missing).toEqual([]);
  });
});
