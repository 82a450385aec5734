import { useCallback, useState } from 'react';
import { api, type Me } from '../api.js';
import {
  CATEGORIES,
  type Category,
  type CategoryTotal,
  PROBLEM_CATEGORIES,
  type Reconciliation,
  type ReconciliationItem,
  type ReconciliationSummary,
} from '../api-admin.js';
import { ConfirmAction, Loading, may, problemText, shanghaiToday, useLoad } from '../admin/kit.js';
import { type Key, useI18n, when, yuan } from '../i18n.js';
import { navigate, onLinkClick } from '../router.js';

const CATEGORY_LABEL: Record<Category, Key> = {
  matched: 'adminCatMatched',
  missing_locally: 'adminCatMissingLocally',
  missing_at_channel: 'adminCatMissingAtChannel',
  amount_mismatch: 'adminCatAmountMismatch',
  status_mismatch: 'adminCatStatusMismatch',
  fee_mismatch: 'adminCatFeeMismatch',
  duplicates: 'adminCatDuplicates',
  explained: 'adminCatExplained',
};
const PROBLEMS = new Set<Category>(PROBLEM_CATEGORIES);
const NONE: CategoryTotal = { count: 0, local_amount: 0, channel_amount: 0 };

const money = (fen: number | null): string => (fen === null ? '—' : yuan(fen));

