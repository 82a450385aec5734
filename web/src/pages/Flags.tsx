import { useCallback, useState } from 'react';
import { api, type AuditRow, type Me } from '../api.js';
import type { Flag, FlagAction } from '../api-admin.js';
import { ConfirmAction, Loading, may, problemText, useLoad } from '../admin/kit.js';
import { type Key, useI18n, when } from '../i18n.js';
import { onLinkClick } from '../router.js';

const ACTION_LABEL: Record<FlagAction, Key> = {
  retry_refund: 'adminRetryRefund',
  settle_refund_outside: 'adminSettleOutside',
  close_trade: 'adminCloseTrade',
  settle_from_channel: 'adminSettleFromChannel',
};

/** The audit trail of a flag's resource, read when the person opens it (the resolution is in it). */
function Trail({ flag }: { flag: Flag }) {
  const { t, lang } = useI18n();
  const [rows, setRows] = useState<AuditRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = (): void => {
    const q = new URLSearchParams({ resource: `${flag.resource_type}:${flag.resource_id}`, limit: '50' });
    api<{ data: AuditRow[] }>(`/api/v1/audit?${q.toString()}`).then(
      (r) => setRows(r.data),
      (e: unknown) => setError(problemText(e, t('error'))),
    );
  };
  return (
    <details
      onToggle={(e) => {
        if (e.currentTarget.open) load();
      }}
    >
      <summary>{t('audit')}</summary>
      {error !== null ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : rows === null ? (
        <p aria-live="polite">…</p>
      ) : (
        <ul className="trail" data-testid="flag-trail">
          {rows.map((a) => (
            <li key={String(a.id)}>
              <time>{when(a.at, lang)}</time> <strong>{a.action}</strong> — {a.actor}
              {a.after !== null && typeof a.after === 'object' && 'note' in a.after ? (
                <> · {String(a.after.note)}</>
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </details>
  );
}

function FlagCard({ flag, who, onChange }: { flag: Flag; who: Me; onChange: () => void }) {
  const { t, lang } = useI18n();
  const [note, setNote] = useState('');
  const noteId = `note-${flag.id}`;
  const canAct = may(who, 'flags.resolve');
  const open = flag.resolved_at === null;
  const resource =
    flag.resource_type === 'order' ? (
      <a href={`/orders/${encodeURIComponent(flag.resource_id)}`} onClick={onLinkClick}>
        {flag.resource_id}
      </a>
    ) : (
      flag.resource_id
    );
  return (
    <li data-flag={flag.id} data-open={open ? 'true' : 'false'}>
      <div className="row">
        <h2>{flag.code}</h2>
        <span className={open ? 'badge bad-text' : 'badge good-text'}>
          {open ? t('adminOpen') : t('adminResolved')}
        </span>
      </div>
      <dl className="facts">
        <dt>{t('adminResource')}</dt>
        <dd>
          {flag.resource_type} {resource}
        </dd>
        <dt>{t('created')}</dt>
        <dd>{when(flag.created_at, lang)}</dd>
        <dt>{t('adminDetail')}</dt>
        <dd>
          <pre>{JSON.stringify(flag.detail, null, 1)}</pre>
        </dd>
        {open ? null : (
          <>
            <dt>{t('adminResolvedBy')}</dt>
            <dd>
              {flag.resolved_by} · {when(flag.resolved_at ?? '', lang)}
            </dd>
            <dt>{t('adminNote')}</dt>
            <dd data-testid="resolution-note">{flag.resolution_note}</dd>
          </>
        )}
      </dl>
      {open && canAct ? (
        <div className="stack">
          <label htmlFor={noteId}>{t('adminNoteLabel')}</label>
          <input id={noteId} value={note} maxLength={500} onChange={(e) => setNote(e.target.value)} />
          <div>
            {flag.actions.map((a) => (
              <ConfirmAction
                key={a}
                testId={`action-${a}`}
                label={t(ACTION_LABEL[a])}
                question={t('adminSure', { what: t(ACTION_LABEL[a]) })}
                disabled={a === 'settle_refund_outside' && note.trim() === ''}
                run={() =>
                  api(`/api/v1/review-flags/${encodeURIComponent(flag.id)}/actions`, {
                    body: { action: a, ...(note.trim() === '' ? {} : { note: note.trim() }) },
                  })
                }
                onDone={onChange}
              />
            ))}
            <ConfirmAction
              testId="resolve"
              label={t('adminResolve')}
              question={t('adminSure', { what: t('adminResolve') })}
              disabled={note.trim() === ''}
              run={() =>
                api(`/api/v1/review-flags/${encodeURIComponent(flag.id)}/resolve`, { body: { note: note.trim() } })
              }
              onDone={onChange}
            />
          </div>
          {note.trim() === '' ? <p className="hint">{t('adminNoteNeeded')}</p> : null}
        </div>
      ) : null}
      <Trail flag={flag} />
    </li>
  );
}

/** Review flags: filter, read, act (each action asked twice, sent once), resolve with a note. */
export function Flags({ who }: { who: Me }) {
  const { t } = useI18n();
  const [status, setStatus] = useState<'open' | 'resolved' | 'all'>('open');
  const [code, setCode] = useState('');
  const [type, setType] = useState('');
  const load = useCallback(() => {
    const q = new URLSearchParams({ status, limit: '100' });
    if (/^[A-Z][A-Z0-9_]{0,63}$/.test(code.trim())) q.set('code', code.trim());
    if (type !== '') q.set('resource_type', type);
    return api<{ data: Flag[] }>(`/api/v1/review-flags?${q.toString()}`);
  }, [status, code, type]);
  const flags = useLoad(load);
  return (
    <div>
      <h1>{t('adminFlagsTitle')}</h1>
      <div className="filters">
        <label>
          {t('status')}
          <select name="status" value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
            <option value="open">{t('adminOpen')}</option>
            <option value="resolved">{t('adminResolved')}</option>
            <option value="all">{t('all')}</option>
          </select>
        </label>
        <label>
          {t('adminCode')}
          <input
            value={code}
            placeholder="REFUND_FAILED"
            onChange={(e) => setCode(e.target.value.toUpperCase())}
            aria-describedby="code-hint"
          />
        </label>
        <label>
          {t('adminResourceType')}
          <select value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">{t('all')}</option>
            {['order', 'payment', 'refund', 'recharge', 'top_up', 'reconciliation'].map((x) => (
              <option key={x} value={x}>
                {x}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p id="code-hint" className="hint">
        {t('adminCodeHint')}
      </p>
      {flags.data === undefined ? (
        <Loading error={flags.error} />
      ) : flags.data.data.length === 0 ? (
        <p role="status">{t('adminNoFlags')}</p>
      ) : (
        <ul className="cards">
          {flags.data.data.map((f) => (
            <FlagCard key={`${f.id} ${f.resolved_at ?? ''}`} flag={f} who={who} onChange={flags.reload} />
          ))}
        </ul>
      )}
    </div>
  );
}
