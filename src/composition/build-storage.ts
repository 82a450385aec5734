import { randomBytes } from 'node:crypto';
import { EnvelopeCipher } from '../adapters/crypto/envelope-cipher.js';
import { createMasterKeyFile } from '../adapters/crypto/master-key-file.js';
import { openPostgres, type TransactionFaults } from '../adapters/storage/postgres/database.js';
import { DEFAULT_PREPARING } from '../adapters/storage/postgres/prepared-statements.js';
import { openSqlite } from '../adapters/storage/sqlite/database.js';
import type { Storage } from '../adapters/storage/storage.js';
import type { AppConfig, MasterKeyConfig } from '../config/load-config.js';
import type { Logger } from '../ports/logger.js';
import { DEFAULT_AUDIT_SHARDS, SQLITE_AUDIT_SHARDS } from '../domain/audit-chain.js';

/** The master key's bytes: given, read at load, made now (the default's first start), or the process's own. */
export function masterKeyBytes(source: MasterKeyConfig): Buffer {
  switch (source.source) {
    case 'env':
    case 'file':
      return source.bytes;
    case 'generate':
      return createMasterKeyFile(source.path);
    case 'ephemeral':
      return randomBytes(32);
  }
}

/**
 * Open the configured database, migrated, with the cipher that seals phone numbers and
 * conversations in it (a cipher per storage: its unwrapped data keys belong to this database).
 */
export async function openStorage(
  config: Pick<AppConfig, 'database' | 'security' | 'audit' | 'auth'>,
  logger: Logger,
  options: { readonly transactionFaults?: TransactionFaults } = {},
): Promise<Storage> {
  const cipher = new EnvelopeCipher(masterKeyBytes(config.security.master_key));
  return config.database.kind === 'postgres'
    ? openPostgres(config.database.url, {
        poolSize: config.database.poolSize,
        ...(config.database.preparedStatements ? {} : { preparing: { ...DEFAULT_PREPARING, names: 0 } }),
        logger,
        cipher,
        auditShards: config.audit.shards ?? DEFAULT_AUDIT_SHARDS,
        credentialCacheMs: config.auth.api_key_cache_seconds * 1000,
        ...(options.transactionFaults === undefined ? {} : { faults: options.transactionFaults }),
      })
    : openSqlite(config.database.path, { cipher, auditShards: config.audit.shards ?? SQLITE_AUDIT_SHARDS });
}
