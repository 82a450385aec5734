import { useCallback, useRef, useState } from 'react';
import { ROLES } from '../../../src/domain/auth/permissions.js';
import { api } from '../api.js';
import type { ApiKey } from '../api-admin.js';
import { ConfirmAction, Loading, problemText, useLoad } from '../admin/kit.js';
import { useI18n, when } from '../i18n.js';

/**
 * The key just made, shown this once: it lives in this component's state only (never in
 * storage, never in the URL), so leaving the page or reloading it loses it for good — as the
 * service, which keeps only a hash, intends.
 */
function SecretOnce({ secret, principal, onDismiss }: { secret: string; principal: string; onDismiss: () => void }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState<string | null>(null);
  const code = useRef<HTMLElement>(null);
  const copy = (): void => {
    navigator.clipboard.writeText(secret).then(
      () => setCopied(t('adminCopied')),
      () => {
        // No clipboard (an insecure origin): select it, so Ctrl+C copies it.
        const range = document.createRange();
        if (code.current !== null) range.selectNodeContents(code.current);
        getSelection()?.removeAllRanges();
        getSelection()?.addRange(range);
        setCopied(t('adminCopyManually'));
      },
    );
  };
  return (
    <section className="secret" aria-labelledby="h-secret" data-testid="new-key">
      <h2 id="h-secret">{t('adminKeyMade', { who: principal })}</h2>
      <p>{t('adminKeyOnce')}</p>
      <code ref={code} data-testid="secret">
        {secret}
      </code>
      <div className="actions">
        <button type="button" className="primary" onClick={copy}>
          {t('adminCopy')}
        </button>
        <button type="button" onClick={onDismiss}>
          {t('adminDoneSaved')}
        </button>
        <span role="status">{copied}</span>
      </div>
    </section>
  );
}

/** Creates an API key (the secret shown once) for a new principal. Used by the keys and people pages. */
export function KeyForm({ roles, onMade }: { roles: readonly string[]; onMade: () => void }) {
  const { t } = useI18n();
  const [role, setRole] = useState(roles[0] ?? 'agent');
  const [user, setUser] = useState('');
  const [actsFor, setActsFor] = useState('');
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [made, setMade] = useState<{ key: string; principal: string } | null>(null);

  const submit = (e: React.FormEvent): void => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    api<{ key: string; api_key: ApiKey }>('/api/v1/admin/keys', {
      body: {
        role,
        user: user.trim(),
        ...(role === 'agent' && actsFor.trim() !== '' ? { acts_for: actsFor.trim() } : {}),
        ...(expires === '' ? {} : { expires_at: new Date(expires).toISOString() }),
      },
    })
      .then(
        (r) => {
          setMade({ key: r.key, principal: r.api_key.principal });
          setUser('');
          setActsFor('');
          onMade();
        },
        (err: unknown) => setError(problemText(err, t('error'))),
      )
      .finally(() => setBusy(false));
  };

  return (
    <>
      {made === null ? null : (
        <SecretOnce secret={made.key} principal={made.principal} onDismiss={() => setMade(null)} />
      )}
      <form className="stack" onSubmit={submit} aria-label={t('adminNewKey')}>
        <label>
          {t('adminRole')}
          <select name="role" value={role} onChange={(e) => setRole(e.target.value)}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('adminPrincipal')}
          <input name="user" required value={user} onChange={(e) => setUser(e.target.value)} autoComplete="off" />
        </label>
        {role === 'agent' ? (
          <label>
            {t('adminActsFor')}
            <input name="acts_for" required value={actsFor} onChange={(e) => setActsFor(e.target.value)} />
          </label>
        ) : null}
        <label>
          {t('adminExpires')}
          <input name="expires_at" type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
        </label>
        <div>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? t('working') : t('adminCreateKey')}
          </button>
        </div>
        {error === null ? null : (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </>
  );
}

/** API keys: what exists (never the key itself), a new one shown once, and revoking with a confirm. */
export function ApiKeys() {
  const { t, lang } = useI18n();
  const keys = useLoad(useCallback(() => api<{ data: ApiKey[] }>('/api/v1/admin/keys'), []));
  return (
    <div>
      <h1>{t('adminKeysTitle')}</h1>
      <h2>{t('adminNewKey')}</h2>
      <KeyForm roles={ROLES} onMade={keys.reload} />
      <h2>{t('adminKeysTitle')}</h2>
      {keys.data === undefined ? (
        <Loading error={keys.error} />
      ) : (
        <div className="table-wrap">
          <table data-testid="keys">
            <thead>
              <tr>
                <th scope="col">{t('adminPrefix')}</th>
                <th scope="col">{t('adminPrincipal')}</th>
                <th scope="col">{t('adminRole')}</th>
                <th scope="col">{t('created')}</th>
                <th scope="col">{t('status')}</th>
                <th scope="col">{t('action')}</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.data.map((k) => (
                <tr key={k.id} data-key={k.id} data-principal={k.principal}>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>
                    {k.principal}
                    {k.acts_for === null ? null : <span className="muted"> → {k.acts_for}</span>}
                  </td>
                  <td>{k.role}</td>
                  <td>
                    {when(k.created_at, lang)} · {k.created_by}
                  </td>
                  <td>
                    {k.revoked_at !== null
                      ? `${t('adminRevoked')} ${when(k.revoked_at, lang)}`
                      : k.expires_at !== null
                        ? `${t('adminExpiresAt')} ${when(k.expires_at, lang)}`
                        : t('adminActive')}
                  </td>
                  <td>
                    {k.revoked_at === null ? (
                      <ConfirmAction
                        danger
                        label={t('adminRevoke')}
                        question={t('adminSure', { what: `${t('adminRevoke')} ${k.prefix}…` })}
                        run={() => api(`/api/v1/admin/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' })}
                        onDone={keys.reload}
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
