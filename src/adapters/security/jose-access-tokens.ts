import { jwtVerify, SignJWT } from 'jose';
import { isRole } from '../../domain/auth/permissions.js';
import type { AccessTokens } from '../../ports/credentials.js';

const ISSUER = 'open-autoglm';

/**
 * Access tokens as HS256 JWTs. The key is the service's own secret, kept in the database so every
 * instance verifies what any instance issued. `typ` keeps an access token from passing for anything else.
 */
export function joseAccessTokens(secret: Uint8Array, now: () => number): AccessTokens {
  return {
    async issue(claims, ttlSeconds) {
      const iat = Math.floor(now() / 1000);
      return new SignJWT({ tid: claims.tenantId, role: claims.role, sid: claims.familyId, typ: 'access' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(claims.principalId)
        .setIssuer(ISSUER)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttlSeconds)
        .sign(secret);
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, secret, {
          issuer: ISSUER,
          algorithms: ['HS256'],
          currentDate: new Date(now()),
        });
        const { sub, tid, role, sid, typ } = payload;
        if (typ !== 'access' || typeof sub !== 'string' || typeof tid !== 'string' || typeof sid !== 'string') {
          return undefined;
        }
        return isRole(role) ? { tenantId: tid, principalId: sub, role, familyId: sid } : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
