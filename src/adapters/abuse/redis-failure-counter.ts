import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type FailureCounts, isFailureKind, NO_FAILURES, type Source } from '../../domain/abuse.js';
import type { FailureKind } from '../../domain/abuse.js';
import type { FailureCounter } from '../../ports/failure-counter.js';

/**
 * One source's failures as a sorted set scored by time: drop what left the window, add this one,
 * keep at most `cap` (the newest), expire the key with the window, and answer what is left — one
 * atomic script, so instances counting the same source at once all add up.
 */
const HIT = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cap = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
redis.call('ZADD', key, now, ARGV[3])
redis.call('ZREMRANGEBYRANK', key, 0, -(cap + 1))
redis.call('PEXPIRE', key, window)
return redis.call('ZRANGE', key, 0, -1)
`;

/**
 * Failures per source in Redis, shared by every instance that points at it. Times are the
 * application's clock (the window is decided by the scores); Redis's own expiry only removes keys
 * of sources that stopped failing.
 */
export class RedisFailureCounter implements FailureCounter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'autoglm:failures:',
    private readonly cap = 1000,
  ) {}

  async hit(source: Source, kind: FailureKind, now: number, windowMs: number): Promise<FailureCounts> {
    // Members are unique (kind, time, nonce): two failures at the same millisecond both count.
    const member = `${kind}|${now}|${randomUUID()}`;
    const members = (await this.redis.eval(HIT, 1, this.prefix + source, now, windowMs, member, this.cap)) as string[];
    const counts = { ...NO_FAILURES };
    for (const m of members) {
      const k = m.slice(0, m.indexOf('|'));
      if (isFailureKind(k)) counts[k] += 1;
    }
    return counts;
  }

  async reset(source: Source): Promise<void> {
    await this.redis.del(this.prefix + source);
  }
}
