import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { readLines } from '../src/application/batch/batch-api.js';
import type { BatchView } from '../src/application/batch/batch-api.js';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';
import {
  accountBalance,
  appStarter,
  ledgerBalances,
  quick,
  rechargeConfig,
  simulatedChannels,
  toppedUpPerPhone,
  topUpWallet,
  walletBalance,
} from './support/recharge-harness.js';
import { authHeaders, tempDbPath } from './support/test-app.js';

const start = appStarter();

const phoneOf = (prefix: string, i: number): string => `${prefix}${String(i).padStart(11 - prefix.length, '0')}`;

function chunksOf(text: string, size: number): AsyncIterable<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return ReadableStream.from(chunks);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Upload over real HTTP, streamed in small chunks as a slow client would. */
async function upload(
  app: App,
  url: string,
  user: string,
  csv: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const body = ReadableStream.from(chunksOf(csv, 97));
  return fetch(`${url}/api/v1/recharges/batch`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv', ...(await authHeaders(app, user)), ...headers },
    body,
    duplex: 'half',
  });
}

async function waitDone(app: App, id: string, user: string, tries = 600): Promise<BatchView> {
  let view: BatchView | undefined;
  for (let i = 0; i < tries; i++) {
    const res = await app.http.inject({ method: 'GET', url: `/api/v1/batches/${id}`, headers: { 'x-user-id': user } });
    view = res.json<{ batch: BatchView }>().batch;
    if (view.done) return view;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`batch ${id} not done: ${JSON.stringify(view)}`);
}

describe('reading an uploaded file as it streams', () => {
  it('numbers lines across chunk boundaries, CRLF, a BOM and a multi-byte character split between chunks', async () => {
    const text = '\uFEFFphone,amount\r\n13800000001,1000\r\n号码,1000\n\n13800000002,2000';
    const lines = await collect(readLines(chunksOf(text, 3)));
    expect(lines).toEqual([
      { line: 1, text: 'phone,amount' },
      { line: 2, text: '13800000001,1000' },
      { line: 3, text: '号码,1000' },
      { line: 4, text: '' },
      { line: 5, text: '13800000002,2000' },
    ]);
  });

  it('cuts an endless line instead of holding it, and keeps counting after it', async () => {
    const lines = await collect(readLines(chunksOf(`${'9'.repeat(100_000)}\n13800000001,1000\n`, 4096), 64));
    expect(lines.map((l) => [l.line, l.text.length])).toEqual([
      [1, 65],
      [2, 16],
    ]);
  });
});

