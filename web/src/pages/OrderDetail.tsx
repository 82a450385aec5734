import { useCallback, useEffect, useRef, useState } from 'react';
import { ConfirmAction, may, problemText } from '../admin/kit.js';
import { api, ApiError, type AuditRow, type Me, type Order, type Refund } from '../api.js';
import { diff } from '../diff.js';
import { useI18n, when, yuan } from '../i18n.js';
import { fenToYuanText, parseYuan, randomKey } from '../money.js';
import { openFeed } from '../live-feed.js';
import { onLinkClick } from '../router.js';

const REFUNDABLE = new Set(['PAID', 'FULFILLING', 'COMPLETED']);

/** What is still refundable: the payment less every refund that gave back (or is giving back) money. */
export function refundableOf(order: Order, refunds: readonly Refund[]): number {
  const given = refunds
    .filter((r) => r.status === 'SUCCEEDED' || r.status === 'PENDING' || r.status === 'SETTLED_OUTSIDE')
    .reduce((sum, r) => sum + r.amount, 0);
  return Math.max(0, order.amount - given);
}

/** A refund that failed at the gateway: send it again, or record it settled outside (operators). */
function FailedRefund({ refund, who, onChange }: { refund: Refund; who: Me; onChange: () => void }) {
  const { t } = useI18n();
  const [note, setNote] = useState('');
  const id = `settle-${refund.id}`;
  const path = `/api/v1/refunds/${encodeURIComponent(refund.id)}`;
  return (
    <div className="inline" data-failed-refund={refund.id}>
      {may(who, 'orders.refund') ? (
        <ConfirmAction
          label={t('adminRetryRefund')}
          question={t('adminSure', { what: `${t('adminRetryRefund')} ${yuan(refund.amount, refund.currency)}` })}
          run={() => api(`${path}/retry`, { body: {} }).catch(swallowDecline)}
          onDone={onChange}
        />
      ) : null}
      {may(who, 'refunds.settle_outside') ? (
        <>
          <label htmlFor={id}>
            {t('adminSettleNote')}
            <input id={id} value={note} maxLength={500} onChange={(e) => setNote(e.target.value)} />
          </label>
          <ConfirmAction
            label={t('adminSettleOutside')}
            question={t('adminSure', { what: t('adminSettleOutside') })}
            disabled={note.trim() === ''}
            run={() => api(`${path}/settle-outside`, { body: { note: note.trim() } })}
            onDone={onChange}
          />
        </>
      ) : null}
    </div>
  );
}

/** A retry declined again is an answer, not a fault: the list shows the refund failed once more. */
function swallowDecline(e: unknown): undefined {
  if (e instanceof ApiError && e.code === 'REFUND_DECLINED') return undefined;
  throw e;
}

