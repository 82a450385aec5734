import { Redis } from 'ioredis';
import type { Logger } from '../../ports/logger.js';

/**
 * A Redis client for counters several instances share (rate limits, failures). Commands fail fast
 * when Redis is away (one retry, no endless offline queue), so a request is never held up by it:
 * the callers let the request through and log.
 */
export function openRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 1000,
    // Reconnect in the background, at most every 2 s.
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let reported = false;
  redis.on('error', (e: Error) => {
    // Once per outage, not once per reconnect attempt.
    if (!reported) logger.warn({ err: e.message }, 'redis unavailable; shared counters are skipped until it is back');
    reported = true;
  });
  redis.on('ready', () => {
    reported = false;
  });
  return redis;
}
