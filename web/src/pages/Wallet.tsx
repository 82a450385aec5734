import QRCode from 'qrcode';
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError } from '../api.js';
import { useI18n, yuan } from '../i18n.js';
import type { TopUp } from '../ops-api.js';

/** The wallet's balance and a top-up; a top-up that waits for its payer shows the QR and the pay page. */
export function Wallet() {
  const { t } = useI18n();
  const [balance, setBalance] = useState<{ balance: number; currency: string } | null>(null);
  const [amount, setAmount] = useState('100');
  const [busy, setBusy] = useState(false);
  const [topUp, setTopUp] = useState<TopUp | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  const load = useCallback(() => {
    api<{ wallet: { balance: number; currency: string } }>('/api/v1/wallet').then(
      (r) => setBalance(r.wallet),
      () => undefined,
    );
  }, []);
  useEffect(load, [load]);

  const submit = (e: React.FormEvent): void => {
    e.preventDefault();
    const fen = Math.round(Number(amount) * 100);
    if (busy || !Number.isInteger(fen) || fen <= 0) return;
    setBusy(true);
    setNote(null);
    api<{ top_up: TopUp }>('/api/v1/wallet/top-ups', {
      body: { amount: fen },
      idempotencyKey: `console-top-up-${crypto.randomUUID()}`,
    })
      .then(
        (r) => {
          setTopUp(r.top_up);
          setQr(null);
          // A data: URL: the page's CSP allows images from data:, and the code never leaves the browser.
          const code = r.top_up.qr_code;
          if (code != null) QRCode.toDataURL(code, { margin: 1, width: 192 }).then(setQr, () => setQr(null));
          load();
        },
        (err: unknown) => setNote(err instanceof ApiError ? `${err.code}: ${err.message}` : t('error')),
      )
      .finally(() => setBusy(false));
  };

  return (
    <section className="card wallet" aria-labelledby="h-wallet">
      <h2 id="h-wallet">{t('wallet')}</h2>
      <p>
        {t('balance')}:{' '}
        <strong data-testid="balance">{balance === null ? '…' : yuan(balance.balance, balance.currency)}</strong>
      </p>
      <form className="inline" onSubmit={submit}>
        <label>
          {t('topUpAmount')}
          <input inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
        </label>
        <button type="submit" disabled={busy}>
          {t('topUp')}
        </button>
      </form>
      {topUp === null ? null : (
        <div role="status">
          <p>{t('topUpStatus', { id: topUp.id, status: topUp.status })}</p>
          {topUp.qr_code == null && topUp.pay_url == null ? null : <p>{t('topUpScan')}</p>}
          {qr === null ? null : <img src={qr} width={192} height={192} alt={topUp.qr_code ?? ''} />}
          {topUp.pay_url == null ? null : (
            <p>
              <a href={topUp.pay_url} target="_blank" rel="noreferrer">
                {t('openPayPage')}
              </a>
            </p>
          )}
        </div>
      )}
      {note === null ? null : (
        <p role="alert" className="error">
          {note}
        </p>
      )}
    </section>
  );
}
