import { useState } from 'react';
import { ApiError, login } from '../api.js';
import { useI18n } from '../i18n.js';

export function Login({ onDone }: { onDone: () => void }) {
  const { t } = useI18n();
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [tenant, setTenant] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = (e: React.FormEvent): void => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    login({ user, password, ...(tenant === '' ? {} : { tenant }) })
      .then(onDone, (err: unknown) => setError(err instanceof ApiError ? err.message : t('error')))
      .finally(() => setBusy(false));
  };

  return (
    <form className="card login" onSubmit={submit} aria-labelledby="login-title">
      <h1 id="login-title">{t('loginTitle')}</h1>
      <label>
        {t('user')}
        <input name="user" autoComplete="username" required value={user} onChange={(e) => setUser(e.target.value)} />
      </label>
      <label>
        {t('password')}
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <details>
        <summary>{t('tenant')}</summary>
        <label>
          {t('tenant')}
          <input name="tenant" placeholder="default" value={tenant} onChange={(e) => setTenant(e.target.value)} />
        </label>
      </details>
      {error === null ? null : (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? t('loggingIn') : t('loginButton')}
      </button>
      <p className="hint">{t('loginHint')}</p>
    </form>
  );
}
