import { z } from 'zod';

/**
 * Request budgets (`rate_limit`): per credential when a request carries one (its Authorization
 * header, hashed), per source IP otherwise. With `redis_url` every instance counts in that Redis,
 * so several instances share one budget; without it each instance counts in its own memory.
 */
export const rateLimitSchema = z
  .object({
    enabled: z.boolean().default(true).describe('enforce request budgets (429 RATE_LIMITED)'),
    per_credential_max: z.number().int().min(1).default(600).describe('Requests one credential may make per window.'),
    per_ip_max: z
      .number()
      .int()
      .min(1)
      .default(300)
      .describe('Requests one source IP may make per window without a credential.'),
    window_seconds: z.number().int().min(1).max(86_400).default(60).describe('the budget’s window'),
    redis_url: z
      .url({ protocol: /^rediss?$/, error: 'a redis:// or rediss:// URL' })
      .optional()
      .describe(
        'redis:// or rediss:// — the counters of every instance in one place (also the failure counts of blocks).',
      ),
  })
  .strict()
  .prefault({});

/**
 * Blocking (`security.block`): a source (IP, credential) with more than `threshold` failures —
 * authentication failures, forged callback signatures, mandate violations — within the window is
 * refused (403 SOURCE_BLOCKED) for `duration_seconds`, on every instance.
 */
export const blockSchema = z
  .object({
    enabled: z.boolean().default(true).describe('block sources after repeated failures (403 SOURCE_BLOCKED)'),
    threshold: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(20)
      .describe('failures within the window that block a source'),
    window_seconds: z.number().int().min(1).max(86_400).default(600).describe('the window failures are counted in'),
    duration_seconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400)
      .default(900)
      .describe('how long a block lasts'),
    refresh_ms: z
      .number()
      .int()
      .min(50)
      .max(60_000)
      .default(1000)
      .describe("How stale an instance's copy of the blocks may get: a block made elsewhere applies here within this."),
  })
  .strict()
  .prefault({});

/**
 * Which proxies to believe about the client's address (Fastify's `trustProxy`): false (the socket's
 * peer is the client), true (every X-Forwarded-For hop), or the proxies' addresses and CIDRs.
 * Per-IP limits and blocks key on the address this yields: behind a load balancer, set it.
 */
export const trustProxySchema = z.union([z.boolean(), z.array(z.string().min(1)).min(1)]).default(false);
