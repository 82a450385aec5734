import { useCallback, useEffect, useRef, useState } from 'react';
import {
  can as canRole,
  DEPLOYMENT_PERMISSIONS,
  isRole,
  type Permission,
} from '../../../src/domain/auth/permissions.js';
import { ApiError, type Me } from '../api.js';
import { useI18n } from '../i18n.js';
import { onLinkClick } from '../router.js';
import './admin.css';

/**
 * Whether the signed-in role may do this, read from the service's own permission table. It only
 * decides what is shown: the API checks every request again.
 */
export function may(who: Me, permission: Permission): boolean {
  // The deployment's screens (reconciliations) only for its home tenant's credentials, as the API decides.
  return (
    isRole(who.role) && canRole(who.role, permission) && (who.deployment || !DEPLOYMENT_PERMISSIONS.has(permission))
  );
}

/** A refused request as a person reads it: its stable code and the service's reason. */
export function problemText(e: unknown, fallback: string): string {
  return e instanceof ApiError ? `${e.code}: ${e.message}` : fallback;
}

/** A GET that loads on mount and again on `reload()`; its error is kept to be shown. */
export function useLoad<T>(load: () => Promise<T>): {
  data: T | undefined;
  error: unknown;
  reload: () => void;
} {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (v) => {
        if (!live) return;
        setData(v);
        setError(undefined);
      },
      (e: unknown) => {
        if (live) setError(e);
      },
    );
    return () => {
      live = false;
    };
  }, [load, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { data, error, reload };
}

/** The error of a load, or an ellipsis while it runs. */
export function Loading({ error }: { error: unknown }) {
  const { t } = useI18n();
  return error === undefined ? (
    <p aria-live="polite">…</p>
  ) : (
    <p role="alert" className="error">
      {problemText(error, t('error'))}
    </p>
  );
}

/** The tabs of one area (money, admin): in-app links, the current one marked for screen readers. */
export function SubNav({ label, links, path }: { label: string; links: [string, string][]; path: string }) {
  return (
    <nav className="subnav" aria-label={label}>
      {links.map(([href, text]) => (
        <a
          key={href}
          href={href}
          onClick={onLinkClick}
          aria-current={path === href || path.startsWith(`${href}/`) ? 'page' : undefined}
        >
          {text}
        </a>
      ))}
    </nav>
  );
}

/**
 * A button whose action moves money or credentials: the first press only asks ("Are you sure?"),
 * the second sends, once. The lock is a ref set before React renders again, so a double click on
 * the confirming button is one request; after it answered, the button stays done.
 */
export function ConfirmAction({
  label,
  question,
  run,
  onDone,
  disabled = false,
  danger = false,
  testId,
  describe,
}: {
  label: string;
  question: string;
  run: () => Promise<unknown>;
  onDone?: (result: unknown) => void;
  disabled?: boolean;
  danger?: boolean;
  testId?: string;
  /** How a refusal reads (default: its code and the service's reason). */
  describe?: (e: unknown) => string;
}) {
  const { t } = useI18n();
  const [stage, setStage] = useState<'idle' | 'asking' | 'sending' | 'done'>('idle');
  const [error, setError] = useState<string | null>(null);
  const sent = useRef(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const openRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (stage === 'asking') confirmRef.current?.focus();
  }, [stage]);

  const send = (): void => {
    if (sent.current) return;
    sent.current = true;
    setStage('sending');
    setError(null);
    run().then(
      (r) => {
        setStage('done');
        onDone?.(r);
      },
      (e: unknown) => {
        // Refused: nothing happened, so it may be asked again (a new press, a new question).
        sent.current = false;
        setStage('idle');
        setError(describe === undefined ? problemText(e, t('error')) : describe(e));
      },
    );
  };

  if (stage === 'idle' || stage === 'done')
    return (
      <span className="confirm-action" data-testid={testId}>
        <button
          type="button"
          ref={openRef}
          className={danger ? 'danger' : undefined}
          disabled={disabled || stage === 'done'}
          onClick={() => setStage('asking')}
        >
          {stage === 'done' ? `${label} ✓` : label}
        </button>
        {error === null ? null : (
          <span role="alert" className="error">
            {error}
          </span>
        )}
      </span>
    );
  return (
    <span className="confirm-action asking" role="group" aria-label={question} data-testid={testId}>
      <span className="question">{question}</span>
      <button
        type="button"
        ref={confirmRef}
        className={danger ? 'danger primary' : 'primary'}
        disabled={stage === 'sending'}
        onClick={send}
      >
        {stage === 'sending' ? t('working') : t('adminYesDoIt')}
      </button>
      <button
        type="button"
        disabled={stage === 'sending'}
        onClick={() => {
          setStage('idle');
          queueMicrotask(() => openRef.current?.focus());
        }}
      >
        {t('cancel')}
      </button>
    </span>
  );
}

/** "2026-12-05" in Asia/Shanghai (the business day statements are cut on), from the browser's clock. */
export function shanghaiToday(now = Date.now()): string {
  return new Date(now + 8 * 3_600_000).toISOString().slice(0, 10);
}
