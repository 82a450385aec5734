import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { ENGINES, startCluster, type Cluster } from './support/cluster.js';
import { type StreamedEvent, silentConnections, until, watchStream as watch } from './support/event-stream-client.js';
import { keyOf, LogSink } from './support/test-app.js';

/**
 * The console's recharge feeds through the API, over real sockets: GET /api/v1/recharges (every
 * filter, paging, bad filters, masking, tenants), GET /api/v1/recharges/events (a recharge made on
 * one instance reaches a watcher on the other with its end state; who sees what) and
 * GET /api/v1/batches/:id/events (progress that only moves forward and ends at the result file's
 * counts; a reconnect starts from the batch as it stands). SQLite (one instance) and two instances
 * on one PostgreSQL database, and the instances close promptly afterwards.
 */

const WHOLE = '13800138000';

interface RechargeView {
  id: string;
  status: string;
  user_id: string;
  phone: string;
  channel: string | null;
  batch_id: string | null;
}
interface BatchView {
  id: string;
  rows: number;
  valid: number;
  accepted: number;
  succeeded: number;
  failed: number;
  finished: number;
  rejected_count: number;
  done: boolean;
}
describe.each(ENGINES)('the console’s recharge feeds on %s', (engine) => {
  let cluster: Cluster;
  const urls: string[] = [];
  const logs: LogSink[] = [];
  let first: App;
  let keys: { alice: string; bob: string; operator: string; viewer: string; stranger: string };

  const call = async (
    base: string,
    key: string,
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; body: unknown; text: string }> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(method === 'POST' ? { 'idempotency-key': `k-${Math.random()}` } : {}),
        ...(body === undefined ? {} : { 'content-type': contentType }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    const json = (res.headers.get('content-type') ?? '').includes('json');
    return { status: res.status, body: json ? (JSON.parse(text) as unknown) : undefined, text };
  };
  const list = async (key: string, query: string): Promise<{ status: number; body: unknown; text: string }> =>
    call(urls[0]!, key, 'GET', `/api/v1/recharges?${query}`);
  const ids = (r: { body: unknown }): string[] => (r.body as { data: RechargeView[] }).data.map((v) => v.id);
  const recharge = async (key: string, phone: string, on = urls[0]!): Promise<{ status: number; id: string }> => {
    const r = await call(on, key, 'POST', '/api/v1/recharges', { phone, amount: 1000 });
    const body = r.body as { recharge?: { id: string } };
    if (body.recharge === undefined) throw new Error(`no recharge: ${r.status} ${r.text}`);
    return { status: r.status, id: body.recharge.id };
  };

  beforeAll(async () => {
    cluster = await startCluster(
      engine,
      {
        server: { port: 0, wait_for_completion_ms: 10_000 },
        trusted_actions: ['recharge_phone', 'recharge_batch', 'wallet_top_up'],
        worker: { poll_interval_ms: 20 },
        rate_limit: { enabled: false },
        recharge: {
          max_attempts: 1,
          channels: {
            // China Mobile and Unicom go through; China Telecom numbers are refused (FAILED).
            'sim-ok': {
              type: 'simulator',
              operators: ['CHINA_MOBILE', 'CHINA_UNICOM'],
              latency_ms: { min: 5, max: 30 },
            },
            'sim-refuse': { type: 'simulator', operators: ['CHINA_TELECOM'], failure_rate: 1 },
          },
        },
      },
      (i) => {
        const sink = new LogSink();
        logs[i] = sink;
        return { logDestination: sink };
      },
    );
    for (const a of cluster.apps) urls.push(await a.listen());
    first = cluster.apps[0]!;
    const stranger = await first.services.identity.bootstrap(`t-${engine}`);
    if (stranger === undefined) throw new Error('the second tenant existed already');
    keys = {
      alice: await keyOf(first, 'alice'),
      bob: await keyOf(first, 'bob'),
      operator: await keyOf(first, 'olga', 'operator'),
      viewer: await keyOf(first, 'vivian', 'viewer'),
      stranger,
    };
    for (const k of [keys.alice, keys.bob, keys.stranger]) {
      const t = await call(urls[0]!, k, 'POST', '/api/v1/wallet/top-ups', { amount: 500_000 });
      expect(t.status, t.text).toBe(201);
    }
  }, 120_000);
  afterAll(async () => {
    // The last test checks that the instances close promptly; this only cleans up.
    await cluster.close();
  }, 60_000);

  it('lists by status, channel, whole number (any spelling), person; pages; masked; tenants apart', async () => {
    const mine = [
      await recharge(keys.alice, WHOLE),
      await recharge(keys.alice, '13800138001'),
      await recharge(keys.alice, '18912345678'), // China Telecom: refused
      await recharge(keys.alice, '13012345678'), // China Unicom
    ];
    expect(mine.map((m) => m.status)).toEqual([201, 201, 422, 201]);
    const his = await recharge(keys.bob, WHOLE);
    const theirs = await recharge(keys.stranger, WHOLE);

    // Status, one or several, in any case; an unknown one is refused.
    expect(ids(await list(keys.alice, 'status=FAILED'))).toEqual([mine[2]!.id]);
    expect(ids(await list(keys.alice, 'status=succeeded'))).toEqual([mine[3]!.id, mine[1]!.id, mine[0]!.id]);
    expect(ids(await list(keys.alice, 'status=SUCCEEDED,FAILED'))).toHaveLength(4);
    // The channel of the last attempt.
    expect(ids(await list(keys.alice, 'channel=sim-refuse'))).toEqual([mine[2]!.id]);
    expect(ids(await list(keys.alice, 'channel=sim-ok&status=SUCCEEDED'))).toHaveLength(3);
    expect(ids(await list(keys.alice, 'channel=nowhere'))).toEqual([]);
    // The whole number, however it is written, matched on its blind index: hers only for her,
    // hers and his for an operator, never the other tenant's.
    for (const spelling of [WHOLE, '138 0013 8000', '+86 138-0013-8000']) {
      expect(ids(await list(keys.alice, `phone=${encodeURIComponent(spelling)}`))).toEqual([mine[0]!.id]);
    }
    expect(ids(await list(keys.operator, `phone=${WHOLE}`))).toEqual([his.id, mine[0]!.id]);
    expect(ids(await list(keys.stranger, `phone=${WHOLE}`))).toEqual([theirs.id]);
    // A person filtering on someone else still gets only their own; an operator gets that person's.
    expect(ids(await list(keys.alice, 'user_id=bob'))).toHaveLength(4);
    expect(ids(await list(keys.operator, 'user_id=bob'))).toEqual([his.id]);
    // The tenant's whole list, for the operator and the viewer, without the other tenant's.
    for (const k of [keys.operator, keys.viewer]) {
      const all = ids(await list(k, 'limit=200'));
      expect(all).toEqual(expect.arrayContaining([...mine.map((m) => m.id), his.id]));
      expect(all).not.toContain(theirs.id);
    }
    expect(ids(await list(keys.stranger, 'limit=200'))).toEqual([theirs.id]);

    // A page at a time, newest first, every one once.
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page = await list(keys.alice, `limit=1${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(page.status).toBe(200);
      const b = page.body as { data: RechargeView[]; next_cursor: string | null };
      seen.push(...b.data.map((r) => r.id));
      cursor = b.next_cursor;
      if (cursor === null) break;
    }
    expect(seen).toEqual(ids(await list(keys.alice, 'limit=50')));
    expect(seen).toEqual([mine[3]!.id, mine[2]!.id, mine[1]!.id, mine[0]!.id]);

    // Numbers masked in every answer; the whole number appears in no answer and no log line.
    const everything = await list(keys.operator, 'limit=200');
    for (const r of (everything.body as { data: RechargeView[] }).data) expect(r.phone).toMatch(/^\d{3}\*{4}\d{4}$/);
    expect(everything.text).not.toContain(WHOLE);
    expect((await list(keys.alice, `phone=${WHOLE}`)).text).not.toContain(WHOLE);
    for (const l of logs) expect(l.text).not.toContain(WHOLE);
  }, 90_000);

  it('refuses a bad filter with a stable code, and a part of a number matches nothing', async () => {
    const refused = async (query: string, code: string): Promise<void> => {
      const r = await list(keys.alice, query);
      expect(r.status, query).toBe(400);
      expect((r.body as { code: string }).code, query).toBe(code);
    };
    await refused('status=LOST', 'VALIDATION_FAILED');
    await refused('channel=no%20such%20thing', 'VALIDATION_FAILED');
    await refused('limit=0', 'VALIDATION_FAILED');
    await refused('limit=201', 'VALIDATION_FAILED');
    await refused('cursor=..%2F..', 'VALIDATION_FAILED');
    await refused('batch_id=%3Cscript%3E', 'VALIDATION_FAILED');
    // There is no date filter: an unknown parameter is refused, not ignored.
    await refused('from=2026-01-01', 'VALIDATION_FAILED');
    // Only the whole number is looked up (its blind index): a part of one is refused, never matched.
    await refused('phone=1380013', 'PHONE_INVALID_LENGTH');
    await refused('phone=8000', 'PHONE_NOT_MOBILE');
    await refused('phone=138****8000', 'PHONE_INVALID_FORMAT');
    await refused('phone=%2B1%20415%20555%200100', 'PHONE_NOT_MOBILE');
  });

  it('tells each watcher, on any instance, of the recharges they may see with their end state, no other', async () => {
    const on = urls.at(-1)!;
    const feed = `${on}/api/v1/recharges/events`;
    const plain = await fetch(feed, { headers: { authorization: `Bearer ${keys.alice}` } });
    expect(plain.status).toBe(406);
    expect(((await plain.json()) as { code: string }).code).toBe('NOT_ACCEPTABLE');
    const nobody = await fetch(feed, { headers: { accept: 'text/event-stream' } });
    expect(nobody.status).toBe(401);
    await nobody.text();

    type Change = { action: string; recharge: RechargeView };
    // Watching on the last instance; the recharges are made on the first.
    const watchers = {
      alice: await watch<Change>(feed, keys.alice),
      bob: await watch<Change>(feed, keys.bob),
      viewer: await watch<Change>(feed, keys.viewer),
      stranger: await watch<Change>(feed, keys.stranger),
    };
    try {
      expect(watchers.alice.status).toBe(200);
      const ok = await recharge(keys.alice, '13800138002');
      const refused = await recharge(keys.alice, '18912345679');
      const bobs = await recharge(keys.bob, '13800138003');
      expect([ok.status, refused.status, bobs.status]).toEqual([201, 422, 201]);
      const ended = (w: { events: Array<StreamedEvent<Change>> }, id: string, status: string) => () =>
        w.events.some((e) => e.data.recharge.id === id && e.data.recharge.status === status);
      expect(await until(ended(watchers.alice, ok.id, 'SUCCEEDED'))).toBe(true);
      expect(await until(ended(watchers.alice, refused.id, 'FAILED'))).toBe(true);
      expect(await until(ended(watchers.bob, bobs.id, 'SUCCEEDED'))).toBe(true);
      expect(
        await until(
          () => ended(watchers.viewer, ok.id, 'SUCCEEDED')() && ended(watchers.viewer, bobs.id, 'SUCCEEDED')(),
        ),
      ).toBe(true);
      const succeeded = watchers.alice.events.find(
        (e) => e.data.recharge.id === ok.id && e.data.recharge.status === 'SUCCEEDED',
      )!;
      expect(succeeded.event).toBe('recharge');
      // The action is the last of the recharge's own steps read about it, never the notice sent after it.
      expect(succeeded.data.action).toMatch(/^recharge\.[a-z_]+$/);
      for (const w of Object.values(watchers))
        expect(w.events.filter((e) => !e.data.action.startsWith('recharge.'))).toEqual([]);
      expect(succeeded.data.recharge).toMatchObject({ phone: '138****8002', channel: 'sim-ok', user_id: 'alice' });
      // Each sees only what they may: hers never on his stream, nor his on hers.
      expect(watchers.alice.events.every((e) => e.data.recharge.user_id === 'alice')).toBe(true);
      expect(watchers.bob.events.every((e) => e.data.recharge.user_id === 'bob')).toBe(true);
      // Event ids are audit rows' positions: increasing on each stream.
      const seq = watchers.viewer.events.map((e) => Number(e.id));
      expect(seq).toEqual([...seq].sort((p, q) => p - q));
      // No whole number on any stream.
      for (const w of Object.values(watchers)) expect(JSON.stringify(w.events)).not.toMatch(/1[3-9]\d{9}/);
      // The other tenant heard nothing of these (checked after the others heard everything). It may
      // hear of its own: the notice of an earlier test's recharge of its own can land meanwhile.
      const these = new Set([ok.id, refused.id, bobs.id]);
      expect(watchers.stranger.events.filter((e) => these.has(e.data.recharge.id))).toEqual([]);
      expect(watchers.stranger.events.every((e) => !['alice', 'bob'].includes(e.data.recharge.user_id))).toBe(true);
    } finally {
      for (const w of Object.values(watchers)) w.close();
    }
  }, 60_000);

  it('streams a batch’s progress forward to the result file’s counts; a reconnect starts where it stands', async () => {
    // 120 rows: China Mobile ones succeed, China Telecom ones are refused, two lines are not numbers.
    const rows = Array.from({ length: 120 }, (_, i) =>
      i % 4 === 3 ? `1891234${String(i).padStart(4, '0')},1000` : `1380014${String(i).padStart(4, '0')},1000`,
    );
    rows.splice(10, 0, 'not-a-number,1000');
    rows.splice(50, 0, '13800140000,7');
    const up = await call(
      urls[0]!,
      keys.alice,
      'POST',
      '/api/v1/recharges/batch',
      ['phone,amount', ...rows].join('\n'),
      'text/csv',
    );
    expect(up.status, up.text).toBe(202);
    const id = (up.body as { batch: { id: string } }).batch.id;
    const feed = (base: string) => `${base}/api/v1/batches/${id}/events`;
    type Change = { batch: BatchView };

    // Another person's, or no such, batch: 404 before any stream starts; a viewer may watch.
    for (const [key, path] of [
      [keys.bob, feed(urls.at(-1)!)],
      [keys.stranger, feed(urls.at(-1)!)],
      [keys.alice, `${urls.at(-1)!}/api/v1/batches/rcb_nothing/events`],
    ] as const) {
      const r = await fetch(path, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } });
      expect(r.status).toBe(404);
      expect(((await r.json()) as { code: string }).code).toBe('BATCH_NOT_FOUND');
    }

    // Watching on the other instance: the batch as it stands first (id 0), then each change.
    const a = await watch<Change>(feed(urls.at(-1)!), keys.alice);
    const viewer = await watch<Change>(feed(urls.at(-1)!), keys.viewer);
    let b: Awaited<ReturnType<typeof watch<Change>>> | undefined;
    try {
      expect(a.events[0]).toMatchObject({ id: '0', event: 'batch', data: { batch: { id, rows: 122, valid: 120 } } });
      // Gone mid-batch (or at once, on a fast machine), and back with Last-Event-ID as a browser sends it.
      await until(() => a.events.length >= 3 || a.events.at(-1)?.data.batch.done === true);
      a.close();
      const lastSeen = a.events.at(-1)!;
      b = await watch<Change>(feed(urls[0]!), keys.alice, { 'last-event-id': lastSeen.id });
      // It starts from the batch as it stands: never behind what was seen before.
      const first = b.events[0]!;
      expect(first.id).toBe('0');
      expect(first.data.batch.finished).toBeGreaterThanOrEqual(lastSeen.data.batch.finished);
      expect(await until(() => b!.events.at(-1)?.data.batch.done === true, 60_000)).toBe(true);
      expect(await until(() => viewer.events.at(-1)?.data.batch.done === true)).toBe(true);

      // Every count only moves forward on each stream, and ends at the rows.
      for (const stream of [[...a.events, ...b.events], b.events, viewer.events]) {
        for (let i = 1; i < stream.length; i++) {
          const [p, q] = [stream[i - 1]!.data.batch, stream[i]!.data.batch];
          expect(q.accepted).toBeGreaterThanOrEqual(p.accepted);
          expect(q.succeeded).toBeGreaterThanOrEqual(p.succeeded);
          expect(q.failed).toBeGreaterThanOrEqual(p.failed);
          expect(q.finished).toBeGreaterThanOrEqual(p.finished);
        }
      }
      const last = b.events.at(-1)!.data.batch;
      expect(last).toMatchObject({
        done: true,
        rows: 122,
        valid: 120,
        accepted: 120,
        finished: 120,
        rejected_count: 2,
      });
      expect(last.succeeded + last.failed + last.rejected_count).toBe(last.rows);

      // The counts by outcome are the result file's.
      const file = await call(urls[0]!, keys.alice, 'GET', `/api/v1/batches/${id}/results`);
      expect(file.status).toBe(200);
      const statuses = file.text
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[3]);
      const count = (s: string) => statuses.filter((x) => x === s).length;
      expect(statuses).toHaveLength(122);
      expect({ succeeded: count('SUCCEEDED'), failed: count('FAILED'), rejected: count('REJECTED') }).toEqual({
        succeeded: last.succeeded,
        failed: last.failed,
        rejected: last.rejected_count,
      });
      expect(last).toMatchObject({ succeeded: 90, failed: 30 });
    } finally {
      a.close();
      viewer.close();
      b?.close();
    }
  }, 120_000);

  it('shuts down promptly after its watchers went away, even with connections that never sent a byte', async () => {
    const last = cluster.apps.at(-1)!;
    const key = await keyOf(last, 'carol');
    const w = await watch(`${urls.at(-1)!}/api/v1/recharges/events`, key);
    const silent = await silentConnections(urls.at(-1)!, 4);
    // One stream still open: shutdown ends it rather than waiting on it.
    const open = await watch(`${urls.at(-1)!}/api/v1/recharges/events`, key);
    w.close();
    const started = Date.now();
    for (const a of cluster.apps) await a.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await until(() => open.ended(), 2_000)).toBe(true);
    for (const s of silent) s.destroy();
  }, 30_000);
});
