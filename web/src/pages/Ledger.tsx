import { useCallback } from 'react';
import { api } from '../api.js';
import type { Balances, LedgerCheck } from '../api-admin.js';
import { Loading, useLoad } from '../admin/kit.js';
import { useI18n, yuan } from '../i18n.js';

/**
 * The books at a glance: one verdict (balanced and complete, or what is wrong), then every
 * account's balance. GET /api/v1/ledger/check and /api/v1/ledger/balances.
 */
export function Ledger() {
  const { t } = useI18n();
  const check = useLoad(useCallback(() => api<LedgerCheck>('/api/v1/ledger/check'), []));
  const balances = useLoad(useCallback(() => api<Balances>('/api/v1/ledger/balances'), []));
  const c = check.data;
  const ok = c !== undefined && c.balanced && c.complete;
  return (
    <div>
      <div className="row">
        <h1>{t('adminLedgerTitle')}</h1>
        <button
          type="button"
          onClick={() => {
            check.reload();
            balances.reload();
          }}
        >
          {t('adminRefresh')}
        </button>
      </div>
      <section aria-labelledby="h-check">
        <h2 id="h-check">{t('adminCheck')}</h2>
        {c === undefined ? (
          <Loading error={check.error} />
        ) : (
          <>
            <p className={ok ? 'verdict good' : 'verdict bad'} role="status" data-testid="ledger-verdict">
              {ok ? `✓ ${t('adminBalanced')}` : `✗ ${c.balanced ? t('adminIncomplete') : t('adminImbalance')}`}
            </p>
            <p className="hint">{t('adminChecked', { n: String(c.checked) })}</p>
            {c.unbalanced.length === 0 ? null : (
              <div className="table-wrap">
                <table>
                  <caption>{t('adminUnbalancedJournals')}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('adminJournal')}</th>
                      <th scope="col">{t('adminSum')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {c.unbalanced.map((j) => (
                      <tr key={j.journal_id}>
                        <td>{j.journal_id}</td>
                        <td className="num bad">{yuan(j.sum)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {c.incomplete.length === 0 ? null : (
              <div className="table-wrap">
                <table>
                  <caption>{t('adminIncompleteList')}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('adminResource')}</th>
                      <th scope="col">{t('status')}</th>
                      <th scope="col">{t('adminMissing')}</th>
                      <th scope="col">{t('adminUnexpected')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {c.incomplete.map((i) => (
                      <tr key={`${i.resource_type}:${i.resource_id}`}>
                        <td>
                          {i.resource_type} {i.resource_id}
                        </td>
                        <td>{i.status}</td>
                        <td>{i.missing.join(', ')}</td>
                        <td>{i.unexpected.join(', ')}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
      </section>
      <section aria-labelledby="h-balances">
        <h2 id="h-balances">{t('adminBalances')}</h2>
        {balances.data === undefined ? (
          <Loading error={balances.error} />
        ) : balances.data.data.length === 0 ? (
          <p>{t('adminNoPostings')}</p>
        ) : (
          <div className="table-wrap">
            <table data-testid="balances">
              <thead>
                <tr>
                  <th scope="col">{t('adminAccount')}</th>
                  <th scope="col">{t('adminBalance')}</th>
                </tr>
              </thead>
              <tbody>
                {balances.data.data.map((b) => (
                  <tr key={`${b.account} ${b.currency}`}>
                    <td>{b.account}</td>
                    <td className="num">{yuan(b.balance, b.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}
