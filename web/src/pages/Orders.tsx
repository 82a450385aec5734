import { useEffect, useState } from 'react';
import { ORDER_STATUSES } from '../../../src/domain/order.js';
import { api, type Me, type Order } from '../api.js';
import { useI18n, when, yuan } from '../i18n.js';
import { openFeed } from '../live-feed.js';
import { onLinkClick } from '../router.js';

/** Every status but CREATED (an order leaves it in the transaction that made it). */
const STATUSES = ORDER_STATUSES.filter((s) => s !== 'CREATED');

/**
 * The orders the person may see, newest first, kept current by the service's event stream
 * (GET /api/v1/orders/events): no polling, and no reload to see an order move.
 */
export function Orders({ who }: { who: Me }) {
  const { t, lang } = useI18n();
  const [orders, setOrders] = useState<Order[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [live, setLive] = useState(false);
  /** Bumped when the stream comes back after a break: the page is read again. */
  const [resyncs, setResyncs] = useState(0);

  useEffect(() => {
    // Opened before the first page is read, so no change falls between the two.
    return openFeed('/api/v1/orders/events', 'order', {
      onLive: setLive,
      onResync: () => setResyncs((n) => n + 1),
      onEvent: (data) => {
        const { order } = JSON.parse(data) as { order: Order };
        setOrders((list) => [order, ...list.filter((o) => o.id !== order.id)]);
      },
    });
  }, []);

  useEffect(() => {
    const q = new URLSearchParams({ limit: '50' });
    if (status !== '') q.set('status', status);
    api<{ data: Order[]; next_cursor: string | null }>(`/api/v1/orders?${q.toString()}`).then(
      (page) => {
        setOrders(page.data);
        setCursor(page.next_cursor);
      },
      () => undefined,
    );
  }, [status, who.actor, resyncs]);

  const more = (): void => {
    if (cursor === null) return;
    const q = new URLSearchParams({ limit: '50', cursor });
    if (status !== '') q.set('status', status);
    api<{ data: Order[]; next_cursor: string | null }>(`/api/v1/orders?${q.toString()}`).then(
      (page) => {
        setOrders((list) => [...list, ...page.data.filter((o) => !list.some((x) => x.id === o.id))]);
        setCursor(page.next_cursor);
      },
      () => undefined,
    );
  };

  const shown = status === '' ? orders : orders.filter((o) => o.status === status);
  return (
    <div>
      <div className="row">
        <h1>{t('ordersTitle')}</h1>
        <span className={live ? 'badge live' : 'badge'} role="status" data-testid="live">
          {live ? t('live') : t('connecting')}
        </span>
      </div>
      <label className="filter">
        {t('filterStatus')}
        <select value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">{t('all')}</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      {shown.length === 0 ? (
        <p>{t('noOrders')}</p>
      ) : (
        <div className="table-wrap">
          <table className="orders">
            <caption className="visually-hidden">{t('ordersTitle')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('order')}</th>
                <th scope="col">{t('description')}</th>
                <th scope="col">{t('amount')}</th>
                <th scope="col">{t('status')}</th>
                <th scope="col">{t('user_')}</th>
                <th scope="col">{t('created')}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((o) => (
                <tr key={o.id} data-order={o.id} data-status={o.status}>
                  <td>
                    <a href={`/orders/${encodeURIComponent(o.id)}`} onClick={onLinkClick}>
                      {o.id}
                    </a>
                  </td>
                  <td>{o.description}</td>
                  <td className="num">{yuan(o.amount, o.currency)}</td>
                  <td>
                    <span className={`status s-${o.status.toLowerCase()}`}>{o.status_text}</span>
                  </td>
                  <td>{o.user_id}</td>
                  <td>{when(o.created_at, lang)}</td>
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
