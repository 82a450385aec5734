import { useEffect, useState } from 'react';
import { ApiError, csrf, refresh } from '../api.js';
import { useI18n } from '../i18n.js';
import type { Batch as BatchView } from '../ops-api.js';
import { navigate } from '../router.js';

/** Later of two standings of one batch (a stream's first event and a change may cross). */
const ahead = (a: BatchView, b: BatchView): boolean =>
  a.finished + a.accepted + a.rejected_count >= b.finished + b.accepted + b.rejected_count;

async function upload(file: File): Promise<BatchView> {
  const send = (): Promise<Response> =>
    fetch('/api/v1/recharges/batch', {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'content-type': 'text/csv',
        accept: 'application/json',
        'x-csrf-token': csrf(),
        // One file chosen once is one batch, however often the button is pressed.
        'idempotency-key': `console-batch-${file.name}-${file.size}-${file.lastModified}`,
      },
      body: file,
    });
  let res = await send();
  if (res.status === 401 && (await refresh())) res = await send();
  const json = (await res.json()) as { batch?: BatchView; code?: string; detail?: string };
  if (!res.ok || json.batch === undefined) throw new ApiError(res.status, json.code ?? 'ERROR', json.detail ?? '');
  return json.batch;
}

/**
 * Batch recharge: upload a CSV, then a live progress bar fed by GET /api/v1/batches/:id/events.
 * The batch's id is in the address (/batches/:id), so a reload shows the same batch's progress.
 */
export function Batch({ id }: { id: string | null }) {
  const { t } = useI18n();
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [seen, setSeen] = useState<BatchView | null>(null);
  // Only the batch in the address counts: another one's standing is never shown under its id.
  const batch = seen !== null && seen.id === id ? seen : null;

  useEffect(() => {
    if (id === null) return;
    const stream = new EventSource(`/api/v1/batches/${encodeURIComponent(id)}/events`);
    stream.addEventListener('batch', (e: MessageEvent<string>) => {
      const { batch: now } = JSON.parse(e.data) as { batch: BatchView };
      setSeen((b) => (b === null || b.id !== now.id || ahead(now, b) ? now : b));
      // Every row has its answer: nothing more will come.
      if (now.done) stream.close();
    });
    return () => stream.close();
  }, [id]);

  const submit = (e: React.FormEvent): void => {
    e.preventDefault();
    if (file === null || busy) return;
    setBusy(true);
    setError(null);
    upload(file)
      .then(
        (b) => navigate(`/batches/${encodeURIComponent(b.id)}`),
        (err: unknown) => setError(err instanceof ApiError ? `${err.code}: ${err.message}` : t('error')),
      )
      .finally(() => setBusy(false));
  };

  const total = batch === null ? 0 : batch.rows;
  const answered = batch === null ? 0 : batch.finished + batch.rejected_count;
  const percent = total === 0 ? 0 : Math.floor((answered * 100) / total);
  const running = batch === null ? 0 : batch.accepted - batch.finished;

  return (
    <div>
      <h1>{t('batchTitle')}</h1>
      <form className="inline" onSubmit={submit}>
        <label>
          {t('batchFile')}
          <input
            type="file"
            accept=".csv,text/csv"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            data-testid="batch-file"
          />
        </label>
        <button type="submit" disabled={busy || file === null}>
          {busy ? t('uploading') : t('upload')}
        </button>
      </form>
      {error === null ? null : (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {id === null || batch === null ? null : (
        <section aria-labelledby="h-progress" className="card">
          <h2 id="h-progress">{t('batchProgress', { id })}</h2>
          <progress
            max={100}
            value={percent}
            aria-labelledby="h-progress"
            aria-valuetext={`${percent}%`}
            data-testid="batch-progress"
          />
          <span className="num" data-testid="batch-percent">
            {percent}%
          </span>
          <dl className="facts counts">
            <dt>{t('batchRows')}</dt>
            <dd>{batch.rows}</dd>
            <dt>{t('succeeded')}</dt>
            <dd data-testid="batch-succeeded">{batch.succeeded}</dd>
            <dt>{t('failed')}</dt>
            <dd data-testid="batch-failed">{batch.failed}</dd>
            <dt>{t('inProgress')}</dt>
            <dd>{running}</dd>
            <dt>{t('pendingRows')}</dt>
            <dd>{batch.pending}</dd>
            <dt>{t('rejectedRows')}</dt>
            <dd>{batch.rejected_count}</dd>
          </dl>
          {batch.status === 'held' ? <p role="status">{t('batchHeld')}</p> : null}
          <p role="status">{batch.done ? t('batchDone') : null}</p>
          {batch.rejected.length === 0 ? null : (
            <ul>
              {batch.rejected.map((r) => (
                <li key={r.line}>
                  #{r.line} {r.code}: {r.message}
                </li>
              ))}
            </ul>
          )}
          <p>
            <a href={`/api/v1/batches/${encodeURIComponent(id)}/results`} download data-testid="batch-results">
              {t('downloadResults')}
            </a>
          </p>
        </section>
      )}
    </div>
  );
}
