import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { embeddedSimulatorSecrets } from './simulator-secrets.js';

describe('embedded simulator secrets (issue 17)', () => {
  it('are made per installation, kept across restarts, and differ by simulator', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-secrets-'));
    const other = mkdtempSync(join(tmpdir(), 'sim-secrets-'));
    const labels = ['gateway-notify', 'pay-page', 'sms', 'recharge-channel sim-a', 'recharge-channel sim-b'];
    const first = labels.map(embeddedSimulatorSecrets(dir));
    expect(labels.map(embeddedSimulatorSecrets(dir))).toEqual(first);
    expect(new Set(first).size).toBe(labels.length);
    const elsewhere = labels.map(embeddedSimulatorSecrets(other));
    for (const [i, s] of elsewhere.entries()) expect(s).not.toBe(first[i]);
  });

  it('the composition writes no simulator secret in the source (SMS, recharge channels, gateway)', () => {
    const dir = new URL('.', import.meta.url).pathname;
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text, f).not.toMatch(/accessKeySecret:\s*'/);
      expect(text, f).not.toMatch(/(?:notifySecret|callbackSecret|secret):\s*['`]/);
    }
  });
});