describe('batch recharge over HTTP', () => {
  it(
    'streams a file in, refuses bad and repeated rows by line, recharges the rest once each, ' +
      'and serves a result file in line order',
    async () => {
      const carriers = new SimulatedCarriers();
      const channels = simulatedChannels(carriers, {
        'sim-a': { chaos: { latencyMs: { min: 1, max: 3 }, failureRate: 0.3 } },
        'sim-b': quick,
      });
      const app = await start(
        {
          ...rechargeConfig(['sim-a', 'sim-b'], { max_attempts: 1, batch: { chunk_rows: 7, expand_rows: 7 } }),
          worker: { poll_interval_ms: 20, retry_base_ms: 10, retry_max_ms: 50, concurrency: 8 },
        },
        { carriers, rechargeChannels: channels },
      );
      const url = await app.listen();
      await topUpWallet(app, 'kim', 30_000);
      const phones = Array.from({ length: 40 }, (_, i) => phoneOf('1380', i));
      // 40 good rows (¥10 each, ¥400) but ¥300 in the wallet; a repeat, a bad number, a bad amount, a bad row.
      const csv = [
        'phone,amount',
        ...phones.map((p) => `${p},1000`),
        `${phones[3] ?? ''},1000`,
        '12345678901,1000',
        '13900001111,1234',
        'a,b,c',
        '',
      ].join('\n');
      const res = await upload(app, url, 'kim', csv);
      expect(res.status).toBe(202);
      const accepted = (await res.json()) as { batch: BatchView };
      expect(accepted.batch).toMatchObject({ status: 'accepted', rows: 44, valid: 40, rejected_count: 4 });
      expect(accepted.batch.rejected.map((r) => [r.line, r.code])).toEqual([
        [42, 'DUPLICATE_NUMBER'],
        [43, 'PHONE_UNKNOWN_SEGMENT'],
        [44, 'FACE_VALUE_NOT_OFFERED'],
        [45, 'VALIDATION_FAILED'],
      ]);

      const view = await waitDone(app, accepted.batch.id, 'kim');
      // The wallet covered 30 rows when their turn came, plus what failed recharges gave back; the
      // rest were refused in their turn, never overdrawn.
      expect(view.accepted).toBeGreaterThanOrEqual(30);
      expect(view.succeeded + view.failed).toBe(view.accepted);
      expect(view.succeeded).toBeLessThanOrEqual(30);
      expect(view.rejected_count).toBe(4 + 40 - view.accepted);
      expect(view.failed).toBeGreaterThan(0); // sim-a's failures are final with one attempt

      const file = await fetch(`${url}${view.results}`, { headers: await authHeaders(app, 'kim') });
      expect(file.headers.get('content-type')).toContain('text/csv');
      const rows = (await file.text()).trim().split('\n');
      expect(rows[0]).toBe('line,phone,amount,status,reason,recharge_id,channel');
      expect(rows).toHaveLength(45);
      const parsed = rows.slice(1).map((r) => r.split(','));
      expect(parsed.map((r) => Number(r[0]))).toEqual(Array.from({ length: 44 }, (_, i) => i + 2));
      const statuses = parsed.map((r) => r[3]);
      expect(statuses.slice(0, 30).every((s) => s === 'SUCCEEDED' || s === 'FAILED')).toBe(true);
      expect(
        parsed
          .slice(30, 40)
          .filter((r) => r[3] === 'REJECTED')
          .map((r) => r[4]),
      ).toEqual(Array.from({ length: 40 - view.accepted }, () => 'INSUFFICIENT_BALANCE'));
      expect(
        parsed.filter((r) => r[3] === 'FAILED').every((r) => (r[4] ?? '') !== '' && (r[5] ?? '').startsWith('rch')),
      ).toBe(true);
      // Numbers are masked in the file as in every answer; the line ties a result to the caller's file.
      expect(parsed[0]?.[1]).toMatch(/^138\*+\d{4}$/);
      expect(rows.join('\n')).not.toContain(phones[0]);

      expect([...toppedUpPerPhone(carriers).values()].every((n) => n === 1)).toBe(true);
      expect(carriers.groundTruth).toHaveLength(view.succeeded);
      expect(await walletBalance(app, 'kim')).toBe(30_000 - 1000 * view.succeeded);
      const l = await ledgerBalances(app);
      expect(l.balanced).toBe(true);
      expect(accountBalance(l, 'recharge_clearing:default')).toBe(0);
    },
  );

  it(
    'a body that does not match its Content-Digest, a file over the row limit, ' +
      'or an upload cut off charges nothing',
    async () => {
      const carriers = new SimulatedCarriers();
      const app = await start(rechargeConfig(['sim-b'], { batch: { max_rows: 50 } }), {
        carriers,
        rechargeChannels: simulatedChannels(carriers, { 'sim-b': quick }),
      });
      const url = await app.listen();
      await topUpWallet(app, 'lee', 100_000);
      const csv = Array.from({ length: 10 }, (_, i) => `${phoneOf('1381', i)},1000`).join('\n');
      const digestOf = (s: string): string => `sha-256=:${createHash('sha256').update(s).digest('base64')}:`;

      const forged = await upload(app, url, 'lee', csv, { 'content-digest': digestOf(`${csv}\n13800000000,1000`) });
      expect(forged.status).toBe(400);
      expect(((await forged.json()) as { code: string }).code).toBe('CONTENT_DIGEST_MISMATCH');
      const malformed = await upload(app, url, 'lee', csv, { 'content-digest': 'md5=:abc:' });
      expect(((await malformed.json()) as { code: string }).code).toBe('VALIDATION_FAILED');

      const tooLong = await upload(
        app,
        url,
        'lee',
        Array.from({ length: 51 }, (_, i) => `${phoneOf('1382', i)},1000`).join('\n'),
      );
      expect(tooLong.status).toBe(413);
      expect(((await tooLong.json()) as { code: string }).code).toBe('BATCH_TOO_LARGE');

      // The client goes away halfway through its file.
      const controller = new AbortController();
      const broken = (async function* () {
        yield Buffer.from(`${phoneOf('1383', 1)},1000\n${phoneOf('1383', 2)},1000\n`);
        await new Promise((r) => setTimeout(r, 100));
        controller.abort();
        yield Buffer.from(`${phoneOf('1383', 3)},1000\n`);
      })();
      await expect(
        fetch(`${url}/api/v1/recharges/batch`, {
          method: 'POST',
          headers: { 'content-type': 'text/csv', ...(await authHeaders(app, 'lee')) },
          body: ReadableStream.from(broken),
          duplex: 'half',
          signal: controller.signal,
        }),
      ).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 300));
      expect(await walletBalance(app, 'lee')).toBe(100_000);
      expect(carriers.groundTruth).toHaveLength(0);

      // The same file with its true digest goes through, and the same key answers with the same batch.
      const good = await upload(app, url, 'lee', csv, { 'content-digest': digestOf(csv), 'idempotency-key': 'file-1' });
      expect(good.status).toBe(202);
      const id = ((await good.json()) as { batch: BatchView }).batch.id;
      const again = await upload(app, url, 'lee', csv, {
        'content-digest': digestOf(csv),
        'idempotency-key': 'file-1',
      });
      expect(((await again.json()) as { batch: BatchView }).batch.id).toBe(id);
      const changed = await upload(app, url, 'lee', `${csv}\n`, {
        'content-digest': digestOf(`${csv}\n`),
        'idempotency-key': 'file-1',
      });
      expect(((await changed.json()) as { code: string }).code).toBe('IDEMPOTENCY_CONFLICT');
      const view = await waitDone(app, id, 'lee');
      expect(view.succeeded).toBe(10);
      expect(await walletBalance(app, 'lee')).toBe(100_000 - 10_000);
    },
  );
});

