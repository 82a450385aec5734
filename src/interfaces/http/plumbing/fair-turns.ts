import type { FastifyInstance } from 'fastify';

/**
 * At most `perTurn` requests start their work in one turn of the event loop; the rest wait, in
 * the order they came, for the next turns.
 *
 * Why: libuv (1.46, Node 20) accepts ONE new connection per turn of the loop, and a turn lasts as
 * long as the work it finds. When many connections open at once (the documents' load test opens
 * 400), every connection already accepted has a request ready in each turn, so turn k costs k
 * requests' work and the 400th connection waits for about 400 × 200 requests to be served before
 * it is even accepted: ten seconds for a read at 0.3 ms, and its client gives up. With the work
 * of a turn bounded, turns stay short and a connection is accepted within 400 short turns; the
 * requests that wait meanwhile wait in this queue instead of in the kernel's accept queue, and
 * the total rate is unchanged (the same work, in the same order). Timers (job leases, heartbeats)
 * fire on time under load for the same reason.
 *
 * Under light load nothing waits: the count resets every turn.
 */
export function startRequestsFairly(app: FastifyInstance, perTurn: number): void {
  let started = 0;
  let turnEnding = false;
  const waiting: Array<() => void> = [];
  let head = 0;
  const endTurn = (): void => {
    turnEnding = false;
    started = 0;
    while (started < perTurn && head < waiting.length) {
      started++;
      const next = waiting[head];
      waiting[head++] = noop;
      next!();
    }
    if (head === waiting.length) {
      waiting.length = 0;
      head = 0;
    } else {
      scheduleEnd();
    }
  };
  // An immediate queued in the poll phase runs at the end of this turn; one queued while the
  // immediates run (by endTurn itself) runs at the end of the next.
  const scheduleEnd = (): void => {
    if (turnEnding) return;
    turnEnding = true;
    setImmediate(endTurn);
  };
  app.addHook('onRequest', (_req, _reply, done) => {
    scheduleEnd();
    if (started < perTurn && head === waiting.length) {
      started++;
      done();
    } else {
      waiting.push(() => done());
    }
  });
}

function noop(): void {}
