import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { SimulatedRechargeChannel } from '../src/simulator/simulated-recharge-channel.js';
import { startTestApp } from './support/test-app.js';

// A simulator reads its journal when it is built. With a directory where each journal file would
// be, building one fails (EISDIR): an app that starts did not build any of them.
let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function unreadableJournals(...names: string[]): string {
  dir = mkdtempSync(join(tmpdir(), 'autoglm-journals-'));
  for (const name of names) mkdirSync(join(dir, name));
  return dir;
}

const SECRET = 'test-secret-0123456789abcdef';
const remoteGateway = { type: 'simulator-http', base_url: 'http://127.0.0.1:9', secret: SECRET };
const juhe = { type: 'juhe', operators: ['CHINA_MOBILE'], api_key: 'k', openid_secret: 'o' };

describe('createApp builds a simulator only when the configuration routes through it', () => {
  it('no simulator gateway, merchant or recharge channel configured: none is built', async () => {
    const journalDir = unreadableJournals('gateway.jsonl', 'merchant.jsonl', 'carriers.jsonl');
    const { app } = await startTestApp({
      simulator: { journal_dir: journalDir },
      // The two default gateway names taken by a remote gateway.
      gateways: { 'secure-pay-v3': remoteGateway, simulator: remoteGateway },
      merchant: { type: 'http', base_url: 'http://127.0.0.1:9', secret: SECRET },
      recharge: { channels: { j: juhe } },
    });
    await app.close();
  });

  it('the default configuration builds all three', async () => {
    for (const name of ['gateway.jsonl', 'merchant.jsonl', 'carriers.jsonl']) {
      const journalDir = unreadableJournals(name);
      await expect(startTestApp({ simulator: { journal_dir: journalDir } })).rejects.toThrow(/EISDIR/);
      rmSync(journalDir, { recursive: true, force: true });
    }
  });

  it('simulator recharge channels all supplied: no carriers are built', async () => {
    const journalDir = unreadableJournals('carriers.jsonl');
    const carriers = new SimulatedCarriers();
    const channel = new SimulatedRechargeChannel({ name: 's', carriers, profile: { chaos: {} } });
    const { app } = await startTestApp(
      {
        simulator: { journal_dir: journalDir },
        recharge: { channels: { s: { type: 'simulator', operators: ['CHINA_MOBILE'] } } },
      },
      { rechargeChannels: new Map([['s', channel]]) },
    );
    await app.close();
  });
});
