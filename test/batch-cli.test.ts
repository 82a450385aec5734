import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_SOME_ROWS_FAILED } from '../src/interfaces/cli/batch-commands.js';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import {
  quick,
  rechargeConfig,
  simulatedChannels,
  toppedUpPerPhone,
  topUpWallet,
  walletBalance,
} from './support/recharge-harness.js';
import { runCliCaptured } from './support/cli-run.js';
import { adminKeyOf, startTestApp } from './support/test-app.js';

let app: App;
let url: string;
const carriers = new SimulatedCarriers();
const dir = mkdtempSync(join(tmpdir(), 'autoglm-batch-cli-'));

beforeAll(async () => {
  app = (
    await startTestApp(rechargeConfig(['sim-b'], { batch: { chunk_rows: 4, expand_rows: 4 } }), {
      carriers,
      rechargeChannels: simulatedChannels(carriers, { 'sim-b': quick }),
    })
  ).app;
  url = await app.listen();
  await topUpWallet(app, 'ann', 100_000);
});
afterAll(async () => {
  await app.close();
});

async function cli(...args: string[]): Promise<{ out: string[]; err: string[]; progress: string[]; code: number }> {
  const progress: string[] = [];
  const r = await runCliCaptured(args, {
    defaultUrl: url,
    apiKey: adminKeyOf(app),
    progress: (l) => progress.push(l),
    pollMs: 20,
  });
  return { ...r, progress };
}

describe('autoglm batch recharge FILE', () => {
  it(
    'uploads the file, shows progress, writes a result file with the numbers back in, ' +
      'and follows the same file instead of charging it twice',
    async () => {
      const phones = Array.from({ length: 12 }, (_, i) => `1350000${String(i).padStart(4, '0')}`);
      const file = join(dir, 'people.csv');
      writeFileSync(file, ['phone,amount', ...phones.map((p) => `${p},2000`), '1350000,2000'].join('\n'));

      const first = await cli('batch', 'recharge', file, '-u', 'ann');
      expect(first.err).toEqual([]);
      expect(first.out[0]).toMatch(/^batch rcb_\S+: 13 rows, 12 valid, 1 refused$/);
      expect(first.out[1]).toMatch(/line 14: PHONE_INVALID_LENGTH/);
      expect(first.out.at(-2)).toMatch(/done in [\d.]+ s: 12 succeeded, 0 failed, 1 refused$/);
      expect(first.code).toBe(EXIT_SOME_ROWS_FAILED);
      expect(first.progress.some((l) => /^\[#+-*\] +\d+% [\d,]+\/13 · /.test(l))).toBe(true);
      expect(first.progress.filter((l) => l !== '').at(-1)).toMatch(/100% 13\/13 · 12 ok · 0 failed · 1 refused/);

      const results = readFileSync(`${file}.results.csv`, 'utf8').trim().split('\n');
      expect(results[0]).toBe('line,phone,amount,status,reason,recharge_id,channel');
      expect(results.slice(1).map((r) => r.split(',').slice(0, 4))).toEqual([
        ...phones.map((p, i) => [String(i + 2), p, '2000', 'SUCCEEDED']),
        ['14', '1350000', '', 'REJECTED'],
      ]);

      // The same file again: the service answers with the first batch; nothing is charged twice.
      const again = await cli('batch', 'recharge', file, '-u', 'ann');
      expect(again.err[0]).toMatch(/already submitted as batch (rcb_\S+); following it/);
      expect(again.out[0]).toBe(first.out[0]);
      expect([...toppedUpPerPhone(carriers).values()].every((n) => n === 1)).toBe(true);
      expect(await walletBalance(app, 'ann')).toBe(100_000 - 12 * 2000);
    },
  );

  it('reads JSON lines, returns at once with --no-wait, and says clearly what is wrong', async () => {
    const file = join(dir, 'few.ndjson');
    writeFileSync(file, ['{"phone":"13600000001","amount":1000}', '{"phone":"13600000002","amount":1000}'].join('\n'));
    const quickReturn = await cli('batch', 'recharge', file, '-u', 'ann', '--no-wait');
    expect(quickReturn.out[0]).toMatch(/: 2 rows, 2 valid, 0 refused$/);
    expect(quickReturn.out[1]).toMatch(/^follow it: GET \/api\/v1\/batches\/rcb_/);
    expect(quickReturn.code).toBe(0);

    const followed = await cli('batch', 'recharge', file, '-u', 'ann', '-o', join(dir, 'few.out.csv'));
    expect(followed.code).toBe(0);
    expect(readFileSync(join(dir, 'few.out.csv'), 'utf8')).toContain('2,13600000002,1000,SUCCEEDED');

    const missing = await cli('batch', 'recharge', join(dir, 'nope.csv'));
    expect(missing.err).toEqual([`error FILE_NOT_FOUND: no file ${join(dir, 'nope.csv')}`]);
    expect(missing.code).toBe(1);
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, 'phone,amount\n');
    expect((await cli('batch', 'recharge', empty, '-u', 'ann')).err).toEqual([
      'error VALIDATION_FAILED: the batch has no rows',
    ]);
  });

  it('a held batch: without --yes it says what and how; with --yes the person confirms it and it runs', async () => {
    const held = new SimulatedCarriers();
    const strict = (
      await startTestApp(
        { ...rechargeConfig(['sim-c']), trusted_actions: ['wallet_top_up'] },
        { carriers: held, rechargeChannels: simulatedChannels(held, { 'sim-c': quick }) },
      )
    ).app;
    try {
      const strictUrl = await strict.listen();
      await topUpWallet(strict, 'bo', 50_000);
      const file = join(dir, 'held.csv');
      writeFileSync(file, 'phone,amount\n13600000001,2000\n13600000002,3000\n');
      const run = (...extra: string[]) =>
        runCliCaptured(['batch', 'recharge', file, '-u', 'bo', ...extra], {
          defaultUrl: strictUrl,
          apiKey: adminKeyOf(strict),
          progress: () => undefined,
          pollMs: 20,
        });
      const asked = await run();
      expect(asked.err[0]).toMatch(/^held for your confirmation: 批量充值 batch recharge of 2 numbers, ¥50\.00 in all/);
      expect(asked.err.at(-1)).toMatch(/^error CONFIRMATION_REQUIRED: run again with --yes/);
      expect(asked.code).toBe(1);
      expect(held.groundTruth).toHaveLength(0);
      // The same file again, confirmed: the held batch (not a new one) runs, each number once.
      const yes = await run('--yes');
      expect(yes.err).toContain(
        'confirmed: batch ' + /batch (rcb_[0-9A-Z]+)/.exec(asked.err[0] ?? '')?.[1] + ' starts',
      );
      expect(yes.out.at(-2)).toMatch(/done in [\d.]+ s: 2 succeeded, 0 failed, 0 refused$/);
      expect(yes.code).toBe(0);
      expect(await walletBalance(strict, 'bo')).toBe(45_000);
    } finally {
      await strict.close();
    }
  });
});
