import { describe, expect, it } from 'vitest';
import { SimPayPages } from '../simulator/pay-pages.js';
import { SimulatedGateway } from '../simulator/simulated-gateway.js';
import { buildPayerPages, EMBEDDED_PAYEE } from './build-payer-pages.js';

describe('the embedded pay pages', () => {
  it('a payer who paid is told so even when the service could not take the callback (a lost race)', async () => {
    const bank = new SimulatedGateway({ payerActionMethods: ['sim_qr'] });
    const pages = new SimPayPages(bank, 'k'.repeat(32), EMBEDDED_PAYEE);
    const opened = await bank.create({
      outTradeNo: 'o-1',
      amount: { amount: 3200, currency: 'CNY' },
      subject: 'latte',
      method: 'sim_qr',
      payer: 'p',
    });
    const page = new URL(pages.url('http://x', opened.gatewayTradeNo ?? '')).pathname.split('/').pop() ?? '';
    const notTaken: Array<[unknown, string]> = [];
    const raced = new Error('duplicate key value violates unique constraint "ledger_postings_pk"');
    const payer = buildPayerPages(
      bank,
      pages,
      { getByOutTradeNo: () => Promise.resolve({ gateway: 'simulator' } as never) },
      { handleCallback: () => Promise.reject(raced) },
      { now: () => Date.now() },
      (e, outTradeNo) => notTaken.push([e, outTradeNo]),
    );
    const r = await payer.pay(page, false);
    expect(r).toMatchObject({ paid: true, trade: { status: 'succeeded', payee: EMBEDDED_PAYEE } });
    expect(notTaken).toEqual([[raced, 'o-1']]);
    expect(bank.capturesFor('o-1')).toBe(1);
    // A page name no link handed out finds nothing.
    expect(payer.show(`${opened.gatewayTradeNo ?? ''}.AAAAAAAAAAAAAAAAAAAAAA`)).toBeUndefined();
  });
});
