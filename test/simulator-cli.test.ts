import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { SimulatorHttpGateway } from '../src/adapters/gateways/simulator-http/simulator-http-gateway.js';
import { main } from '../src/main.js';
import { GatewayUnknownOutcomeError } from '../src/ports/payment-gateway.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';

function start(args: string[]): Promise<{ child: ChildProcess; url: string; out: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/simulator-child.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  it('starts standalone, writes its secret, takes chaos from --chaos, answers signed requests, keeps its books, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoglm-sim-'));
    const sim = await start(['--port', '0', '--seed', '7', '--journal-dir', dir, '--chaos', '{"error_rate":1,"paths":["/native/v1/refunds"]}']);
    const secret = readFileSync(join(dir, 'native.secret'), 'utf8').trim();
    expect(sim.out()).toContain(join(dir, 'native.secret'));
    expect(sim.out()).not.toContain(secret); // the secret is written to a file, never printed
    const gw = new SimulatorHttpGateway({ name: 'sim-http', baseUrl: sim.url, secret, timeoutMs: 3000 });
    try {
      expect(await (await fetch(`${sim.url}/healthz`)).json()).toMatchObject({ ok: true, faces: ['native', 'alipay', 'wechatpay'] });
      expect(await gw.create({ outTradeNo: 'cli-1', amount: { amount: 2800, currency: 'CNY' }, subject: 'latte', method: 'wallet', payer: 'p' })).toMatchObject({ status: 'succeeded' });
      await expect(gw.refund({ outTradeNo: 'cli-1', outRefundNo: 'cli-1r', amount: { amount: 100, currency: 'CNY' }, reason: 'x' })).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
      const truth = (await (await fetch(`${sim.url}/_sim/ground-truth`)).json()) as { captures: number; refunds: number };
      expect(truth).toMatchObject({ captures: 1, refunds: 0 });
      // A QR trade waits for the payer; the admin route plays the payer.
      expect((await gw.create({ outTradeNo: 'cli-2', amount: { amount: 100, currency: 'CNY' }, subject: 'latte', method: 'sim_qr', payer: 'p' })).status).toBe('pending');
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
  }, 60_000);

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