/** Every category's count and totals in yuan: the table both the list and a report show. */
function Totals({ totals }: { totals: ReconciliationSummary['totals'] }) {
  const { t } = useI18n();
  return (
    <div className="table-wrap">
      <table data-testid="categories">
        <caption className="visually-hidden">{t('adminCategories')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('adminCategory')}</th>
            <th scope="col">{t('adminCount')}</th>
            <th scope="col">{t('adminOurs')}</th>
            <th scope="col">{t('adminChannels')}</th>
          </tr>
        </thead>
        <tbody>
          {CATEGORIES.map((c) => {
            const x = totals.categories[c] ?? NONE;
            const bad = PROBLEMS.has(c) && x.count > 0;
            return (
              <tr key={c} data-category={c} data-count={x.count}>
                <th scope="row" className={bad ? 'bad' : undefined}>
                  {t(CATEGORY_LABEL[c])}
                </th>
                <td className={bad ? 'num bad' : 'num'}>{x.count}</td>
                <td className="num">{yuan(x.local_amount)}</td>
                <td className="num">{yuan(x.channel_amount)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Items({ items }: { items: ReconciliationItem[] }) {
  const { t } = useI18n();
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">{t('adminItem')}</th>
            <th scope="col">{t('adminOurs')}</th>
            <th scope="col">{t('adminChannels')}</th>
            <th scope="col">{t('status')}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.key}>
              <td>
                {i.kind} {i.out_refund_no ?? i.out_trade_no}
                {i.resource?.type === 'order' ? (
                  <>
                    {' '}
                    <a href={`/orders/${encodeURIComponent(i.resource.id)}`} onClick={onLinkClick}>
                      {i.resource.id}
                    </a>
                  </>
                ) : null}
              </td>
              <td className="num">{money(i.local_amount)}</td>
              <td className="num">{money(i.channel_amount)}</td>
              <td>
                {i.local_status ?? '—'} / {i.channel_status ?? '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One report: its totals, the items of each category, and the repairs it proposed. */
export function ReconciliationReport({ id, who }: { id: string; who: Me }) {
  const { t, lang } = useI18n();
  const report = useLoad(
    useCallback(
      () => api<{ reconciliation: Reconciliation }>(`/api/v1/reconciliations/${encodeURIComponent(id)}`),
      [id],
    ),
  );
  const r = report.data?.reconciliation;
  if (r === undefined) return <Loading error={report.error} />;
  const canApply = may(who, 'reconciliations.run');
  return (
    <div>
      <a href="/money/reconciliations" onClick={onLinkClick}>
        ← {t('adminReconTitle')}
      </a>
      <h1>
        {r.source} · {r.date}
      </h1>
      <p className={r.status === 'failed' || !r.clean ? 'verdict bad' : 'verdict good'} role="status">
        {r.status === 'failed'
          ? `✗ ${t('adminRunFailed')}: ${r.error ?? ''}`
          : r.clean
            ? `✓ ${t('adminClean')}`
            : `✗ ${t('adminNotClean')}`}
      </p>
      <dl className="facts">
        <dt>{t('adminFile')}</dt>
        <dd>
          {r.file} ({r.format})
        </dd>
        <dt>{t('adminStatementLines')}</dt>
        <dd>{r.totals.statement.lines}</dd>
        <dt>{t('adminStatementPayments')}</dt>
        <dd>{yuan(r.totals.statement.payments)}</dd>
        <dt>{t('adminStatementRefunds')}</dt>
        <dd>{yuan(r.totals.statement.refunds)}</dd>
        <dt>{t('adminStatementFees')}</dt>
        <dd>{yuan(r.totals.statement.fees)}</dd>
        <dt>{t('created')}</dt>
        <dd>
          {when(r.created_at, lang)} · {r.created_by}
        </dd>
      </dl>
      <h2>{t('adminCategories')}</h2>
      <Totals totals={r.totals} />
      {CATEGORIES.filter((c) => r[c].length > 0).map((c) => (
        <details key={c} open={PROBLEMS.has(c)}>
          <summary>
            {t(CATEGORY_LABEL[c])} ({r[c].length})
          </summary>
          <Items items={r[c]} />
        </details>
      ))}
      <section aria-labelledby="h-repairs">
        <h2 id="h-repairs">{t('adminRepairs')}</h2>
        {r.repairs.length === 0 ? (
          <p>{t('adminNoRepairs')}</p>
        ) : (
          <ul className="cards">
            {r.repairs.map((p) => (
              <li key={p.id} data-repair={p.id} data-status={p.status}>
                <strong>{p.action}</strong> · {t(CATEGORY_LABEL[p.category as Category] ?? 'adminCategory')} ·{' '}
                {p.item_key}
                <p>{p.why}</p>
                <p>
                  {t('status')}: <span data-testid="repair-status">{p.status}</span>
                  {p.result === null ? null : <> — {p.result}</>}
                  {p.not_before === null ? null : (
                    <>
                      {' '}
                      · {t('adminNotBefore')} {when(p.not_before, lang)}
                    </>
                  )}
                </p>
                {p.status !== 'applied' && canApply ? (
                  <ConfirmAction
                    label={t('adminApply')}
                    question={t('adminSure', { what: `${t('adminApply')} ${p.action}` })}
                    run={() => api(`/api/v1/reconciliation-repairs/${encodeURIComponent(p.id)}/apply`, { body: {} })}
                    onDone={report.reload}
                  />
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

/** The runs, newest first, and a form to reconcile a source's day. */
export function Reconciliations({ who }: { who: Me }) {
  const { t, lang } = useI18n();
  const runs = useLoad(
    useCallback(() => api<{ data: ReconciliationSummary[] }>('/api/v1/reconciliations?limit=50'), []),
  );
  const gateways = useLoad(useCallback(() => api<{ data: { name: string }[] }>('/api/v1/gateways'), []));
  const [source, setSource] = useState('');
  const [date, setDate] = useState(shanghaiToday);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const start = (e: React.FormEvent): void => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    api<{ reconciliation: Reconciliation }>('/api/v1/reconciliations', {
      body: { source: source.trim(), date },
    })
      .then(
        (r) => navigate(`/money/reconciliations/${encodeURIComponent(r.reconciliation.id)}`),
        (err: unknown) => setError(problemText(err, t('error'))),
      )
      .finally(() => setBusy(false));
  };

  return (
    <div>
      <h1>{t('adminReconTitle')}</h1>
      {may(who, 'reconciliations.run') ? (
        <form className="inline" onSubmit={start} aria-labelledby="h-run">
          <h2 id="h-run" className="visually-hidden">
            {t('adminRunRecon')}
          </h2>
          <label>
            {t('adminSource')}
            <input
              name="source"
              required
              list="recon-sources"
              value={source}
              pattern="[A-Za-z0-9_.\-]{1,64}"
              onChange={(e) => setSource(e.target.value)}
            />
            <datalist id="recon-sources">
              {(gateways.data?.data ?? []).map((g) => (
                <option key={g.name} value={g.name} />
              ))}
            </datalist>
          </label>
          <label>
            {t('adminDate')}
            <input name="date" type="date" required value={date} onChange={(e) => setDate(e.target.value)} />
          </label>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? t('working') : t('adminRunRecon')}
          </button>
          {error === null ? null : (
            <p role="alert" className="error">
              {error}
            </p>
          )}
        </form>
      ) : null}
      {runs.data === undefined ? (
        <Loading error={runs.error} />
      ) : runs.data.data.length === 0 ? (
        <p>{t('adminNoRuns')}</p>
      ) : (
        <ul className="cards">
          {runs.data.data.map((r) => (
            <li key={r.id} data-run={r.id}>
              <div className="row">
                <a href={`/money/reconciliations/${encodeURIComponent(r.id)}`} onClick={onLinkClick}>
                  {r.source} · {r.date}
                </a>
                <span className={r.status === 'done' && r.clean ? 'badge good-text' : 'badge bad-text'}>
                  {r.status === 'failed' ? t('adminRunFailed') : r.clean ? t('adminClean') : t('adminNotClean')}
                </span>
              </div>
              <p className="hint">
                {when(r.created_at, lang)} · {r.created_by}
                {r.error === null ? null : <> · {r.error}</>}
              </p>
              {r.status === 'done' ? <Totals totals={r.totals} /> : null}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
