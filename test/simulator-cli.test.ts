import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { SimulatorHttpGateway } from '../src/adapters/gateways/simulator-http/simulator-http-gateway.js';
import { JuheRechargeChannel } from '../src/adapters/recharge/juhe/juhe-channel.js';
import { DEFAULT_OPERATOR_SETTINGS } from '../src/domain/recharge/operator-settings.js';
import { RechargeUnknownOutcomeError } from '../src/ports/recharge-channel.js';
import { main } from '../src/main.js';
import { GatewayUnknownOutcomeError } from '../src/ports/payment-gateway.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';

function start(args: string[]): Promise<{ child: ChildProcess; url: string; out: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/simulator-child.ts', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`simulator did not start: ${out}`)), 20_000);
    const seen = (d: Buffer): void => {
      out += d.toString();
      const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ child, url: m[1], out: () => out });
      }
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited with ${String(code)}: ${out}`));
    });
  });
}

describe('autoglm simulator', () => {
  it(
    'starts standalone, writes its secret, takes chaos from --chaos, answers signed requests, keeps its books, ' +
      'and stops on SIGTERM',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'autoglm-sim-'));
      const sim = await start([
        '--port',
        '0',
        '--seed',
        '7',
        '--journal-dir',
        dir,
        '--chaos',
        '{"error_rate":1,"paths":["/native/v1/refunds"]}',
      ]);
      const secret = readFileSync(join(dir, 'native.secret'), 'utf8').trim();
      expect(sim.out()).toContain(join(dir, 'native.secret'));
      expect(sim.out()).not.toContain(secret); // the secret is written to a file, never printed
      const gw = new SimulatorHttpGateway({ name: 'sim-http', baseUrl: sim.url, secret, timeoutMs: 3000 });
      try {
        expect(await (await fetch(`${sim.url}/healthz`)).json()).toMatchObject({
          ok: true,
          faces: ['native', 'alipay', 'wechatpay', 'juhe'],
        });
        expect(
          await gw.create({
            outTradeNo: 'cli-1',
            amount: { amount: 2800, currency: 'CNY' },
            subject: 'latte',
            method: 'wallet',
            payer: 'p',
          }),
        ).toMatchObject({ status: 'succeeded' });
        await expect(
          gw.refund({
            outTradeNo: 'cli-1',
            outRefundNo: 'cli-1r',
            amount: { amount: 100, currency: 'CNY' },
            reason: 'x',
          }),
        ).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
        const truth = (await (await fetch(`${sim.url}/_sim/ground-truth`)).json()) as {
          captures: number;
          refunds: number;
        };
        expect(truth).toMatchObject({ captures: 1, refunds: 0 });
        // A QR trade waits for the payer; the admin route plays the payer.
        expect(
          (
            await gw.create({
              outTradeNo: 'cli-2',
              amount: { amount: 100, currency: 'CNY' },
              subject: 'latte',
              method: 'sim_qr',
              payer: 'p',
            })
          ).status,
        ).toBe('pending');
        expect((await fetch(`${sim.url}/_sim/trades/cli-2/pay`, { method: 'POST' })).status).toBe(200);
        expect((await gw.query('cli-2')).status).toBe('succeeded');
      } finally {
        await gw.shutdown();
        sim.child.kill('SIGTERM');
        await new Promise((r) => sim.child.once('exit', r));
      }
      expect(sim.child.exitCode).toBe(0);
      // Its books outlived it: the order book read back from the journal knows the charge.
      const books = new SimulatedGateway({ journalPath: join(dir, 'gateway.jsonl') });
      expect(books.trade('cli-1')).toMatchObject({ status: 'succeeded', amount: { amount: 2800, currency: 'CNY' } });
      expect(books.trade('cli-2')?.status).toBe('succeeded');
      books.closeJournal();
    },
    60_000,
  );

  it(
    'speaks Juhe over one carriers ground truth, with chaos knobs, ' + 'and keeps its top-ups across a restart',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'autoglm-sim-juhe-'));
      let sim = await start([
        '--port',
        '0',
        '--seed',
        '5',
        '--journal-dir',
        dir,
        '--chaos',
        '{"recharge_processing_ms":{"min":20,"max":60}}',
      ]);
      const keys = JSON.parse(readFileSync(join(dir, 'juhe.json'), 'utf8')) as {
        api_key: string;
        openid_secret: string;
      };
      // The printed channel entry points at the face and names the key file, never the secrets.
      expect(sim.out()).toContain(`"base_url":"${sim.url}/juhe/ofpay/mobile/"`);
      expect(sim.out()).toContain(join(dir, 'juhe.json'));
      expect(sim.out()).not.toContain(keys.api_key);
      expect(sim.out()).not.toContain(keys.openid_secret);
      const settings = {
        ...DEFAULT_OPERATOR_SETTINGS,
        CHINA_MOBILE: { timeoutMs: 1500, retries: 1, encoding: 'utf-8' as const },
      };
      const connect = (url: string): JuheRechargeChannel =>
        new JuheRechargeChannel({
          name: 'sim-juhe',
          baseUrl: `${url}/juhe/ofpay/mobile/`,
          apiKey: keys.api_key,
          openId: keys.openid_secret,
          operatorSettings: settings,
          clock: { now: () => Date.now() },
        });
      const juhe = connect(sim.url);
      const order = (orderId: string, phone: string) => ({
        orderId,
        phone,
        amount: { amount: 3000, currency: 'CNY' as const },
        operator: 'CHINA_MOBILE' as const,
      });
      const settled = async (orderId: string, channel = juhe): Promise<string> => {
        for (let i = 0; i < 100; i++) {
          const r = await channel.query({ orderId, operator: 'CHINA_MOBILE' });
          if (r.status !== 'processing') return r.status;
          await new Promise((r) => setTimeout(r, 20));
        }
        return 'processing';
      };
      const truth = async (
        query = '',
      ): Promise<{
        top_ups: number;
        phones: number;
        events: Array<{ order_id: string; phone: string; amount: number }>;
      }> => (await fetch(`${sim.url}/_sim/recharge-ground-truth${query}`)).json() as never;
      const chaos = async (doc: unknown): Promise<void> => {
        const r = await fetch(`${sim.url}/_sim/chaos`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(doc),
        });
        expect(r.status).toBe(200);
      };
      try {
        expect(await juhe.submit(order('cliJuheA1', '13800138001'))).toMatchObject({ status: 'processing' });
        expect(await settled('cliJuheA1')).toBe('succeeded');
        // Sent again under the same order id (a client unsure of the first answer): never a second top-up.
        await juhe.submit(order('cliJuheA1', '13800138001'));
        expect(await truth('?phone=13800138001')).toMatchObject({
          top_ups: 1,
          events: [{ order_id: 'cliJuheA1', phone: '13800138001', amount: 3000 }],
        });

        // The carriers refuse every top-up: the order fails and no phone is credited.
        await chaos({ recharge_failure_rate: 1 });
        await juhe.submit(order('cliJuheA2', '13800138002'));
        expect(await settled('cliJuheA2')).toBe('failed');
        // The HTTP chaos covers the Juhe face too: a 503 before anything is done.
        await chaos({ error_rate: 1, paths: ['/juhe'] });
        await expect(juhe.submit(order('cliJuheA3', '13800138003'))).rejects.toBeInstanceOf(
          RechargeUnknownOutcomeError,
        );
        await chaos({});
        expect(await truth()).toMatchObject({ top_ups: 1, phones: 1 });
        expect(await truth('?prefix=cliJuheA2')).toMatchObject({ top_ups: 0 });
      } finally {
        juhe.close();
        sim.child.kill('SIGTERM');
        await new Promise((r) => sim.child.once('exit', r));
      }
      expect(sim.child.exitCode).toBe(0);

      // Restarted on the same journal: the top-up is still known, and the order still answers "succeeded".
      sim = await start(['--port', '0', '--seed', '5', '--journal-dir', dir]);
      const again = connect(sim.url);
      try {
        expect(await truth()).toMatchObject({ top_ups: 1, events: [{ order_id: 'cliJuheA1' }] });
        expect(await settled('cliJuheA1', again)).toBe('succeeded');
        await again.submit(order('cliJuheA1', '13800138001'));
        expect(await truth()).toMatchObject({ top_ups: 1 });
      } finally {
        again.close();
        sim.child.kill('SIGTERM');
        await new Promise((r) => sim.child.once('exit', r));
      }
    },
    60_000,
  );

  it('refuses an invalid --chaos document with a clear error', async () => {
    const err: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err.push(String(chunk));
      return true;
    });
    try {
      await main(['node', 'autoglm', 'simulator', '--port', '0', '--chaos', '{"error_rate":2}']);
      expect(process.exitCode).toBe(2);
    } finally {
      spy.mockRestore();
      process.exitCode = 0;
    }
    expect(err.join('')).toMatch(/CONFIG_INVALID: --chaos: error_rate/);
  });
});
