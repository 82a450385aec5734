import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, type AuditRow } from '../api.js';
import { diff } from '../diff.js';
import { useI18n, when, yuan } from '../i18n.js';
import type { Recharge } from '../ops-api.js';
import { openFeed } from '../live-feed.js';
import { onLinkClick } from '../router.js';

/** One recharge: its facts, the state timeline, its attempts per channel and the audit trail with diffs. */
export function RechargeDetail({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const [recharge, setRecharge] = useState<Recharge | null>(null);
  const [audit, setAudit] = useState<AuditRow[]>([]);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api<{ recharge: Recharge }>(`/api/v1/recharges/${encodeURIComponent(id)}`).then(
      (r) => setRecharge(r.recharge),
      (e: unknown) => setError(e instanceof ApiError ? `${e.code}: ${e.message}` : t('error')),
    );
    api<{ data: AuditRow[] }>(
      `/api/v1/audit?${new URLSearchParams({ resource: `recharge:${id}`, limit: '200' })}`,
    ).then(
      (r) => setAudit(r.data),
      () => undefined,
    );
  }, [id, t]);
  useEffect(load, [load]);

  // The list's live feed: this recharge's changes show here without a reload.
  useEffect(() => {
    return openFeed('/api/v1/recharges/events', 'recharge', {
      onResync: load,
      onEvent: (data) => {
        const { recharge: changed } = JSON.parse(data) as { recharge: Recharge };
        if (changed.id === id) load();
      },
    });
  }, [id, load]);

  if (error !== null)
    return (
      <p role="alert" className="error">
        {error}
      </p>
    );
  if (recharge === null) return <p aria-live="polite">…</p>;
  const timeline = audit.filter((a) => a.action.startsWith('recharge.'));
  return (
    <div className="detail">
      <a href="/recharges" onClick={onLinkClick}>
        ← {t('backToRecharges')}
      </a>
      <h1>
        {t('recharge')} {recharge.id}
      </h1>
      <dl className="facts">
        <dt>{t('phone')}</dt>
        <dd>{recharge.phone}</dd>
        <dt>{t('operator')}</dt>
        <dd>{recharge.operator}</dd>
        <dt>{t('amount')}</dt>
        <dd>{yuan(recharge.amount, recharge.currency)}</dd>
        <dt>{t('status')}</dt>
        <dd data-testid="recharge-status">
          {recharge.status}
          {recharge.failure_reason === null ? null : ` — ${t('rechargeFailed', { reason: recharge.failure_reason })}`}
        </dd>
        <dt>{t('paidBy')}</dt>
        <dd>{recharge.paid_by}</dd>
        <dt>{t('user_')}</dt>
        <dd>{recharge.user_id}</dd>
        {recharge.batch_id === null ? null : (
          <>
            <dt>{t('batch')}</dt>
            <dd>
              <a href={`/batches/${encodeURIComponent(recharge.batch_id)}`} onClick={onLinkClick}>
                {recharge.batch_id}
              </a>
            </dd>
          </>
        )}
      </dl>

      <section aria-labelledby="h-timeline">
        <h2 id="h-timeline">{t('timeline')}</h2>
        <ol className="timeline">
          {timeline.map((a) => (
            <li key={a.id}>
              <time>{when(a.at, lang)}</time> <strong>{a.action}</strong>
              {typeof a.after === 'object' && a.after !== null && 'status' in a.after ? (
                <span> → {String(a.after.status)}</span>
              ) : null}
            </li>
          ))}
        </ol>
      </section>

      <section aria-labelledby="h-attempts">
        <h2 id="h-attempts">{t('attempts')}</h2>
        <div className="table-wrap" tabIndex={0} role="region" aria-label={t('attempts')}>
          <table>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">{t('channel')}</th>
                <th scope="col">{t('order')}</th>
                <th scope="col">{t('failure')}</th>
              </tr>
            </thead>
            <tbody>
              {recharge.attempts.map((a, i) => (
                <tr key={a.order_id} data-channel={a.channel}>
                  <td>{i + 1}</td>
                  <td>{a.channel}</td>
                  <td>{a.channel_order_id ?? a.order_id}</td>
                  <td>{a.failure ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="h-audit">
        <h2 id="h-audit">{t('audit')}</h2>
        <div className="table-wrap" tabIndex={0} role="region" aria-label={t('audit')}>
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
              {audit.map((a) => (
                <tr key={a.id}>
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
