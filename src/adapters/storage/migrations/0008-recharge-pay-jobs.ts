import { type Kysely, sql } from 'kysely';

/**
 * Migration 0008_recharge_pay_jobs: a recharge paid by a payment of its own is charged by the job
 * kind `recharge.pay` (the recharge capability owns it; `wallet.top_up` is the wallet's own). Jobs
 * queued or running under the old kind for such payments move to the new one, so an upgrade in
 * the middle of one leaves nothing without its handler.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    update jobs set kind = 'recharge.pay'
    where kind = 'wallet.top_up'
      and status in ('queued', 'running')
      and resource_id in (select id from wallet_top_ups where recharge_id is not null)
  `.execute(db);
}
