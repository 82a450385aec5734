import { type Kysely, type OnConflictBuilder, type OnConflictDoNothingBuilder, type RawBuilder, sql } from 'kysely';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import type { DataKeyRecord, DataKeyStatus } from '../../../ports/records.js';
import type { DataKeyRepository } from '../../../ports/repositories.js';
import { sealedPrefix } from '../../crypto/envelope-cipher.js';
import type { CamelCaseDatabase, Row } from '../schema.js';
import { num, numOrNull } from './columns.js';
import { contextDigest, loadKeys, phoneIndex, SEALED } from './sealed.js';

/**
 * Where each sealed column lives (snake_case, as in the database): the table's primary key (a
 * rotation walks it in key order), and the keyed index kept beside the value, if any, with how it
 * is computed from the plaintext (filled in for rows from before 0011 as they are re-sealed).
 */
interface SealedColumn {
  readonly table: string;
  readonly key: readonly string[];
  readonly value: string;
  readonly index?: { readonly column: string; readonly of: (cipher: FieldCipher, plain: string) => string };
}

const COLUMNS: Readonly<Record<string, SealedColumn>> = {
  [SEALED.rechargePhone]: {
    table: 'recharges',
    key: ['id'],
    value: 'phone',
    index: { column: 'phone_index', of: phoneIndex },
  },
  [SEALED.batchRowPhone]: {
    table: 'recharge_batch_rows',
    key: ['batch_id', 'line'],
    value: 'phone',
    index: { column: 'phone_index', of: phoneIndex },
  },
  [SEALED.sessionContext]: {
    table: 'agent_sessions',
    key: ['tenant_id', 'id'],
    value: 'context_json',
    index: { column: 'context_digest', of: contextDigest },
  },
  [SEALED.idempotencyBody]: {
    table: 'idempotency_keys',
    key: ['tenant_id', 'scope', 'key'],
    value: 'response_body',
  },
  [SEALED.heldParams]: {
    table: 'held_actions',
    key: ['id'],
    value: 'params_json',
  },
  [SEALED.webhookSecret]: {
    table: 'webhook_subscriptions',
    key: ['id'],
    value: 'secret',
  },
};

const toDataKey = (r: Pick<Row<'dataKeys'>, 'id' | 'status' | 'createdAt' | 'retiredAt'>): DataKeyRecord => ({
  id: r.id,
  status: r.status as DataKeyStatus,
  createdAt: num(r.createdAt),
  retiredAt: numOrNull(r.retiredAt),
});

/**
 * The conflict target of the one-active-key index. SQLite matches a partial index only when the
 * WHERE is the index's own, literally (a bound parameter would not do).
 */
const onlyActive = (
  oc: OnConflictBuilder<CamelCaseDatabase, 'dataKeys'>,
): OnConflictDoNothingBuilder<CamelCaseDatabase, 'dataKeys'> =>
  oc.column('status').where('status', '=', sql.lit('active')).doNothing();

const ref = (column: string): RawBuilder<unknown> => sql.ref(column);

/** `(a, b)` for a composite key, `a` for a single column: both engines compare row values. */
const tuple = (items: readonly RawBuilder<unknown>[]): RawBuilder<unknown> =>
  items.length === 1 ? (items[0] as RawBuilder<unknown>) : sql`(${sql.join(items)})`;

/**
 * A value that is not sealed with `keyId` (an older key, or plaintext from before 0011), or whose
 * keyed index is still missing. Prefixes are compared with `substr` (LIKE would read `_` as a
 * wildcard), the same on SQLite and PostgreSQL.
 */
function stale(c: SealedColumn, keyId: string): RawBuilder<unknown> {
  const prefix = sealedPrefix(keyId);
  const notCurrent = sql`substr(${ref(c.value)}, 1, ${prefix.length}) <> ${prefix}`;
  const unindexed = c.index === undefined ? sql`false` : sql`${ref(c.index.column)} is null`;
  return sql`(${ref(c.value)} is not null and (${notCurrent} or ${unindexed}))`;
}

/**
 * The data keys (table data_keys) and the re-sealing of values under a new one, in the same
 * query builder on both engines.
 */
export class KyselyDataKeys implements DataKeyRepository {
  constructor(
    private readonly db: Kysely<CamelCaseDatabase>,
    private readonly cipher: FieldCipher,
  ) {}

  async list(): Promise<DataKeyRecord[]> {
    const rows = await this.db
      .selectFrom('dataKeys')
      .select(['id', 'status', 'createdAt', 'retiredAt'])
      .orderBy('createdAt', 'desc')
      .orderBy('id')
      .execute();
    return rows.map(toDataKey);
  }

  async beginRotation(now: number): Promise<{
    readonly active: DataKeyRecord;
    readonly retiring: readonly DataKeyRecord[];
    readonly resumed: boolean;
  }> {
    const keys = await this.list();
    const active = keys.find((k) => k.status === 'active');
    const retiring = keys.filter((k) => k.status === 'retiring');
    if (active !== undefined && retiring.length > 0) return { active, retiring, resumed: true };
    await this.db.updateTable('dataKeys').set({ status: 'retiring' }).where('status', '=', 'active').execute();
    const made = this.cipher.createKey();
    // Insert first: a rotation begun elsewhere at the same moment has taken the one active slot
    // (unique partial index), and this one then joins it instead of starting a second.
    const res = await this.db
      .insertInto('dataKeys')
      .values({ id: made.id, wrapped: made.wrapped, status: 'active', createdAt: now, retiredAt: null })
      .onConflict(onlyActive)
      .executeTakeFirst();
    const took = Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
    if (took) this.cipher.addKey(made.id, made.wrapped);
    const after = await this.list();
    const nowActive = after.find((k) => k.status === 'active');
    if (nowActive === undefined) throw new Error('no active data key after beginning a rotation');
    return { active: nowActive, retiring: after.filter((k) => k.status === 'retiring'), resumed: !took };
  }

