import { useCallback, useState } from 'react';
import { api, type Me } from '../api.js';
import { MANDATE_ACTIONS, MANDATE_PERIODS, type Mandate } from '../api-admin.js';
import { ConfirmAction, Loading, may, problemText, useLoad } from '../admin/kit.js';
import { useI18n, when, yuan } from '../i18n.js';
import { parseYuan } from '../money.js';

/** The grant form's amounts, typed in yuan and read exactly into fen (or why not). */
function fenOf(text: string, t: (k: 'adminBadYuan') => string): number | string {
  const p = parseYuan(text);
  return p.ok ? p.fen : `${t('adminBadYuan')} (${p.reason})`;
}

/**
 * Mandates: a person grants one of their agents a budget, sees what is left of it, revokes it.
 * An operator or viewer reads the tenant's; only the person grants and revokes (the API says so too).
 */
export function Mandates({ who }: { who: Me }) {
  const { t, lang } = useI18n();
  const mandates = useLoad(useCallback(() => api<{ data: Mandate[] }>('/api/v1/mandates'), []));
  const canGrant = may(who, 'mandates.grant');
  const [agent, setAgent] = useState('');
  const [actions, setActions] = useState<string[]>(['order_coffee']);
  const [payees, setPayees] = useState('');
  const [max, setMax] = useState('');
  const [budget, setBudget] = useState('');
  const [period, setPeriod] = useState<string>('week');
  const [expires, setExpires] = useState(() => new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const grant = (e: React.FormEvent): void => {
    e.preventDefault();
    if (busy) return;
    const maxFen = fenOf(max, t);
    const budgetFen = fenOf(budget, t);
    if (typeof maxFen === 'string' || typeof budgetFen === 'string') {
      setError(
        typeof maxFen === 'string' ? `${t('adminMaxPerTx')}: ${maxFen}` : `${t('adminBudget')}: ${String(budgetFen)}`,
      );
      return;
    }
    setBusy(true);
    setError(null);
    api<{ mandate: Mandate }>('/api/v1/mandates', {
      body: {
        agent: agent.trim(),
        actions,
        payees: payees
          .split(/[\s,，]+/)
          .map((p) => p.trim())
          .filter((p) => p !== ''),
        max_per_transaction: maxFen,
        budget: budgetFen,
        period,
        // The end of the chosen day in Beijing time, as the person reads a date.
        expires_at: `${expires}T23:59:59+08:00`,
      },
    })
      .then(
        () => {
          setAgent('');
          mandates.reload();
        },
        (err: unknown) => setError(problemText(err, t('error'))),
      )
      .finally(() => setBusy(false));
  };

  return (
    <div>
      <h1>{t('adminMandatesTitle')}</h1>
      {canGrant ? (
        <section aria-labelledby="h-grant">
          <h2 id="h-grant">{t('adminGrant')}</h2>
          <form className="stack" onSubmit={grant}>
            <label>
              {t('adminAgent')}
              <input name="agent" required value={agent} onChange={(e) => setAgent(e.target.value)} />
            </label>
            <fieldset>
              <legend>{t('adminActions')}</legend>
              {MANDATE_ACTIONS.map((a) => (
                <label key={a}>
                  <input
                    type="checkbox"
                    name="actions"
                    value={a}
                    checked={actions.includes(a)}
                    onChange={(e) => setActions((xs) => (e.target.checked ? [...xs, a] : xs.filter((x) => x !== a)))}
                  />
                  {a}
                </label>
              ))}
            </fieldset>
            <label>
              {t('adminPayees')}
              <input
                name="payees"
                value={payees}
                placeholder="merchant, china_mobile"
                onChange={(e) => setPayees(e.target.value)}
              />
            </label>
            <label>
              {t('adminMaxPerTx')}
              <input name="max" required inputMode="decimal" value={max} onChange={(e) => setMax(e.target.value)} />
            </label>
            <label>
              {t('adminBudget')}
              <input
                name="budget"
                required
                inputMode="decimal"
                value={budget}
                onChange={(e) => setBudget(e.target.value)}
              />
            </label>
            <label>
              {t('adminPeriod')}
              <select name="period" value={period} onChange={(e) => setPeriod(e.target.value)}>
                {MANDATE_PERIODS.map((p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </select>
            </label>
            <label>
              {t('adminExpires')}
              <input name="expires" type="date" required value={expires} onChange={(e) => setExpires(e.target.value)} />
            </label>
            <div>
              <button type="submit" className="primary" disabled={busy || actions.length === 0}>
                {busy ? t('working') : t('adminGrant')}
              </button>
            </div>
            {error === null ? null : (
              <p role="alert" className="error">
                {error}
              </p>
            )}
          </form>
        </section>
      ) : null}
      <h2>{t('adminMandatesTitle')}</h2>
      {mandates.data === undefined ? (
        <Loading error={mandates.error} />
      ) : mandates.data.data.length === 0 ? (
        <p>{t('adminNoMandates')}</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="mandates">
            <thead>
              <tr>
                <th scope="col">{t('adminAgent')}</th>
                <th scope="col">{t('adminActions')}</th>
                <th scope="col">{t('adminBudget')}</th>
                <th scope="col">{t('adminSpent')}</th>
                <th scope="col">{t('adminRemaining')}</th>
                <th scope="col">{t('status')}</th>
                <th scope="col">{t('action')}</th>
              </tr>
            </thead>
            <tbody>
              {mandates.data.data.map((m) => (
                <tr key={m.id} data-mandate={m.id} data-status={m.status}>
                  <td>
                    {m.agent}
                    <span className="muted"> ({m.user})</span>
                  </td>
                  <td>
                    {m.actions.join(', ')}
                    {m.payees.length === 0 ? null : <span className="muted"> → {m.payees.join(', ')}</span>}
                  </td>
                  <td className="num">
                    {yuan(m.budget, m.currency)} / {m.period}
                    <br />
                    <span className="muted">
                      ≤ {yuan(m.max_per_transaction, m.currency)} {t('adminEach')}
                    </span>
                  </td>
                  <td className="num">{yuan(m.spent, m.currency)}</td>
                  <td className="num" data-testid="remaining">
                    <strong>{yuan(m.remaining, m.currency)}</strong>
                  </td>
                  <td>
                    {m.status}
                    <br />
                    <span className="muted">
                      {t('adminExpiresAt')} {when(m.expires_at, lang)}
                    </span>
                  </td>
                  <td>
                    {m.status === 'ACTIVE' && may(who, 'mandates.revoke') ? (
                      <ConfirmAction
                        danger
                        label={t('adminRevoke')}
                        question={t('adminSure', { what: `${t('adminRevoke')} ${m.agent}` })}
                        run={() => api(`/api/v1/mandates/${encodeURIComponent(m.id)}/revoke`, { body: {} })}
                        onDone={mandates.reload}
                      />
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
