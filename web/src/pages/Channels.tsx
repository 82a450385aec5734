import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api } from '../api.js';
import { useI18n } from '../i18n.js';
import type { Bucket, ChannelNow, GatewayNow, History } from '../ops-api.js';

/** How often the page asks for the history again (the service keeps it; the charts only draw it). */
const REFRESH_MS = 5_000;

const COLOURS = ['#1565c0', '#c62828', '#2e7d32', '#6a1b9a', '#ef6c00', '#00838f'];

type Metric = 'success' | 'latency' | 'load' | 'breaker';

const BREAKER_LEVEL: Record<Bucket['breaker'], number> = { closed: 0, half_open: 0.5, open: 1 };

/** One chart's data: shared time axis (seconds), then one series per channel (two for latency). */
function seriesOf(h: History, metric: Metric): { data: uPlot.AlignedData; names: string[] } {
  const times = [...new Set(h.data.flatMap((c) => c.buckets.map((b) => b.start)))].sort((a, b) => a - b);
  const cols: Array<Array<number | null>> = [];
  const names: string[] = [];
  for (const c of h.data) {
    const at = new Map(c.buckets.map((b) => [b.start, b]));
    const col = (f: (b: Bucket) => number | null): Array<number | null> =>
      times.map((t) => {
        const b = at.get(t);
        return b === undefined ? null : f(b);
      });
    if (metric === 'latency') {
      cols.push(
        col((b) => b.p50_latency_ms),
        col((b) => b.p99_latency_ms),
      );
      names.push(`${c.channel} p50`, `${c.channel} p99`);
    } else if (metric === 'success') {
      cols.push(col((b) => (b.success_rate === null ? null : b.success_rate * 100)));
      names.push(c.channel);
    } else if (metric === 'load') {
      cols.push(col((b) => (b.capacity <= 0 ? 0 : (b.max_in_flight * 100) / b.capacity)));
      names.push(c.channel);
    } else {
      // Open at any moment of a bucket shows as open: a breaker that opened and closed within 10 s still shows.
      cols.push(col((b) => (b.breaker_opened ? 1 : BREAKER_LEVEL[b.breaker])));
      names.push(c.channel);
    }
  }
  return { data: [times.map((t) => t / 1000), ...cols] as uPlot.AlignedData, names };
}

function Chart({ history, metric, title }: { history: History; metric: Metric; title: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { data, names } = seriesOf(history, metric);
  const key = names.join('|');

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const stepped = uPlot.paths.stepped?.({ align: 1 });
    const width = Math.max(280, Math.min(720, el.clientWidth || 600));
    const opts: uPlot.Options = {
      width,
      height: 180,
      legend: { show: true },
      scales: {
        // A lone bucket (a fresh start) would stretch the axis over years: show a minute each side.
        x: { time: true, range: (_u, min, max) => (min === max ? [min - 60, max + 60] : [min, max]) },
        ...(metric === 'breaker' ? { y: { range: [0, 1] } } : metric === 'latency' ? {} : { y: { range: [0, 100] } }),
      },
      axes: [{}, { size: 48 }],
      series: [
        {},
        ...names.map((n, i) => ({
          label: n,
          stroke: COLOURS[(metric === 'latency' ? Math.floor(i / 2) : i) % COLOURS.length] ?? '#000',
          width: 2,
          spanGaps: metric !== 'success',
          ...(metric === 'breaker' && stepped !== undefined ? { paths: stepped } : {}),
          ...(metric === 'latency' && i % 2 === 1 ? { dash: [6, 4] } : {}),
        })),
      ],
    };
    plot.current?.destroy();
    plot.current = new uPlot(opts, [[]], el);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuilt only when the series change; new data goes through setData below.
  }, [key, metric]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <figure className="chart" data-metric={metric}>
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={title} />
    </figure>
  );
}

/**
 * Recharge channels over time (success rate, p50/p99 latency, load, breaker) from the service's
 * bounded history, each channel's routing score and share of the next calls, and the payment
 * gateways' breakers beside them. Charts with uPlot (bundled, no eval: the page's CSP holds).
 */
