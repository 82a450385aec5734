import { z } from 'zod';
import { MAX_EXTRA_SHOTS, MILKS, SUGAR_LEVELS, TEMPERATURES } from '../../../domain/menu.js';
import { ORDER_STATUSES } from '../../../domain/order.js';
import { PRINCIPAL_ID_RE } from '../../../domain/auth/credentials.js';

/**
 * Request schemas. Types and shapes are checked here; meaning (is the drink on the menu, is the
 * amount positive) is the domain's job, so its error codes reach the client unchanged.
 */
export const orderBodySchema = z
  .object({
    drink: z.string().min(1).max(64),
    size: z.string().min(1).max(32),
    quantity: z.number().int().optional(),
    options: z
      .object({
        temperature: z.enum(TEMPERATURES).optional(),
        sugar: z.enum(SUGAR_LEVELS).optional(),
        milk: z.enum(MILKS).optional(),
        extra_shots: z.number().int().min(0).max(MAX_EXTRA_SHOTS).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const cancelBodySchema = z.object({ reason: z.string().max(500).optional() }).strict();

export const confirmBodySchema = z.object({ payment_method: z.string().max(64).optional() }).strict();

export const listQuerySchema = z
  .object({
    status: z
      .string()
      .optional()
      .transform((s, ctx) => {
        if (s === undefined || s === '') return undefined;
        const parts = s.split(',').map((p) => p.trim().toUpperCase());
        for (const p of parts) {
          if (!(ORDER_STATUSES as readonly string[]).includes(p)) {
            ctx.addIssue({ code: 'custom', message: `unknown status ${p}; valid: ${ORDER_STATUSES.join(', ')}` });
            return z.NEVER;
          }
        }
        return parts as (typeof ORDER_STATUSES)[number][];
      }),
    user_id: z.string().regex(PRINCIPAL_ID_RE, 'user_id is 1–64 letters, digits, . _ @ or -').optional(),
    created_from: z.iso.datetime({ offset: true }).optional(),
    created_to: z.iso.datetime({ offset: true }).optional(),
    // A cursor is the last order id of the page before (`next_cursor`): anything else was not given out.
    cursor: z
      .string()
      .regex(/^ord_[0-9A-Za-z]{1,60}$/, 'cursor is not one this API gave out: pass back `next_cursor` as it came')
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

/** The ids we mint are URL-safe; anything else cannot be one of ours. */
export const idParamSchema = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) }).strict();

/** Turn zod issues into a short list a client can act on. */
export function describeIssues(error: z.ZodError): { field: string; message: string }[] {
  return error.issues.map((i) => ({
    field: i.path.length === 0 ? '(body)' : i.path.map(String).join('.'),
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
}

/**
 * The body of POST /api/v1/payments, for the OpenAPI document. The handler passes the fields to
 * the use case, which checks each one with its own code (VALIDATION_FAILED for `order_id`,
 * INVALID_AMOUNT, INVALID_CURRENCY, INVALID_PAYMENT_METHOD) and reports them all at once.
 */
export const paymentBodySchema = z.object({
  order_id: z.string().min(1),
  amount: z.number().int().positive().describe('minor units (fen): the order’s amount'),
  currency: z.string().describe('CNY, HKD, USD, EUR or JPY'),
  payment_method: z.string().describe('one of the configured payment methods'),
});
