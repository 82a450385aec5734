import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com/, spec 1.0): the secret is
 * `whsec_` + base64 of random bytes and the HMAC key is those bytes; the signed content is
 * `<webhook-id>.<webhook-timestamp>.<body>` with the timestamp in integer Unix seconds; the
 * `webhook-signature` header is a space-separated list of `v1,<base64 HMAC-SHA256>`.
 */
const PREFIX = 'whsec_';

/** A new secret: 32 random bytes (the spec asks for 24 to 64). */
export function newWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The HMAC key a secret stands for. */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new Error('a webhook secret starts with whsec_');
  return Buffer.from(secret.slice(PREFIX.length), 'base64');
}

/** The three headers of a signed delivery. */
export function signedHeaders(
  secret: string,
  eventId: string,
  atMs: number,
  body: string,
): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string } {
  const timestamp = String(Math.floor(atMs / 1000));
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${eventId}.${timestamp}.${body}`, 'utf8')
    .digest('base64');
  return { 'webhook-id': eventId, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${mac}` };
}
