import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { argon2PasswordHasher } from '../adapters/security/argon2-password-hasher.js';
import { hmacCredentialSecrets } from '../adapters/security/hmac-credential-secrets.js';
import { joseAccessTokens } from '../adapters/security/jose-access-tokens.js';
import { joseMandateSigner, newMandateKey } from '../adapters/security/jose-mandate-signer.js';
import type { MandateSigner } from '../ports/mandate-signer.js';
import type { DestinationStream } from 'pino';
import { createPinoLogger } from '../adapters/logging/pino-logger.js';
import type { Storage } from '../adapters/storage/storage.js';
import { systemClock } from '../adapters/system/system-clock.js';
import { createIdentity, type IdentityPorts, type IdentitySettings } from '../application/identity/identity-api.js';
import type { AppConfig } from '../config/load-config.js';
import type { LocalIdentity } from '../interfaces/cli/credential-commands.js';
import type { Clock } from '../ports/clock.js';
import { openStorage } from './build-storage.js';

/**
 * The identity capability's adapters. Its two keys — the one that signs access tokens and the one
 * that hashes API keys and refresh tokens — are the service's own secrets, kept in the database
 * (created insert-first, so every instance on one database uses the same ones).
 */
export async function identityPorts(storage: Storage, clock: Pick<Clock, 'now'>): Promise<IdentityPorts> {
  const secret = (name: string): Promise<string> =>
    storage.unitOfWork.run((r) => r.identity.secret(name, randomBytes(32).toString('base64url'), clock.now()));
  const signing = Buffer.from(await secret('access_token_hs256'), 'base64url');
  const pepper = Buffer.from(await secret('credential_hmac_sha256'), 'base64url');
  return {
    passwords: argon2PasswordHasher,
    tokens: joseAccessTokens(signing, () => clock.now()),
    secrets: hmacCredentialSecrets(pepper),
  };
}

export function identitySettings(config: Pick<AppConfig, 'auth'>): IdentitySettings {
  return {
    accessTokenTtlSeconds: config.auth.access_token_ttl_seconds,
    refreshTokenTtlSeconds: config.auth.refresh_token_ttl_seconds,
  };
}

/**
 * The service's mandate-signing key (ES256): a P-256 key made on first start and kept in the
 * database beside the other service secrets, so every instance verifies what any one signed.
 */
export async function mandateSigner(storage: Storage, clock: Pick<Clock, 'now'>): Promise<MandateSigner> {
  const jwk = await storage.unitOfWork.run((r) => r.identity.secret('mandate_es256_jwk', newMandateKey(), clock.now()));
  return joseMandateSigner(jwk);
}

/** The actor the CLI's local commands are audited as. */
export const LOCAL_CLI_ACTOR = 'cli:local';

/**
 * The identity capability alone on the configured database, in this process (`autoglm keys … --db`):
 * whoever can open the database administers its tenants, so the commands act as a tenant's admin,
 * audited as `cli:local`. Nothing else of the service is built; running instances on the same
 * database use what it writes at once (the keys' hashing secret is the database's own).
 */
export async function openLocalIdentity(
  config: AppConfig,
  options: { readonly logDestination?: DestinationStream | NodeJS.WritableStream } = {},
): Promise<LocalIdentity> {
  const { logger } = createPinoLogger({
    level: config.log.level,
    destination: options.logDestination ?? process.stderr,
  });
  const storage = await openStorage(config, logger);
  try {
    const identity = createIdentity(
      { deps: { uow: storage.unitOfWork, clock: systemClock, logger } },
      await identityPorts(storage, systemClock),
      identitySettings(config),
    );
    return {
      api: identity.api,
      defaultTenant: config.tenant.default_id,
      administrator: (tenantId) => ({
        tenantId,
        userId: 'admin',
        actor: LOCAL_CLI_ACTOR,
        requestId: null,
        role: 'admin',
      }),
      close: () => storage.close(),
    };
  } catch (e) {
    await storage.close();
    throw e;
  }
}

/** Where the first admin key is kept: where configured, else beside the SQLite file, else data/admin-key. */
export function adminKeyPath(config: AppConfig): string {
  return (
    config.auth.admin_key_file ??
    (config.database.kind === 'sqlite' && config.database.path !== ':memory:'
      ? join(dirname(config.database.path), 'admin-key')
      : join('data', 'admin-key'))
  );
}

/** The admin key the first start wrote, if this machine has it (for the CLI on the same machine). */
export function readAdminKey(config: AppConfig): string | undefined {
  try {
    const key = readFileSync(adminKeyPath(config), 'utf8').trim();
    return key === '' ? undefined : key;
  } catch {
    return undefined;
  }
}

/** Write the first admin key (mode 0600) beside the SQLite file, or where configured; returns the path. */
export function writeAdminKey(config: AppConfig, key: string): string {
  const path = adminKeyPath(config);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  // An existing file keeps its old mode when rewritten: make sure only the owner can read it.
  chmodSync(path, 0o600);
  return path;
}