describe('turning an accepted batch into recharges', () => {
  it('takes recharge.batch.expand_rows rows per transaction, whatever the arrival chunk', async () => {
    const carriers = new SimulatedCarriers();
    const app = await start(
      {
        ...rechargeConfig(['sim-b'], { batch: { chunk_rows: 500, expand_rows: 3 } }),
        worker: { poll_interval_ms: 20, retry_base_ms: 10, retry_max_ms: 50, concurrency: 8 },
      },
      { carriers, rechargeChannels: simulatedChannels(carriers, { 'sim-b': quick }) },
    );
    const url = await app.listen();
    await topUpWallet(app, 'lin', 20_000);
    // Each expansion transaction starts by reading the next pending rows, as many as it will take.
    const taken = vi.spyOn(app.deps.uow.read.recharges, 'pendingBatchRows');
    const csv = ['phone,amount', ...Array.from({ length: 10 }, (_, i) => `${phoneOf('1391', i)},1000`)].join('\n');
    const res = await upload(app, url, 'lin', csv);
    expect(res.status).toBe(202);
    const { batch } = (await res.json()) as { batch: BatchView };
    const view = await waitDone(app, batch.id, 'lin');
    expect(view).toMatchObject({ accepted: 10, succeeded: 10 });
    // 3 + 3 + 3 + 1 rows, each chunk in its own transaction (a chunk shorter than 3 ends the job).
    expect(taken.mock.calls.map(([, limit]) => limit)).toEqual([3, 3, 3, 3]);
    expect(await Promise.all(taken.mock.results.map(async (r) => ((await r.value) as unknown[]).length))).toEqual([
      3, 3, 3, 1,
    ]);
  });
});