export function OrderDetail({ id, who }: { id: string; who: Me }) {
  const { t, lang } = useI18n();
  const [order, setOrder] = useState<Order | null>(null);
  const [refunds, setRefunds] = useState<Refund[]>([]);
  const [audit, setAudit] = useState<AuditRow[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [amount, setAmount] = useState('');
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  // One key per refund the person means: a second press (or a resend after a lost answer) of the
  // same amount is the same request; a new amount, or a refund after this one ended, a new key.
  const attempt = useRef<{ amount: string; key: string } | null>(null);
  const path = `/api/v1/orders/${encodeURIComponent(id)}`;

  // The three together: the page appears whole (facts, refunds, timeline), never half-loaded.
  const load = useCallback(() => {
    Promise.all([
      api<{ order: Order }>(path),
      api<{ data: Refund[] }>(`${path}/refunds`).catch(() => ({ data: [] as Refund[] })),
      api<{ data: AuditRow[] }>(`${path}/audit`).catch(() => ({ data: [] as AuditRow[] })),
    ]).then(
      ([o, r, a]) => {
        setRefunds(r.data);
        setAudit(a.data);
        setOrder(o.order);
      },
      (e: unknown) => setError(e instanceof ApiError ? `${e.code}: ${e.message}` : t('error')),
    );
  }, [path, t]);
  useEffect(load, [load]);

  // The same live feed as the list: this order's changes show up here too.
  useEffect(() => {
    return openFeed('/api/v1/orders/events', 'order', {
      onResync: load,
      onEvent: (data) => {
        const { order: changed } = JSON.parse(data) as { order: Order };
        if (changed.id === id) load();
      },
    });
  }, [id, load]);

  const refund = (e: React.FormEvent): void => {
    e.preventDefault();
    if (busy || order === null) return;
    const left = refundableOf(order, refunds);
    let fen: number | undefined;
    if (amount.trim() !== '') {
      const p = parseYuan(amount);
      if (!p.ok) {
        setNote(`${t('adminBadYuan')} (${p.reason})`);
        return;
      }
      if (p.fen > left) {
        setNote(t('adminRefundTooMuch', { amount: yuan(left, order.currency) }));
        return;
      }
      fen = p.fen;
    }
    const what = String(fen ?? 'rest');
    if (attempt.current?.amount !== what) attempt.current = { amount: what, key: `console-refund-${randomKey()}` };
    setBusy(true);
    setNote(null);
    api<{ refund?: Refund; held?: unknown }>(`${path}/refund`, {
      body: fen === undefined ? {} : { amount: fen },
      idempotencyKey: attempt.current.key,
    })
      .then(
        (r) => {
          attempt.current = null;
          setAmount('');
          setNote(
            r.held !== undefined
              ? t('adminRefundHeld')
              : r.refund?.status === 'PENDING'
                ? t('adminRefundPending')
                : t('refundDone'),
          );
          load();
        },
        (err: unknown) => {
          if (err instanceof ApiError && err.code === 'REFUND_DECLINED') {
            attempt.current = null;
            setNote(t('adminRefundFailed', { code: err.message }));
            load();
          } else setNote(problemText(err, t('error')));
        },
      )
      .finally(() => setBusy(false));
  };

  if (error !== null)
    return (
      <p role="alert" className="error">
        {error}
      </p>
    );
  if (order === null) return <p aria-live="polite">…</p>;
  const timeline = audit.filter((a) => a.action.startsWith('order.'));
  return (
    <div className="detail">
      <a href="/orders" onClick={onLinkClick}>
        ← {t('back')}
      </a>
      <h1>
        {t('order')} {order.id}
      </h1>
      <dl className="facts">
        <dt>{t('description')}</dt>
        <dd>{order.description}</dd>
        <dt>{t('amount')}</dt>
        <dd>{yuan(order.amount, order.currency)}</dd>
        <dt>{t('status')}</dt>
        <dd data-testid="order-status">{order.status_text}</dd>
        <dt>{t('user_')}</dt>
        <dd>{order.user_id}</dd>
      </dl>

      <section aria-labelledby="h-timeline">
        <h2 id="h-timeline">{t('timeline')}</h2>
        <ol className="timeline">
          {timeline.map((a, i) => (
            <li key={i}>
              <time>{when(a.at, lang)}</time> <strong>{a.action}</strong>
              {typeof a.after === 'object' && a.after !== null && 'status' in a.after ? (
                <span> → {String(a.after.status)}</span>
              ) : null}
            </li>
          ))}
        </ol>
      </section>

      <section aria-labelledby="h-payment">
        <h2 id="h-payment">{t('payment')}</h2>
        {order.payment === null ? (
          <p>{t('none')}</p>
        ) : (
          <dl className="facts">
            <dt>ID</dt>
            <dd>{order.payment.id}</dd>
            <dt>{t('status')}</dt>
            <dd>{order.payment.status}</dd>
            <dt>{t('method')}</dt>
            <dd>
              {order.payment.method} ({order.payment.gateway})
            </dd>
          </dl>
        )}
      </section>

      <section aria-labelledby="h-refunds">
        <h2 id="h-refunds">{t('refunds')}</h2>
        {refunds.length === 0 ? (
          <p>{t('noRefunds')}</p>
        ) : (
          <ul>
            {refunds.map((r) => (
              <li key={r.id} data-refund={r.id} data-status={r.status}>
                {r.id}: {yuan(r.amount, r.currency)} — {r.status}
                {r.status === 'FAILED' ? <FailedRefund refund={r} who={who} onChange={load} /> : null}
              </li>
            ))}
          </ul>
        )}
        {may(who, 'orders.refund') && REFUNDABLE.has(order.status) && refundableOf(order, refunds) > 0 ? (
          <form className="inline" onSubmit={refund}>
            <label>
              {t('refundAmount')}
              <input
                name="refund-amount"
                inputMode="decimal"
                value={amount}
                onChange={(e) => setAmount(e.target.value)}
                placeholder={fenToYuanText(refundableOf(order, refunds))}
                aria-describedby="refund-hint"
              />
            </label>
            <button type="submit" disabled={busy}>
              {busy ? t('working') : t('refund')}
            </button>
            <p id="refund-hint" className="hint">
              {t('adminRefundable', { amount: yuan(refundableOf(order, refunds), order.currency) })} ·{' '}
              {t('adminRefundHint')}
            </p>
          </form>
        ) : null}
        {note === null ? null : <p role="status">{note}</p>}
      </section>

      <section aria-labelledby="h-audit">
        <h2 id="h-audit">{t('audit')}</h2>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('when')}</th>
                <th scope="col">{t('who')}</th>
                <th scope="col">{t('action')}</th>
                <th scope="col">{t('change')}</th>
              </tr>
            </thead>
            <tbody>
              {audit.map((a, i) => (
                <tr key={i}>
                  <td>{when(a.at, lang)}</td>
                  <td>{a.actor}</td>
                  <td>{a.action}</td>
                  <td>
                    <pre>{diff(a.before, a.after)}</pre>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}
