import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { tempDbPath } from './support/temp-db.js';

/** `autoglm do --local`: the agent on the embedded store, in the CLI's own process. */
function autoglm(args: string[], env: Record<string, string>): { out: string; err: string; code: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/support/cli-child.ts', ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { out: r.stdout, err: r.stderr, code: r.status ?? -1 };
}

describe('autoglm do --local', () => {
  it('orders and pays on the local store; the conversation survives between runs', () => {
    const env = {
      AUTOGLM_DB: `sqlite:${tempDbPath()}`,
      AUTOGLM_AUTO_CONFIRM_ORDER: 'true',
      AUTOGLM_TRUSTED_ACTIONS: 'order_coffee,submit_payment',
      AUTOGLM_LOG_LEVEL: 'warn',
    };
    const first = autoglm(['do', '--local', '--json', '来一杯大杯拿铁'], env);
    expect(first.code, first.err).toBe(0);
    const lines = first.out.trim().split('\n');
    expect(lines).toHaveLength(1); // exactly one JSON object on stdout: logs go to stderr
    const reply = JSON.parse(lines[0] ?? '{}') as {
      session_id: string;
      outcome: { kind: string; order: { status: string } };
    };
    expect(reply.outcome).toMatchObject({ kind: 'paid', order: { status: 'COMPLETED' } });

    // A second process: the session and "last" come from the database.
    const second = autoglm(['do', '--local', '--json', '--session', reply.session_id, '查一下订单'], env);
    expect(second.code, second.err).toBe(0);
    expect(JSON.parse(second.out.trim())).toMatchObject({
      session_id: reply.session_id,
      outcome: {
        kind: 'found',
        order: { id: (reply.outcome as unknown as { order: { id: string } }).order.id, status: 'COMPLETED' },
      },
    });
  }, 240_000);

  it('without a trusted payment, asks first; --yes answers it and pays', () => {
    const env = {
      AUTOGLM_DB: `sqlite:${tempDbPath()}`,
      AUTOGLM_AUTO_CONFIRM_ORDER: 'false',
      AUTOGLM_TRUSTED_ACTIONS: '',
      AUTOGLM_LOG_LEVEL: 'warn',
    };
    // No terminal to answer the question (stdin closed): nothing is paid.
    const unanswered = autoglm(['do', '--local', '来一杯中杯美式'], env);
    expect(unanswered.out).toMatch(/not confirmed: nothing was paid/);
    const yes = autoglm(['do', '--local', '--yes', '来一杯中杯美式'], env);
    expect(yes.code).toBe(0);
    expect(yes.out).toMatch(/paid: /);
  }, 240_000);
});
