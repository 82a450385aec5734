import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { runReconcileLocal } from '../src/composition/run-reconcile.js';
import { PROBLEM_CATEGORIES } from '../src/domain/statements/reconcile.js';
import { writeWechatBill } from '../src/simulator/statements/wechat-bill-writer.js';
import { runCliCaptured } from './support/cli-run.js';
import { startTestApp } from './support/test-app.js';

/**
 * `autoglm reconcile --db URL --file PATH --format wechatpay --json`: a bill a person downloaded,
 * in another layout than the gateway's own, checked against the database directly (no service
 * running); the JSON's top level holds the categories named by the issue and totals in fen, and
 * the exit code says it is not clean.
 */
let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('autoglm reconcile --db --file --format --json', () => {
  it('reports a capture under a number we never sold, exit 3, the categories at the top level', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoglm-rcli-'));
    const dbPath = join(dir, 'db.sqlite');
    app = (await startTestApp({ log: { level: 'silent' } }, {}, dbPath)).app;
    await app.close();
    app = undefined;
    const file = join(dir, 'bill.csv');
    const at = Date.parse('2026-11-20T12:00:00+08:00');
    writeFileSync(
      file,
      writeWechatBill(
        [
          {
            kind: 'payment',
            outTradeNo: 'stranger_0001',
            outRefundNo: null,
            channelId: '4200000001',
            amount: 1234,
            fee: 0,
            cost: null,
            status: 'SUCCESS',
            at,
          },
        ],
        { billType: 'ALL', appid: 'wx0000000000000001', mchid: '1900000001' },
      ),
    );
    const run = await runCliCaptured(
      [
        'reconcile',
        '--source',
        'secure-pay-v3',
        '--date',
        '2026-11-20',
        '--file',
        file,
        '--format',
        'wechatpay',
        '--json',
        '--db',
        `sqlite:${dbPath}`,
      ],
      { defaultUrl: 'http://127.0.0.1:9', reconcileLocal: runReconcileLocal },
    );
    expect(run.code, run.err.join('\n')).toBe(3);
    const report = JSON.parse(run.out.join('\n')) as Record<string, unknown>;
    for (const k of ['matched', ...PROBLEM_CATEGORIES]) expect(Array.isArray(report[k]), k).toBe(true);
    expect(report.missing_locally).toEqual([
      expect.objectContaining({ out_trade_no: 'stranger_0001', channel_amount: 1234, local_amount: null }),
    ]);
    expect(report.totals).toMatchObject({ statement: { lines: 1, payments: 1234 } });
  }, 60_000);
});
