import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { LedgerApi } from '../../application/ledger/ledger-api.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { ledgerCheckSchema } from './plumbing/openapi/view-schemas.js';

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  balances: {
    summary: 'Ledger balances',
    description: 'Every account’s balance, and whether every journal balances.',
    tags: ['operations'],
    responses: {
      200: {
        description: 'balances',
        body: z.object({
          data: z.array(z.object({ account: z.string(), currency: z.string(), balance: z.number().int() })),
          balanced: z.boolean(),
          unbalanced_journals: z.array(z.object({ journal_id: z.string(), sum: z.number().int() })),
        }),
      },
    },
  },
  check: {
    summary: 'Check the whole book',
    description:
      'Every journal balances, and every payment, refund, top-up and recharge has exactly the journals its ' +
      'state requires.',
    tags: ['operations'],
    responses: { 200: { description: 'the check', body: ledgerCheckSchema } },
  },
} satisfies Record<string, RouteDoc>;

/** The books: balances and the balance-and-completeness check. Transport only. */
export function registerLedgerRoutes(app: FastifyInstance, { ledger }: { readonly ledger: LedgerApi }): void {
  app.get('/api/v1/ledger/balances', { config: { permission: 'ledger.read', openapi: DOCS.balances } }, async (req) => {
    const tenant = req.caller.tenantId;
    const [balances, unbalanced] = await Promise.all([ledger.balances(tenant), ledger.unbalanced(tenant)]);
    return { data: balances, balanced: unbalanced.length === 0, unbalanced_journals: unbalanced };
  });

  // The whole book: every journal balances AND every payment, refund, top-up and recharge has
  // exactly the journals its state requires (a missing one is found, not only an unbalanced one).
  app.get('/api/v1/ledger/check', { config: { permission: 'ledger.read', openapi: DOCS.check } }, (req) =>
    ledger.check(req.caller.tenantId),
  );
}
