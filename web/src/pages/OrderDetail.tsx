import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, type AuditRow, type Me, type Order, type Refund } from '../api.js';
import { diff } from '../diff.js';
import { useI18n, when, yuan } from '../i18n.js';
import { onLinkClick } from '../router.js';

/** Roles whose credential may ask for a refund (the service checks again: this only hides the button). */
const REFUNDERS = new Set(['admin', 'operator', 'user']);

const REFUNDABLE = new Set(['PAID', 'FULFILLING', 'COMPLETED']);

export function OrderDetail({ id, who }: { id: string; who: Me }) {
  const { t, lang } = useI18n();
  const [order, setOrder] = useState<Order | null>(null);
  const [refunds, setRefunds] = useState<Refund[]>([]);
  const [audit, setAudit] = useState<AuditRow[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [amount, setAmount] = useState('');
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const path = `/api/v1/orders/${encodeURIComponent(id)}`;

  const load = useCallback(() => {
    api<{ order: Order }>(path).then(
      (r) => setOrder(r.order),
      (e: unknown) => setError(e instanceof ApiError ? `${e.code}: ${e.message}` : t('error')),
    );
    api<{ data: Refund[] }>(`${path}/refunds`).then(
      (r) => setRefunds(r.data),
      () => undefined,
    );
    api<{ data: AuditRow[] }>(`${path}/audit`).then(
      (r) => setAudit(r.data),
      () => undefined,
    );
  }, [path, t]);
  useEffect(load, [load]);

  // The same live feed as the list: this order's changes show up here too.
  useEffect(() => {
    const stream = new EventSource('/api/v1/orders/events');
    stream.addEventListener('order', (e: MessageEvent<string>) => {
      const { order: changed } = JSON.parse(e.data) as { order: Order };
      if (changed.id === id) load();
    });
    return () => stream.close();
  }, [id, load]);

  const refund = (e: React.FormEvent): void => {
    e.preventDefault();
    if (busy || order === null) return;
    const fen = amount.trim() === '' ? undefined : Math.round(Number(amount) * 100);
    if (fen !== undefined && (!Number.isFinite(fen) || fen <= 0)) return;
    setBusy(true);
    setNote(null);
    api(`${path}/refund`, {
      body: fen === undefined ? {} : { amount: fen },
      idempotencyKey: `console-refund-${id}-${fen ?? 'rest'}-${refunds.length}`,
    })
      .then(
        () => {
          setNote(t('refundDone'));
          load();
        },
        (err: unknown) => setNote(err instanceof ApiError ? `${err.code}: ${err.message}` : t('error')),
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
              <li key={r.id}>
                {r.id}: {yuan(r.amount, r.currency)} — {r.status}
              </li>
            ))}
          </ul>
        )}
        {REFUNDERS.has(who.role) && REFUNDABLE.has(order.status) ? (
          <form className="inline" onSubmit={refund}>
            <label>
              {t('refundAmount')}
              <input inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} placeholder="—" />
            </label>
            <button type="submit" disabled={busy}>
              {t('refund')}
            </button>
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
