import { type Kysely, sql } from 'kysely';
import { onPostgres } from './on-postgres.js';

/**
 * PostgreSQL only: audit rows linked into their chains by the server, in the statement that writes
 * them, so the audit rows travel in a transaction's batch of writes (postgres/write-batching.ts)
 * instead of costing two round trips of their own with the chain heads locked in between.
 *
 * autoglm_audit_link(…) takes a transaction's audit rows as parallel arrays, in the order they
 * were written, each with its chained content split around its two links (domain/audit-chain.ts
 * auditChainContentParts: head, middle, tail, made by the application, the one definition), and
 * the chains they go to in lock order (tenant, then shard, as the application sorts them). It
 * locks each chain's head in that order (creating it at seq 0 and the genesis hash if new), links
 * every row to the one before it in its chain (seq + 1, prev_hash, and hash = SHA-256 of head ||
 * "prev_hash" || middle || seq || tail in UTF-8, hex), moves the heads on, and returns the rows for
 * the INSERT that called it. A row whose chain was not named raises instead of writing unchained.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!onPostgres(db)) return;
  await sql`
    create or replace function autoglm_audit_link(
      tenants text[], shard_counts integer[], shards integer[], ats bigint[], actors text[],
      actions text[], resource_types text[], resource_ids text[], befores text[], afters text[],
      request_ids text[], heads text[], middles text[], tails text[],
      lock_tenants text[], lock_shards integer[])
    returns table (
      o_tenant_id text, o_shards integer, o_shard integer, o_seq bigint, o_prev_hash text,
      o_hash text, o_at bigint, o_actor text, o_action text, o_resource_type text,
      o_resource_id text, o_before_json text, o_after_json text, o_request_id text)
    language plpgsql volatile as $$
    declare
      chains integer := coalesce(array_length(lock_tenants, 1), 0);
      seqs bigint[] := '{}';
      hashes text[] := '{}';
      newest bigint := 0;
      j integer;
      s bigint;
      h text;
    begin
      for i in 1 .. coalesce(array_length(ats, 1), 0) loop
        newest := greatest(newest, ats[i]);
      end loop;
      for k in 1 .. chains loop
        insert into audit_chain_heads as c (tenant_id, shard, seq, hash, updated_at)
          values (lock_tenants[k], lock_shards[k], 0, repeat('0', 64), newest)
          on conflict (tenant_id, shard) do update set updated_at = excluded.updated_at
          returning c.seq, c.hash into s, h;
        seqs[k] := s;
        hashes[k] := h;
      end loop;
      for i in 1 .. coalesce(array_length(tenants, 1), 0) loop
        j := 1;
        while j <= chains and (lock_tenants[j] <> tenants[i] or lock_shards[j] <> shards[i]) loop
          j := j + 1;
        end loop;
        if j > chains then
          raise exception 'audit row % names a chain (%, %) it did not lock', i, tenants[i], shards[i];
        end if;
        o_seq := seqs[j] + 1;
        o_prev_hash := hashes[j];
        o_hash := encode(sha256(convert_to(
          heads[i] || '"' || o_prev_hash || '"' || middles[i] || o_seq::text || tails[i], 'UTF8')), 'hex');
        seqs[j] := o_seq;
        hashes[j] := o_hash;
        o_tenant_id := tenants[i];
        o_shards := shard_counts[i];
        o_shard := shards[i];
        o_at := ats[i];
        o_actor := actors[i];
        o_action := actions[i];
        o_resource_type := resource_types[i];
        o_resource_id := resource_ids[i];
        o_before_json := befores[i];
        o_after_json := afters[i];
        o_request_id := request_ids[i];
        return next;
      end loop;
      for k in 1 .. chains loop
        update audit_chain_heads set seq = seqs[k], hash = hashes[k]
          where tenant_id = lock_tenants[k] and shard = lock_shards[k];
      end loop;
      return;
    end $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!onPostgres(db)) return;
  const args = [
    'text[]',
    'integer[]',
    'integer[]',
    'bigint[]',
    ...Array<string>(10).fill('text[]'),
    'text[]',
    'integer[]',
  ];
  await sql`drop function if exists autoglm_audit_link(${sql.raw(args.join(', '))})`.execute(db);
}