export function Channels() {
  const { t } = useI18n();
  const [history, setHistory] = useState<History | null>(null);
  const [now, setNow] = useState<ChannelNow[]>([]);
  const [gateways, setGateways] = useState<GatewayNow[]>([]);

  useEffect(() => {
    let stop = false;
    const load = (): void => {
      Promise.all([
        api<History>('/api/v1/channels/history'),
        api<{ data: ChannelNow[] }>('/api/v1/channels'),
        api<{ data: GatewayNow[] }>('/api/v1/gateways'),
      ]).then(
        ([h, c, g]) => {
          if (stop) return;
          setHistory(h);
          setNow(c.data);
          setGateways(g.data);
        },
        () => undefined,
      );
    };
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, []);

  const pct = (n: number | undefined): string => (n === undefined ? '—' : `${Math.round(n * 100)}%`);
  const fixed = (n: number | undefined): string => (n === undefined ? '—' : n.toFixed(2));
  const opened = history?.data.filter((c) => c.buckets.some((b) => b.breaker_opened)).map((c) => c.channel) ?? [];

  return (
    <div>
      <h1>{t('channelsTitle')}</h1>
      {history === null ? (
        <p aria-live="polite">…</p>
      ) : (
        <>
          <p>
            {t('channelsNote', {
              seconds: String(history.bucket_ms / 1000),
              strategy: history.strategy,
              latency: String(history.weights.latency),
              success: String(history.weights.success),
              load: String(history.weights.load),
            })}
          </p>
          <div className="table-wrap" tabIndex={0} role="region" aria-label={t('channelsTitle')}>
            <table>
              <caption className="visually-hidden">{t('channelsTitle')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('channel')}</th>
                  <th scope="col">{t('breaker')}</th>
                  <th scope="col">{t('inFlight')}</th>
                  <th scope="col">{t('score')}</th>
                  <th scope="col">{t('share')}</th>
                </tr>
              </thead>
              <tbody>
                {now.map((c) => (
                  <tr key={c.channel} data-channel={c.channel} data-breaker={c.breaker.state}>
                    <th scope="row">{c.channel}</th>
                    <td>
                      <span className={`status b-${c.breaker.state}`}>{c.breaker.state}</span>
                      {c.breaker.reason === undefined ? null : ` (${c.breaker.reason})`}
                    </td>
                    <td className="num">
                      {c.in_flight}/{c.capacity}
                    </td>
                    <td>
                      {c.operators.map((o) => (
                        <div key={o}>
                          {o}: {fixed(c.scores[o])}
                        </div>
                      ))}
                    </td>
                    <td>
                      {c.operators.map((o) => (
                        <div key={o}>
                          {o}: {pct(c.shares[o])}
                        </div>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="charts" data-breaker-opened={opened.join(' ')}>
            <Chart history={history} metric="success" title={`${t('successRate')} (%)`} />
            <Chart history={history} metric="latency" title={t('latency')} />
            <Chart history={history} metric="load" title={`${t('load')} (%)`} />
            <Chart history={history} metric="breaker" title={`${t('breaker')} (0 closed · 0.5 half-open · 1 open)`} />
          </div>
        </>
      )}
      <h2>{t('gatewaysTitle')}</h2>
      <div className="table-wrap" tabIndex={0} role="region" aria-label={t('gatewaysTitle')}>
        <table>
          <caption className="visually-hidden">{t('gatewaysTitle')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('gateway')}</th>
              <th scope="col">{t('breaker')}</th>
              <th scope="col">{t('available')}</th>
              <th scope="col">{t('inFlight')}</th>
              <th scope="col">{t('calls')}</th>
              <th scope="col">{t('failed')}</th>
            </tr>
          </thead>
          <tbody>
            {gateways.map((g) => (
              <tr key={g.name} data-gateway={g.name}>
                <th scope="row">{g.name}</th>
                <td>{g.breaker ?? '—'}</td>
                <td>{g.available === undefined ? '—' : g.available ? t('yes') : t('no')}</td>
                <td className="num">{g.in_flight ?? '—'}</td>
                <td className="num">{g.calls ?? '—'}</td>
                <td className="num">{g.failures ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
