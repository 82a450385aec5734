import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { calculateJwkThumbprint, CompactSign, compactVerify, importJWK, type JWK } from 'jose';
import type { MandateSigner } from '../../ports/mandate-signer.js';

const ALG = 'ES256';
const TYP = 'mandate+jwt';

/** A new P-256 private key as a JWK (JSON), for the service to keep as its mandate-signing secret. */
export function newMandateKey(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return JSON.stringify(privateKey.export({ format: 'jwk' }));
}

/**
 * Mandates signed ES256 (`jose`) with the service's own P-256 key, kept in the database so every
 * instance verifies what any instance signed. `typ` keeps a mandate from passing for any other JWS.
 */
export async function joseMandateSigner(privateJwkJson: string): Promise<MandateSigner> {
  const jwk = JSON.parse(privateJwkJson) as JsonWebKey & JWK;
  const { d: _d, ...pub } = jwk;
  const kid = await calculateJwkThumbprint(pub);
  const privateKey = await importJWK({ ...jwk, alg: ALG }, ALG);
  const publicKey = await importJWK({ ...pub, alg: ALG }, ALG);
  const encoder = new TextEncoder();
  return {
    publicJwk: { ...pub, alg: ALG, use: 'sig', kid },
    sign: (claims) =>
      new CompactSign(encoder.encode(JSON.stringify(claims)))
        .setProtectedHeader({ alg: ALG, typ: TYP, kid })
        .sign(privateKey),
    async verify(jws) {
      try {
        const { payload, protectedHeader } = await compactVerify(jws, publicKey, { algorithms: [ALG] });
        if (protectedHeader.typ !== TYP) return undefined;
        const claims: unknown = JSON.parse(new TextDecoder().decode(payload));
        return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
