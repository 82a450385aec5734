import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** Redis for tests: AUTOGLM_TEST_REDIS, by default this machine's (it runs on every machine of the project). */
export const REDIS_TEST_URL = process.env.AUTOGLM_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';

async function reachable(): Promise<boolean> {
  const r = new Redis(REDIS_TEST_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * Whether the Redis tests run: reachable, or in CI (CI=true), where they run and fail loudly; on a
 * developer's machine without Redis they are skipped with a warning.
 */
export async function redisWanted(): Promise<boolean> {
  if (await reachable()) return true;
  if (process.env.CI === 'true' || process.env.CI === '1') return true;
  process.stderr.write(
    `\n  !! Redis at ${REDIS_TEST_URL} is unreachable: its tests are SKIPPED (CI=true fails them)\n\n`,
  );
  return false;
}

/** Something no other run (nor an earlier one) has used: runs share the Redis, so keys must not collide. */
export function unique(label: string): string {
  return `${label}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** A documentation address (RFC 5737 TEST-NET-3) no other run is likely to pick. */
export function randomTestIp(): string {
  const b = randomBytes(1)[0]!;
  return `203.0.113.${1 + (b % 254)}`;
}
