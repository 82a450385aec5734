import { createHmac } from 'node:crypto';
import { PAY_PAGE_PATH, type PayerPageTrade } from '../domain/payer-page.js';
import type { SimTrade, SimulatedGateway } from './simulated-gateway.js';

/**
 * A pay page's name: the trade number and a MAC of it under the simulator's page key, so trade
 * numbers (sequential) cannot be walked to see or pay someone else's trade — only the link the
 * payer was handed opens it, as at a real gateway.
 */
export function payPageId(key: string, tradeNo: string): string {
  return `${tradeNo}.${createHmac('sha256', key).update(tradeNo).digest('base64url').slice(0, 22)}`;
}

/** The page key derived from a simulator's secret (its own label, so the secret signs nothing else here). */
export function payPageKey(secret: string): string {
  return createHmac('sha256', secret).update('pay-page').digest('base64url');
}

/**
 * The pay pages of one order book under one key: the address handed to the payer for a waiting
 * trade, and the trade behind a page's name. Both the embedded simulator (served by the service)
 * and the standalone one (served by the simulator) name their pages this way.
 */
export class SimPayPages {
  constructor(
    private readonly bank: Pick<SimulatedGateway, 'tradeByTradeNo'>,
    private readonly key: string,
    /** Who the page says is paid. */
    private readonly payee: string,
  ) {}

  /** The page's address below `base` (the server's origin, known once it listens). */
  url(base: string, tradeNo: string): string {
    return `${base.replace(/\/+$/, '')}${PAY_PAGE_PATH}/${payPageId(this.key, tradeNo)}`;
  }

  /** The trade behind a page's name; undefined for a name no link handed out (a walked number, a bad MAC). */
  trade(page: string): SimTrade | undefined {
    const dot = page.lastIndexOf('.');
    const tradeNo = page.slice(0, Math.max(dot, 0));
    return dot > 0 && payPageId(this.key, tradeNo) === page ? this.bank.tradeByTradeNo(tradeNo) : undefined;
  }

  /** A trade as its page shows it. */
  shown(t: SimTrade): PayerPageTrade {
    return {
      tradeNo: t.tradeNo,
      amount: t.amount.amount,
      currency: t.amount.currency,
      subject: t.subject,
      payee: this.payee,
      method: t.method,
      status: t.status,
    };
  }
}
