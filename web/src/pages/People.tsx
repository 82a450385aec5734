import { useCallback, useState } from 'react';
import { ROLES } from '../../../src/domain/auth/permissions.js';
import { api } from '../api.js';
import type { ApiKey } from '../api-admin.js';
import { Loading, problemText, useLoad } from '../admin/kit.js';
import { useI18n } from '../i18n.js';
import { KeyForm } from './ApiKeys.js';

interface Principal {
  readonly id: string;
  readonly role: string;
  readonly actsFor: string | null;
  readonly live: number;
}

/** The principals the keys name, one row each (a person, an agent), with how many live keys they hold. */
function principalsOf(keys: readonly ApiKey[]): Principal[] {
  const by = new Map<string, Principal>();
  for (const k of keys) {
    const p = by.get(k.principal) ?? { id: k.principal, role: k.role, actsFor: k.acts_for, live: 0 };
    by.set(k.principal, { ...p, live: p.live + (k.revoked_at === null ? 1 : 0) });
  }
  return [...by.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * People and agents. A person is made with a password (POST /api/v1/admin/users); an agent is
 * made with its key, acting for one person. The API has no list of people, nor role changes or
 * disabling: what is listed are the principals that hold keys, and a principal is disabled by
 * revoking its keys.
 */
export function People() {
  const { t } = useI18n();
  const keys = useLoad(useCallback(() => api<{ data: ApiKey[] }>('/api/v1/admin/keys'), []));
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('user');
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);

  const create = (e: React.FormEvent): void => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setNote(null);
    api<{ user: { id: string; role: string } }>('/api/v1/admin/users', {
      body: { user: user.trim(), password, role },
    })
      .then(
        (r) => {
          setNote({ ok: true, text: t('adminUserMade', { who: r.user.id, role: r.user.role }) });
          setUser('');
          setPassword('');
        },
        (err: unknown) => setNote({ ok: false, text: problemText(err, t('error')) }),
      )
      .finally(() => setBusy(false));
  };

  const all = keys.data === undefined ? [] : principalsOf(keys.data.data);
  const table = (rows: Principal[], caption: string, testId: string) => (
    <div className="table-wrap">
      <table data-testid={testId}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t('adminPrincipal')}</th>
            <th scope="col">{t('adminRole')}</th>
            <th scope="col">{t('adminActsFor')}</th>
            <th scope="col">{t('adminLiveKeys')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((p) => (
            <tr key={p.id}>
              <td>{p.id}</td>
              <td>{p.role}</td>
              <td>{p.actsFor ?? '—'}</td>
              <td className={p.live === 0 ? 'num muted' : 'num'}>{p.live}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );

  return (
    <div>
      <h1>{t('adminPeopleTitle')}</h1>
      <section aria-labelledby="h-new-person">
        <h2 id="h-new-person">{t('adminNewPerson')}</h2>
        <form className="stack" onSubmit={create}>
          <label>
            {t('user')}
            <input name="new-user" required autoComplete="off" value={user} onChange={(e) => setUser(e.target.value)} />
          </label>
          <label>
            {t('password')}
            <input
              name="new-password"
              type="password"
              required
              minLength={10}
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          <label>
            {t('adminRole')}
            <select name="new-role" value={role} onChange={(e) => setRole(e.target.value)}>
              {ROLES.filter((r) => r !== 'agent').map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          <div>
            <button type="submit" className="primary" disabled={busy}>
              {busy ? t('working') : t('adminCreatePerson')}
            </button>
          </div>
          {note === null ? null : (
            <p role={note.ok ? 'status' : 'alert'} className={note.ok ? 'good-text' : 'error'}>
              {note.text}
            </p>
          )}
        </form>
      </section>
      <section aria-labelledby="h-new-agent">
        <h2 id="h-new-agent">{t('adminNewAgent')}</h2>
        <p className="hint">{t('adminAgentHint')}</p>
        <KeyForm roles={['agent']} onMade={keys.reload} />
      </section>
      <section aria-labelledby="h-principals">
        <h2 id="h-principals">{t('adminPrincipals')}</h2>
        <p className="hint">{t('adminPeopleHint')}</p>
        {keys.data === undefined ? (
          <Loading error={keys.error} />
        ) : (
          <>
            {table(
              all.filter((p) => p.role !== 'agent'),
              t('adminPeople'),
              'people',
            )}
            {table(
              all.filter((p) => p.role === 'agent'),
              t('adminAgents'),
              'agents',
            )}
          </>
        )}
      </section>
    </div>
  );
}
