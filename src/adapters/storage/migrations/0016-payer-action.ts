import type { Kysely } from 'kysely';

/**
 * Migration 0016_payer_action: what a payer needs to pay a payment that waits for them (a QR
 * code to scan, a page to open, until when), kept on the payment as the gateway handed it out,
 * so every later answer (GET, a retried request, the CLI) can show it again.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('payments').addColumn('qr_code', 'text').execute();
  await db.schema.alterTable('payments').addColumn('pay_url', 'text').execute();
  await db.schema.alterTable('payments').addColumn('pay_expires_at', 'bigint').execute();
}
