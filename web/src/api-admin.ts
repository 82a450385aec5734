/** The shapes the money and admin screens read from the HTTP API (see GET /openapi.json). */

export interface Balance {
  readonly account: string;
  readonly currency: string;
  readonly balance: number;
}

export interface Balances {
  readonly data: Balance[];
  readonly balanced: boolean;
  readonly unbalanced_journals: { journal_id: string; sum: number }[];
}

export interface LedgerCheck {
  readonly balanced: boolean;
  readonly unbalanced: { journal_id: string; sum: number }[];
  readonly complete: boolean;
  readonly incomplete: {
    resource_type: string;
    resource_id: string;
    status: string;
    missing: string[];
    unexpected: string[];
  }[];
  readonly checked: number;
}

// The service's own lists, repeated because the modules that hold them pull zod into the bundle;
// test/console-money.test.ts checks they are the same.
export const FLAG_ACTIONS = ['retry_refund', 'settle_refund_outside', 'close_trade', 'settle_from_channel'] as const;
export const MANDATE_ACTIONS = ['order_coffee', 'recharge_phone', 'wallet_top_up', 'refund'] as const;
export const MANDATE_PERIODS = ['day', 'week', 'month', 'total'] as const;
export type FlagAction = (typeof FLAG_ACTIONS)[number];

export interface Flag {
  readonly id: string;
  readonly code: string;
  readonly resource_type: string;
  readonly resource_id: string;
  readonly detail: unknown;
  readonly created_at: string;
  readonly resolved_at: string | null;
  readonly resolved_by: string | null;
  readonly resolution_note: string | null;
  readonly actions: FlagAction[];
}

export interface CategoryTotal {
  readonly count: number;
  readonly local_amount: number;
  readonly channel_amount: number;
}

export interface ReconciliationSummary {
  readonly id: string;
  readonly source: string;
  readonly date: string;
  readonly format: string;
  readonly file: string;
  readonly status: 'done' | 'failed';
  readonly error: string | null;
  readonly created_at: string;
  readonly created_by: string;
  readonly clean: boolean;
  readonly totals: {
    statement: { lines: number; payments: number; refunds: number; recharges: number; fees: number };
    categories: Record<string, CategoryTotal>;
  };
}

export interface ReconciliationItem {
  readonly key: string;
  readonly category: string;
  readonly kind: string;
  readonly out_trade_no: string;
  readonly out_refund_no: string | null;
  readonly local_amount: number | null;
  readonly channel_amount: number | null;
  readonly local_status: string | null;
  readonly channel_status: string | null;
  readonly channel_fee: number | null;
  readonly expected_fee: number | null;
  readonly resource: { type: string; id: string; tenant_id: string } | null;
}

export interface Repair {
  readonly id: string;
  readonly item_key: string;
  readonly category: string;
  readonly action: string;
  readonly why: string;
  readonly not_before: string | null;
  readonly status: 'proposed' | 'applied' | 'failed';
  readonly result: string | null;
  readonly decided_by: string | null;
  readonly decided_at: string | null;
}

export { CATEGORIES, type Category, PROBLEM_CATEGORIES } from '../../src/domain/statements/reconcile.js';
import type { Category } from '../../src/domain/statements/reconcile.js';

export type Reconciliation = ReconciliationSummary & Record<Category, ReconciliationItem[]> & { repairs: Repair[] };

export interface ApiKey {
  readonly id: string;
  readonly prefix: string;
  readonly principal: string;
  readonly role: string;
  readonly acts_for: string | null;
  readonly created_by: string;
  readonly created_at: string;
  readonly expires_at: string | null;
  readonly revoked_at: string | null;
}

export interface Person {
  readonly id: string;
  readonly role: string;
  readonly status: 'active' | 'disabled';
  readonly password_set: boolean;
  readonly created_at: string;
  readonly disabled_at: string | null;
  readonly last_login_at: string | null;
  readonly live_keys: number;
}

export interface Mandate {
  readonly id: string;
  readonly user: string;
  readonly agent: string;
  readonly status: 'ACTIVE' | 'REVOKED' | 'EXPIRED';
  readonly actions: string[];
  readonly payees: string[];
  readonly currency: string;
  readonly max_per_transaction: number;
  readonly budget: number;
  readonly period: string;
  readonly spent: number;
  readonly remaining: number;
  readonly period_ends_at: string | null;
  readonly created_at: string;
  readonly expires_at: string;
  readonly revoked_at: string | null;
}

export interface Block {
  readonly id: string;
  readonly source: string;
  readonly kind: string;
  readonly reasons: Record<string, number>;
  readonly created_at: string;
  readonly until: string;
  readonly lifted_at: string | null;
  readonly lifted_by: string | null;
}
