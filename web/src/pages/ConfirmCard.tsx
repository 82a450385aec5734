import { useEffect, useRef, useState } from 'react';
import { api, ApiError, type Confirmation, type Order } from '../api.js';
import { useI18n, yuan } from '../i18n.js';

/** Where a card stands; kept with the conversation so a reload shows the same. */
export type Decision = 'open' | 'confirming' | 'cancelling' | 'confirmed' | 'cancelled';

/**
 * What the policy held back, in full, with Confirm and Cancel that send at most one request: the
 * first press locks the card (synchronously, before React renders again, so a double click is one
 * press), and the request carries an Idempotency-Key tied to this confirmation, so even a resent
 * one is answered with the first one's result.
 */
export function ConfirmCard({
  confirm,
  decision,
  onDecision,
}: {
  confirm: Confirmation;
  decision: Decision;
  onDecision: (d: Decision, order?: Order) => void;
}) {
  const { t } = useI18n();
  const pressed = useRef(decision !== 'open');
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = `console-${confirm.order_id ?? confirm.body?.digest ?? confirm.path}`;

  // After a reload: what became of the order since (confirmed here, elsewhere, or expired).
  useEffect(() => {
    if (confirm.order_id === undefined) return;
    api<{ order: Order }>(`/api/v1/orders/${encodeURIComponent(confirm.order_id)}`).then(
      (r) => {
        setStatus(r.order.status_text);
        if (r.order.status !== 'AWAITING_CONFIRMATION' && decision === 'open') {
          pressed.current = true;
          onDecision(r.order.status === 'CANCELLED' ? 'cancelled' : 'confirmed', r.order);
        }
      },
      () => undefined,
    );
    // Once per card: the order's state when the card is shown.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [confirm.order_id]);

  const act = (what: 'confirm' | 'cancel'): void => {
    if (pressed.current) return;
    pressed.current = true;
    setError(null);
    onDecision(what === 'confirm' ? 'confirming' : 'cancelling');
    const request =
      what === 'confirm'
        ? api<{ order?: Order }>(confirm.path, { body: confirm.body ?? {}, idempotencyKey: `${key}-confirm` })
        : api<{ order?: Order }>(`/api/v1/orders/${encodeURIComponent(confirm.order_id ?? '')}/cancel`, {
            body: {},
            idempotencyKey: `${key}-cancel`,
          });
    request.then(
      (r) => {
        if (r.order !== undefined) setStatus(r.order.status_text);
        onDecision(what === 'confirm' ? 'confirmed' : 'cancelled', r.order);
      },
      (e: unknown) => {
        // Refused (nothing ran): the person may try again.
        pressed.current = false;
        setError(e instanceof ApiError ? `${e.code}: ${e.message}` : t('error'));
        onDecision('open');
      },
    );
  };

  const locked = decision !== 'open';
  const cancellable = confirm.order_id !== undefined;
  return (
    <section className="card confirm" aria-label={t('confirmTitle')}>
      <h2>{t('confirmTitle')}</h2>
      <dl>
        <dt>{t('item')}</dt>
        <dd>{confirm.what}</dd>
        {confirm.amount === undefined ? null : (
          <>
            <dt>{t('amount')}</dt>
            <dd className="amount">{yuan(confirm.amount, confirm.currency)}</dd>
          </>
        )}
        <dt>{t('payee')}</dt>
        <dd>{confirm.payee ?? '—'}</dd>
        <dt>{t('method')}</dt>
        <dd>{confirm.payment_method ?? '—'}</dd>
        <dt>{t('mandate')}</dt>
        <dd>{confirm.mandate ?? t('none')}</dd>
        {status === null ? null : (
          <>
            <dt>{t('status')}</dt>
            <dd data-testid="card-status">{status}</dd>
          </>
        )}
      </dl>
      {error === null ? null : (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="actions" aria-live="polite">
        {decision === 'confirmed' ? <strong>{t('confirmed')}</strong> : null}
        {decision === 'cancelled' ? <strong>{t('cancelled')}</strong> : null}
        {decision === 'confirming' || decision === 'cancelling' ? <span>{t('working')}</span> : null}
        {decision === 'open' ? (
          <>
            <button type="button" className="primary" disabled={locked} onClick={() => act('confirm')}>
              {t('confirm')}
            </button>
            {cancellable ? (
              <button type="button" disabled={locked} onClick={() => act('cancel')}>
                {t('cancel')}
              </button>
            ) : null}
          </>
        ) : null}
      </div>
    </section>
  );
}
