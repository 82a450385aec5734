import { randomBytes } from 'node:crypto';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/id-generator.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32: sorts like the numbers it encodes

function encode(value: number, length: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < length; i++) {
    out = ALPHABET.charAt(v % 32) + out;
    v = Math.floor(v / 32);
  }
  return out;
}

/**
 * Time-sortable ids (ULID-like): `<prefix>_<10 chars ms time><4 chars sequence><10 chars random>`.
 * Within one millisecond the sequence increases, so ids from one process sort in creation order;
 * that order is what keyset pagination walks.
 */
export class SortableIds implements IdGenerator {
  private lastMs = -1;
  private seq = 0;

  /** Random bytes are drawn from the OS in blocks: one syscall per 400 ids instead of one per id. */
  private pool = Buffer.alloc(0);
  private at = 0;

  constructor(private readonly clock: Pick<Clock, 'now'>) {}

  private randomByte(): number {
    if (this.at >= this.pool.length) {
      this.pool = randomBytes(4096);
      this.at = 0;
    }
    return this.pool[this.at++] ?? 0;
  }

  next(prefix: string): string {
    const ms = this.clock.now();
    if (ms === this.lastMs) this.seq += 1;
    else {
      this.lastMs = ms;
      this.seq = 0;
    }
    let r = '';
    for (let i = 0; i < 10; i++) r += ALPHABET.charAt(this.randomByte() & 31);
    return `${prefix}_${encode(ms, 10)}${encode(this.seq, 4)}${r}`;
  }
}
