import { useCallback, useState } from 'react';
import { api, type Me } from '../api.js';
import type { Block } from '../api-admin.js';
import { ConfirmAction, Loading, may, useLoad } from '../admin/kit.js';
import { useI18n, when } from '../i18n.js';

/** Blocked sources: what is blocked, why and until when; block one by hand; lift one early. */
export function Blocks({ who }: { who: Me }) {
  const { t, lang } = useI18n();
  const blocks = useLoad(useCallback(() => api<{ data: Block[] }>('/api/v1/admin/blocks'), []));
  const manage = may(who, 'blocks.manage');
  const [kind, setKind] = useState<'ip' | 'credential'>('ip');
  const [value, setValue] = useState('');
  const [minutes, setMinutes] = useState('60');
  const [note, setNote] = useState('');
  const source = `${kind}:${value.trim()}`;
  const ready = value.trim() !== '' && note.trim() !== '' && /^\d{1,6}$/.test(minutes) && Number(minutes) > 0;

  return (
    <div>
      <h1>{t('adminBlocksTitle')}</h1>
      {manage ? (
        <section aria-labelledby="h-block">
          <h2 id="h-block">{t('adminBlockSource')}</h2>
          <div className="stack">
            <label>
              {t('adminSourceKind')}
              <select name="kind" value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
                <option value="ip">{t('adminIp')}</option>
                <option value="credential">{t('adminCredentialHash')}</option>
              </select>
            </label>
            <label>
              {kind === 'ip' ? t('adminIp') : t('adminCredentialHash')}
              <input name="source" value={value} onChange={(e) => setValue(e.target.value)} placeholder="203.0.113.7" />
            </label>
            <label>
              {t('adminMinutes')}
              <input name="minutes" inputMode="numeric" value={minutes} onChange={(e) => setMinutes(e.target.value)} />
            </label>
            <label>
              {t('adminNoteLabel')}
              <input name="note" value={note} maxLength={500} onChange={(e) => setNote(e.target.value)} />
            </label>
            <div>
              <ConfirmAction
                key={source}
                danger
                testId="block"
                label={t('adminBlock')}
                question={t('adminSure', { what: `${t('adminBlock')} ${source}` })}
                disabled={!ready}
                run={() =>
                  api('/api/v1/admin/blocks', { body: { source, minutes: Number(minutes), note: note.trim() } })
                }
                onDone={() => {
                  setValue('');
                  setNote('');
                  blocks.reload();
                }}
              />
            </div>
          </div>
        </section>
      ) : null}
      <h2>{t('adminBlocked')}</h2>
      {blocks.data === undefined ? (
        <Loading error={blocks.error} />
      ) : blocks.data.data.length === 0 ? (
        <p role="status">{t('adminNoBlocks')}</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="blocks">
            <thead>
              <tr>
                <th scope="col">{t('adminSource')}</th>
                <th scope="col">{t('adminWhy')}</th>
                <th scope="col">{t('created')}</th>
                <th scope="col">{t('adminUntil')}</th>
                <th scope="col">{t('action')}</th>
              </tr>
            </thead>
            <tbody>
              {blocks.data.data.map((b) => (
                <tr key={b.id} data-block={b.id} data-source={b.source}>
                  <td>
                    <code>{b.source}</code>
                  </td>
                  <td>
                    {b.kind}
                    <span className="muted">
                      {' '}
                      (
                      {Object.entries(b.reasons)
                        .filter(([, n]) => n > 0)
                        .map(([k, n]) => `${k} ×${n}`)
                        .join(', ')}
                      )
                    </span>
                  </td>
                  <td>{when(b.created_at, lang)}</td>
                  <td>{when(b.until, lang)}</td>
                  <td>
                    {manage ? (
                      <ConfirmAction
                        label={t('adminUnblock')}
                        question={t('adminSure', { what: `${t('adminUnblock')} ${b.source}` })}
                        run={() => api(`/api/v1/admin/blocks/${encodeURIComponent(b.id)}`, { method: 'DELETE' })}
                        onDone={blocks.reload}
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
