import { useEffect, useState } from 'react';
import { api, ApiError, type Me } from '../api.js';
import { useI18n, when, yuan } from '../i18n.js';
import { RECHARGE_STATUSES, type Recharge } from '../ops-api.js';
import { openFeed } from '../live-feed.js';
import { onLinkClick } from '../router.js';
import { Wallet } from './Wallet.js';

interface Filters {
  readonly status: string;
  readonly channel: string;
  readonly phone: string;
}

const NONE: Filters = { status: '', channel: '', phone: '' };

function query(f: Filters, cursor?: string): string {
  const q = new URLSearchParams({ limit: '50' });
  if (f.status !== '') q.set('status', f.status);
  if (f.channel !== '') q.set('channel', f.channel);
  if (f.phone !== '') q.set('phone', f.phone);
  if (cursor !== undefined) q.set('cursor', cursor);
  return q.toString();
}

/** Whether a changed recharge belongs in the filtered list (the phone is masked: the server decides that one). */
const fits = (r: Recharge, f: Filters): boolean =>
  (f.status === '' || r.status === f.status) && (f.channel === '' || r.channel === f.channel) && f.phone === '';

/**
 * The recharges the person may see, newest first, filtered by status, channel and phone, kept
 * current by GET /api/v1/recharges/events (no polling, no reload); the wallet beside them.
 */
export function Recharges({ who }: { who: Me }) {
  const { t, lang } = useI18n();
  const [list, setList] = useState<Recharge[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const [live, setLive] = useState(false);
  /** Bumped when the stream comes back after a break: the page is read again. */
  const [resyncs, setResyncs] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [channels, setChannels] = useState<string[]>([]);

  useEffect(() => {
    api<{ data: Array<{ channel: string }> }>('/api/v1/channels').then(
      (r) => setChannels(r.data.map((c) => c.channel)),
      () => undefined,
    );
  }, []);

  useEffect(() => {
    // Opened before the first page is read, so no change falls between the two.
    return openFeed('/api/v1/recharges/events', 'recharge', {
      onLive: setLive,
      onResync: () => setResyncs((n) => n + 1),
      onEvent: (data) => {
        const { recharge } = JSON.parse(data) as { recharge: Recharge };
        setList((l) => {
          const rest = l.filter((r) => r.id !== recharge.id);
          if (!fits(recharge, filters)) return rest.length === l.length ? l : rest;
          const at = l.findIndex((r) => r.id === recharge.id);
          if (at < 0) return [recharge, ...l];
          return l.map((r) => (r.id === recharge.id ? recharge : r));
        });
      },
    });
  }, [filters]);

  useEffect(() => {
    api<{ data: Recharge[]; next_cursor: string | null }>(`/api/v1/recharges?${query(filters)}`).then(
      (page) => {
        setError(null);
        setList(page.data);
        setCursor(page.next_cursor);
      },
      (e: unknown) => setError(e instanceof ApiError ? `${e.code}: ${e.message}` : t('error')),
    );
  }, [filters, who.actor, t, resyncs]);

  const more = (): void => {
    if (cursor === null) return;
    api<{ data: Recharge[]; next_cursor: string | null }>(`/api/v1/recharges?${query(filters, cursor)}`).then(
      (page) => {
        setList((l) => [...l, ...page.data.filter((r) => !l.some((x) => x.id === r.id))]);
        setCursor(page.next_cursor);
      },
      () => undefined,
    );
  };

  return (
    <div>
      <div className="row">
        <h1>{t('rechargesTitle')}</h1>
        <span className={live ? 'badge live' : 'badge'} role="status" data-testid="live">
          {live ? t('live') : t('connecting')}
        </span>
      </div>
      <Wallet />
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters({ ...draft, phone: draft.phone.trim() });
        }}
      >
        <label className="filter">
          {t('filterStatus')}
          <select value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value })}>
            <option value="">{t('all')}</option>
            {RECHARGE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label className="filter">
          {t('filterChannel')}
          <select value={draft.channel} onChange={(e) => setDraft({ ...draft, channel: e.target.value })}>
            <option value="">{t('all')}</option>
            {channels.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label className="filter">
          {t('filterPhone')}
          <input
            inputMode="tel"
            autoComplete="off"
            value={draft.phone}
            onChange={(e) => setDraft({ ...draft, phone: e.target.value })}
          />
        </label>
        <button type="submit">{t('applyFilters')}</button>
      </form>
      {error === null ? null : (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {list.length === 0 ? (
        <p>{t('noRecharges')}</p>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={t('rechargesTitle')}>
          <table className="orders">
            <caption className="visually-hidden">{t('rechargesTitle')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('recharge')}</th>
                <th scope="col">{t('phone')}</th>
                <th scope="col">{t('amount')}</th>
                <th scope="col">{t('status')}</th>
                <th scope="col">{t('channel')}</th>
                <th scope="col">{t('user_')}</th>
                <th scope="col">{t('created')}</th>
              </tr>
            </thead>
            <tbody>
              {list.map((r) => (
                <tr key={r.id} data-recharge={r.id} data-status={r.status}>
                  <td>
                    <a href={`/recharges/${encodeURIComponent(r.id)}`} onClick={onLinkClick}>
                      {r.id}
                    </a>
                  </td>
                  <td>{r.phone}</td>
                  <td className="num">{yuan(r.amount, r.currency)}</td>
                  <td>
                    <span className={`status s-${r.status.toLowerCase()}`}>{r.status}</span>
                  </td>
                  <td>{r.channel ?? '—'}</td>
                  <td>{r.user_id}</td>
                  <td>{when(r.created_at, lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor === null ? null : (
        <button type="button" onClick={more}>
          {t('loadMore')}
        </button>
      )}
    </div>
  );
}
