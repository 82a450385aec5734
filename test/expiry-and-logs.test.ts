import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/system/system-clock.js';
import { advanceBy, eventually } from './support/eventually.js';
import { ADMIN, auditOf, startTestApp } from './support/test-app.js';

describe('unpaid orders expire', () => {
  it('an order still waiting after 30 minutes is cancelled by the worker, with its payment', async () => {
    const clock = new ManualClock(Date.parse('2026-11-22T08:00:00Z'));
    const { app } = await startTestApp({ trusted_actions: ['order_coffee'] }, { clock });
    app.start();
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { 'content-type': 'application/json' },
      payload: { drink: 'latte', size: 'medium' },
    });
    const id = res.json<{ order: { id: string } }>().order.id;
    const statusOf = async (): Promise<string> => {
      const o = await app.services.orders.get(ADMIN, id);
      return o.ok ? o.value.status : '';
    };
    // 29 minutes pass on the clock (every poll in between runs): still waiting.
    await advanceBy(clock, 29 * 60_000, 60_000);
    expect(await statusOf()).toBe('AWAITING_PAYMENT');
    // Past 30 minutes the expiry job is due: the next polls cancel the order.
    expect(await eventually(clock, statusOf, (s) => s === 'CANCELLED', { stepMs: 1000, maxMs: 5 * 60_000 })).toBe(
      'CANCELLED',
    );
    const o = await app.services.orders.get(ADMIN, id);
    expect(o.ok && o.value).toMatchObject({
      status_reason: 'not confirmed or paid in time',
      payment: { status: 'CANCELLED' },
    });
    const trail = await auditOf(app, 'order', id);
    expect(trail.at(-1)).toMatchObject({ actor: 'system:expiry', action: 'order.expire' });
    await app.close();
  });
});

describe('logs', () => {
  it('mask a phone number used as a user id everywhere they mention it', async () => {
    const { app, logs } = await startTestApp({ log: { level: 'debug' } });
    app.start();
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { 'content-type': 'application/json', 'x-user-id': '13800138000' },
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(res.statusCode).toBe(201);
    expect(logs.text).toContain('Payment submitted successfully');
    expect(logs.text).not.toContain('13800138000');
    expect(logs.text).toContain('user:138****8000');
    await app.close();
  });
});
