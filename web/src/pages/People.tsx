import { useCallback, useRef, useState } from 'react';
import { ROLES } from '../../../src/domain/auth/permissions.js';
import { api, ApiError, type Me } from '../api.js';
import type { ApiKey, Person } from '../api-admin.js';
import { ConfirmAction, Loading, problemText, useLoad } from '../admin/kit.js';
import { type Key, type T, useI18n, when } from '../i18n.js';
import { KeyForm } from './ApiKeys.js';

const PERSON_ROLES = ROLES.filter((r) => r !== 'agent');

/** The refusals a person change meets, in the reader's language (the rest: code and the service's reason). */
const REFUSALS: Readonly<Record<string, Key>> = {
  SELF_CHANGE_REFUSED: 'adminSelfRefused',
  LAST_ADMIN: 'adminLastAdminRefused',
};

function refusal(e: unknown, t: T): string {
  const key = e instanceof ApiError ? REFUSALS[e.code] : undefined;
  return key === undefined || !(e instanceof ApiError) ? problemText(e, t('error')) : `${e.code}: ${t(key)}`;
}

/** Every person of the tenant, page after page (the API pages by id). */
async function everyone(): Promise<{ data: Person[] }> {
  const data: Person[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const page: { data: Person[]; next_cursor: string | null } = await api(`/api/v1/admin/users?limit=500${query}`);
    data.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return { data };
}

const changePerson = (id: string, body: { role?: string; disabled?: boolean }): Promise<{ user: Person }> =>
  api<{ user: Person }>(`/api/v1/admin/users/${encodeURIComponent(id)}`, { method: 'PATCH', body });

/** A person's role: a labelled select and a button that sends the change once per press. */
function RoleChanger({ person, onDone }: { person: Person; onDone: () => void }) {
  const { t } = useI18n();
  const [role, setRole] = useState(person.role);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const sending = useRef(false);
  const submit = (e: React.FormEvent): void => {
    e.preventDefault();
    if (sending.current || role === person.role) return;
    sending.current = true;
    setBusy(true);
    setNote(null);
    changePerson(person.id, { role })
      .then(
        (r) => {
          setNote({ ok: true, text: t('adminRoleChanged', { who: r.user.id, role: r.user.role }) });
          onDone();
        },
        (err: unknown) => {
          setRole(person.role);
          setNote({ ok: false, text: refusal(err, t) });
        },
      )
      .finally(() => {
        sending.current = false;
        setBusy(false);
      });
  };
  return (
    <form className="inline-form" onSubmit={submit}>
      <select
        name="person-role"
        aria-label={t('adminRoleOf', { who: person.id })}
        value={role}
        onChange={(e) => setRole(e.target.value)}
      >
        {PERSON_ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>{' '}
      <button type="submit" disabled={busy || role === person.role}>
        {busy ? t('working') : t('adminChangeRole')}
      </button>
      {note === null ? null : (
        <span role={note.ok ? 'status' : 'alert'} className={note.ok ? 'good-text' : 'error'}>
          {' '}
          {note.text}
        </span>
      )}
    </form>
  );
}

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
 * People and agents. A person is made with a password (POST /api/v1/admin/users), listed with
 * their role, status, last login and live keys (GET /api/v1/admin/users), given another role or
 * disabled and enabled again (PATCH /api/v1/admin/users/:id); an agent is made with its key,
 * acting for one person, and listed through its keys.
 */
export function People({ who }: { who: Me }) {
  const { t, lang } = useI18n();
  const folks = useLoad(useCallback(() => everyone(), []));
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
          folks.reload();
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
        {folks.data === undefined ? (
          <Loading error={folks.error} />
        ) : (
          <div className="table-wrap">
            <table data-testid="people">
              <caption>{t('adminPeople')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('adminPrincipal')}</th>
                  <th scope="col">{t('adminRole')}</th>
                  <th scope="col">{t('status')}</th>
                  <th scope="col">{t('adminLastLogin')}</th>
                  <th scope="col">{t('adminLiveKeys')}</th>
                  <th scope="col">{t('action')}</th>
                </tr>
              </thead>
              <tbody>
                {folks.data.data.map((p) => (
                  <tr key={p.id} data-person={p.id} data-status={p.status} data-role={p.role}>
                    <th scope="row">
                      {p.id}
                      {p.id === who.principal ? <span className="muted"> {t('adminYou')}</span> : null}
                    </th>
                    <td>
                      <RoleChanger key={p.role} person={p} onDone={folks.reload} />
                    </td>
                    <td>
                      {p.status === 'active' ? t('adminStatusActive') : t('adminStatusDisabled')}
                      {p.disabled_at === null ? null : <span className="muted"> {when(p.disabled_at, lang)}</span>}
                    </td>
                    <td>
                      {p.last_login_at === null
                        ? p.password_set
                          ? t('adminNever')
                          : t('adminNoPassword')
                        : when(p.last_login_at, lang)}
                    </td>
                    <td className={p.live_keys === 0 ? 'num muted' : 'num'}>{p.live_keys}</td>
                    <td>
                      <ConfirmAction
                        key={p.status}
                        danger={p.status === 'active'}
                        testId="person-access"
                        label={p.status === 'active' ? t('adminDisable') : t('adminEnable')}
                        question={t('adminSure', {
                          what: `${p.status === 'active' ? t('adminDisable') : t('adminEnable')} ${p.id}`,
                        })}
                        run={() => changePerson(p.id, { disabled: p.status === 'active' })}
                        onDone={() => {
                          folks.reload();
                          keys.reload();
                        }}
                        describe={(e) => refusal(e, t)}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {keys.data === undefined ? (
          <Loading error={keys.error} />
        ) : (
          table(
            all.filter((p) => p.role === 'agent'),
            t('adminAgents'),
            'agents',
          )
        )}
      </section>
    </div>
  );
}