  sealedColumns(): readonly string[] {
    return Object.keys(COLUMNS);
  }

  async reseal(
    column: string,
    keyId: string,
    cursor: string | null,
    limit: number,
  ): Promise<{ readonly resealed: number; readonly cursor: string | null }> {
    const c = COLUMNS[column];
    if (c === undefined) throw new Error(`${column} is not a sealed column`);
    // Sealing with anything but the active key would leave the values for the next rotation.
    if (this.cipher.currentKeyId() !== keyId)
      throw new Error(`this process seals with ${this.cipher.currentKeyId() ?? 'no key'}, not ${keyId}: refresh first`);
    const keyRefs = c.key.map(ref);
    const after =
      cursor === null
        ? sql`true`
        : sql`${tuple(keyRefs)} > ${tuple((JSON.parse(cursor) as unknown[]).map((v) => sql`${v}`))}`;
    // Stale rows only, in key order: the keyset cursor moves past them whether or not each is
    // re-sealed here, so a batch never comes back to a row it has seen.
    const { rows } = await sql<Record<string, unknown>>`
      select ${sql.join(c.key.map((k, i) => sql`${ref(k)} as ${sql.id(`k${i}`)}`))}, ${ref(c.value)} as ${sql.id('v')}
      from ${sql.table(c.table)}
      where ${after} and ${stale(c, keyId)}
      order by ${sql.join(keyRefs)}
      limit ${limit}
    `.execute(this.db);
    await loadKeys(
      this.cipher,
      this.db,
      rows.map((r) => r.v as string),
    );
    let resealed = 0;
    for (const r of rows) {
      const old = r.v as string;
      const plain = this.cipher.open(old, column);
      const sets = [sql`${ref(c.value)} = ${this.cipher.seal(plain, column)}`];
      if (c.index !== undefined) sets.push(sql`${ref(c.index.column)} = ${c.index.of(this.cipher, plain)}`);
      const keyMatch = c.key.map((k, i) => sql`${ref(k)} = ${r[`k${i}`]}`);
      // Compare and set: a value a writer changed meanwhile is already sealed afresh, and stays.
      const res = await sql`
        update ${sql.table(c.table)} set ${sql.join(sets)}
        where ${sql.join(keyMatch, sql` and `)} and ${ref(c.value)} = ${old}
      `.execute(this.db);
      resealed += Number(res.numAffectedRows ?? 0n);
    }
    const last = rows.at(-1);
    const next =
      rows.length < limit || last === undefined ? null : JSON.stringify(c.key.map((_, i) => normalise(last[`k${i}`])));
    return { resealed, cursor: next };
  }

  async countStale(keyId: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [name, c] of Object.entries(COLUMNS)) {
      const { rows } = await sql<{ n: number | string }>`
        select count(*) as ${sql.id('n')} from ${sql.table(c.table)} where ${stale(c, keyId)}
      `.execute(this.db);
      out[name] = num(rows[0]?.n ?? 0);
    }
    return out;
  }

  async retire(ids: readonly string[], now: number): Promise<number> {
    if (ids.length === 0) return 0;
    const res = await this.db
      .updateTable('dataKeys')
      .set({ status: 'retired', retiredAt: now })
      .where('id', 'in', [...ids])
      .where('status', '=', 'retiring')
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  async refresh(): Promise<string> {
    const active = await this.db
      .selectFrom('dataKeys')
      .select(['id', 'wrapped'])
      .where('status', '=', 'active')
      .executeTakeFirst();
    if (active === undefined) throw new Error('there is no active data key (the storage makes one when it opens)');
    if (this.cipher.currentKeyId() !== active.id) {
      this.cipher.addKey(active.id, active.wrapped);
      this.cipher.useKey(active.id);
    }
    return active.id;
  }
}

/** pg returns bigint key columns (a batch row's line is integer: a number) as given; keep JSON-safe values. */
const normalise = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v);

/**
 * At storage open: every data key unwrapped once (a wrong master key fails here, loudly, not at
 * the first read), and an active key to seal with — made now if there is none (a new database,
 * or one from before 0011). Several instances starting at once make at most one between them.
 */
export async function bootstrapDataKeys(
  db: Kysely<CamelCaseDatabase>,
  cipher: FieldCipher,
  now: number,
): Promise<void> {
  const all = await db.selectFrom('dataKeys').select(['id', 'wrapped', 'status']).execute();
  for (const k of all) cipher.addKey(k.id, k.wrapped);
  if (!all.some((k) => k.status === 'active')) {
    const made = cipher.createKey();
    await db
      .insertInto('dataKeys')
      .values({ id: made.id, wrapped: made.wrapped, status: 'active', createdAt: now, retiredAt: null })
      .onConflict(onlyActive)
      .execute();
  }
  const active = await db
    .selectFrom('dataKeys')
    .select(['id', 'wrapped'])
    .where('status', '=', 'active')
    .executeTakeFirstOrThrow();
  cipher.addKey(active.id, active.wrapped);
  cipher.useKey(active.id);
}
