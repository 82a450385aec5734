import { createHash } from 'node:crypto';
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';

/**
 * Who a request comes from, as rate limits, failure counts and blocks key it. `ip:<address>`
 * (IPv6 to its /64, IPv4-mapped IPv6 to IPv4: one host, one source), from the address Fastify
 * derives under `server.trust_proxy`; and, when the request carries one, `credential:<hash>` — a
 * SHA-256 of the Authorization header's credential, never the credential itself, so neither
 * Redis keys, block rows nor logs ever hold it.
 */
export function ipSource(req: FastifyRequest): string {
  return `ip:${normalizeIP(req.ip)}`;
}

/** The request's credential as a source, or undefined when it carries none. */
export function credentialSource(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const trimmed = header.trim();
  if (trimmed === '') return undefined;
  // `Bearer abc` → `abc`: the same credential under another spelling of the scheme is one source.
  const credential = /^[A-Za-z][A-Za-z0-9._~+-]*\s+(\S.*)$/.exec(trimmed)?.[1] ?? trimmed;
  return sourceOfCredential(credential);
}

/** A credential as a source (a hash of it, never the credential): also for transports without HTTP (MCP stdio). */
export function sourceOfCredential(credential: string): string {
  return `credential:${createHash('sha256').update(credential).digest('base64url').slice(0, 32)}`;
}

/** Every source a request comes from: its address, and its credential if it carries one. */
export function sourcesOf(req: FastifyRequest): string[] {
  const credential = credentialSource(req);
  return credential === undefined ? [ipSource(req)] : [ipSource(req), credential];
}
