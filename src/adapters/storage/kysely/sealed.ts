import type { Kysely } from 'kysely';
import { normalizePhoneNumber } from '../../../domain/recharge/phone-number.js';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import type { CamelCaseDatabase } from '../schema.js';

/**
 * The columns sealed at rest ("table.column", bound to each value as AAD): every place a phone
 * number is stored. An agent's stored answer (idempotency) repeats the number it was given, and
 * a conversation holds the person's own words; a held action's parameters name its payee; a
 * webhook endpoint's signing secret is a secret.
 */
export const SEALED = {
  rechargePhone: 'recharges.phone',
  batchRowPhone: 'recharge_batch_rows.phone',
  sessionContext: 'agent_sessions.context_json',
  idempotencyBody: 'idempotency_keys.response_body',
  heldParams: 'held_actions.params_json',
  /** A webhook endpoint's signing secret: a secret like any other, sealed at rest. */
  webhookSecret: 'webhook_subscriptions.secret',
} as const;

/** Blind-index purposes: a phone index never equals a conversation digest of the same text. */
const PURPOSE = { phone: 'phone', sessionContext: 'agent_sessions.context' } as const;

/**
 * The blind index of a phone number: over its normalised national digits when it is one (so
 * "+86 138-0013-8000" and "13800138000" index alike), over the text as given otherwise.
 */
export function phoneIndex(cipher: FieldCipher, phone: string): string {
  const n = normalizePhoneNumber(phone);
  return cipher.blindIndex(n.ok ? n.value : phone, PURPOSE.phone);
}

/** The keyed digest of a conversation's plaintext, compared instead of its (freshly sealed) text. */
export function contextDigest(cipher: FieldCipher, contextJson: string): string {
  return cipher.blindIndex(contextJson, PURPOSE.sessionContext);
}

/**
 * Make sure the data keys these stored values name are in memory, reading the missing ones
 * through `db` — the repository's own handle, so inside a transaction it is the transaction's
 * connection (never a second pooled one that a full pool could not give). Usually nothing is
 * missing and nothing is read: a key is unwrapped once per process.
 */
export async function loadKeys(
  cipher: FieldCipher,
  db: Kysely<CamelCaseDatabase>,
  stored: Iterable<string | null | undefined>,
): Promise<void> {
  const missing = cipher.missingKeys(stored);
  if (missing.length === 0) return;
  const rows = await db.selectFrom('dataKeys').select(['id', 'wrapped']).where('id', 'in', missing).execute();
  for (const r of rows) cipher.addKey(r.id, r.wrapped);
}