describe('a 5,000-row batch across a crash', () => {
  it(
    'killed in the middle: the restarted process ends every row with a reason, ' +
      'no number topped up twice, ledger balanced',
    async () => {
      const rows = Number(process.env.AUTOGLM_BATCH_CRASH_ROWS ?? 5000);
      const db = tempDbPath();
      const carriers = new SimulatedCarriers();
      const gateway = new SimulatedGateway();
      const merchant = new SimulatedMerchant();
      const channels = simulatedChannels(carriers, {
        'sim-a': { chaos: { latencyMs: { min: 1, max: 6 }, failureRate: 0.3, timeoutRate: 0.01 } },
        'sim-b': { chaos: { latencyMs: { min: 2, max: 8 }, failureRate: 0.2 } },
        'sim-c': { chaos: { latencyMs: { min: 1, max: 4 }, errorRate: 0.05 } },
      });
      const cfg = {
        ...rechargeConfig(['sim-a', 'sim-b', 'sim-c'], {
          batch: { chunk_rows: 250, expand_rows: 250 },
          max_attempts: 2,
        }),
        worker: { poll_interval_ms: 20, lease_ms: 1000, retry_base_ms: 10, retry_max_ms: 100, concurrency: 32 },
      };
      const first = await start(cfg, { carriers, gateway, merchant, workerId: 'w1', rechargeChannels: channels }, db);
      first.start();
      const funds = rows * 1000;
      await topUpWallet(first, 'max', funds);
      const csv = ['phone,amount', ...Array.from({ length: rows }, (_, i) => `${phoneOf('139', i)},1000`)].join('\n');
      const res = await first.http.inject({
        method: 'POST',
        url: '/api/v1/recharges/batch',
        headers: { 'content-type': 'text/csv', 'x-user-id': 'max' },
        payload: csv,
      });
      expect(res.statusCode, res.body).toBe(202);
      const id = res.json<{ batch: BatchView }>().batch.id;
      for (let i = 0; i < 2000 && carriers.groundTruth.length < rows * 0.3; i++)
        await new Promise((r) => setTimeout(r, 10));
      // The crash: the worker is dropped mid-flight and the database closed under it.
      void first.runner.stop(0);
      await first.http.close();
      await first.storage.close();
      const atCrash = carriers.groundTruth.length;
      expect(atCrash).toBeLessThan(rows * 0.9);

      const second = await start(cfg, { carriers, gateway, merchant, workerId: 'w2', rechargeChannels: channels }, db);
      second.start();
      const view = await waitDone(second, id, 'max', 2400);
      expect(view.rows).toBe(rows);
      expect(view.accepted).toBe(rows);
      expect(view.succeeded + view.failed).toBe(rows);
      expect(view.failed).toBeGreaterThan(0);
      const perPhone = toppedUpPerPhone(carriers);
      expect([...perPhone.values()].filter((n) => n > 1)).toEqual([]);
      expect(carriers.groundTruth).toHaveLength(view.succeeded);

      const file = await second.http.inject({ method: 'GET', url: view.results, headers: { 'x-user-id': 'max' } });
      const results = file.body
        .trim()
        .split('\n')
        .slice(1)
        .map((r) => r.split(','));
      expect(results).toHaveLength(rows);
      expect(results.every((r) => r[3] === 'SUCCEEDED' || (r[3] === 'FAILED' && (r[4] ?? '') !== ''))).toBe(true);

      const l = await ledgerBalances(second);
      expect(l.balanced).toBe(true);
      expect(accountBalance(l, 'recharge_clearing:default')).toBe(0);
      expect(await walletBalance(second, 'max')).toBe(funds - 1000 * view.succeeded);
      console.log(
        `5,000-row batch across a crash: ${atCrash} topped up before the crash; ${view.succeeded} succeeded, ` +
          `${view.failed} failed; ledger balanced`,
      );
    },
    240_000,
  );
});
