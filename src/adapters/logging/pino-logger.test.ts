import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createPinoLogger } from './pino-logger.js';

function sink(): { stream: Writable; lines: () => Array<Record<string, unknown>>; raw: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const raw = (): string => chunks.join('');
  return {
    stream,
    raw,
    lines: () =>
      raw()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('masked structured logs', () => {
  it('never writes a phone number, card number or secret in the clear', () => {
    const s = sink();
    const { logger } = createPinoLogger({ level: 'info', destination: s.stream });
    const fields = {
      phone: '+86 138 0013 8000',
      note: '给13900139000充值100元',
      nested: { deep: [{ card: '6222020200112233445' }], api_key: 'sk-123', password: 'pw' },
    };
    logger.info(fields, 'recharge for 13800138000');
    const out = s.raw();
    for (const secret of ['13800138000', '13900139000', '0013 8000', '6222020200112233445', 'sk-123', '"pw"'])
      expect(out).not.toContain(secret);
    const [line] = s.lines();
    expect(line).toMatchObject({
      msg: 'recharge for 138****8000',
      phone: '138****8000',
      nested: { api_key: '[REDACTED]', password: '[REDACTED]' },
    });
    expect(fields.phone).toBe('+86 138 0013 8000'); // the caller's object is untouched
  });

  it('masks child-logger fields and calls made straight through the pino instance (as Fastify does)', () => {
    const s = sink();
    const { logger, pino } = createPinoLogger({ level: 'info', destination: s.stream });
    logger.child({ user_phone: '13800138000', token: 'abc' }).info({}, 'hello');
    pino.child({ reqId: 'r1' }).info({ url: '/x?phone=13800138000' }, 'incoming');
    const out = s.raw();
    expect(out).not.toContain('13800138000');
    expect(out).not.toContain('"abc"');
    expect(out).toContain('138****8000');
  });

  it('survives cycles and errors, and passes ordinary messages through unchanged', () => {
    const s = sink();
    const { logger } = createPinoLogger({ level: 'info', destination: s.stream });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    logger.error({ cyclic, err: new Error('failed for 13800138000') }, 'Payment submitted successfully');
    const [line] = s.lines();
    expect(line?.msg).toBe('Payment submitted successfully');
    expect(JSON.stringify(line)).toContain('[Circular]');
    expect(JSON.stringify(line)).not.toContain('13800138000');
  });

  it('respects the level', () => {
    const s = sink();
    const { logger } = createPinoLogger({ level: 'warn', destination: s.stream });
    logger.info({}, 'quiet');
    logger.warn({}, 'loud');
    expect(s.lines().map((l) => l.msg)).toEqual(['loud']);
  });
});
