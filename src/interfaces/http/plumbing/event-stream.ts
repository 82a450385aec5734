import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { problem, sendProblem } from './problem.js';

/** How often an idle stream says it is alive, so proxies and the browser keep it open. */
const HEARTBEAT_MS = 15_000;

/** One server-sent event. */
export interface StreamEvent {
  readonly id: number;
  readonly event: string;
  readonly data: unknown;
}

/**
 * Starts a stream's feed: `send` writes an event; resolves to the function that stops the feed
 * once every later change will reach `send`.
 */
export type StartFeed = (send: (e: StreamEvent) => void) => Promise<() => void>;

export interface EventStreams {
  /** Answer `req` with a `text/event-stream` fed by `start` (406 without the Accept header). */
  serve(req: FastifyRequest, reply: FastifyReply, start: StartFeed): FastifyReply | undefined;
}

/**
 * Server-sent event streams for a group of routes. A stream ends when the client goes or the
 * server shuts down (the browser's EventSource then reconnects by itself); it is its
 * connection's last answer, so its connection is closed with it.
 */
export function eventStreams(app: FastifyInstance): EventStreams {
  const open = new Set<() => void>();
  /** The streams' sockets: shutdown closes them whatever they do. */
  const sockets = new Set<Socket>();
  app.addHook('preClose', (done) => {
    for (const end of [...open]) end();
    for (const s of sockets) s.destroy();
    done();
  });
  return {
    serve(req, reply, start) {
      if (!(req.headers.accept ?? '').includes('text/event-stream')) {
        return sendProblem(
          reply,
          problem('NOT_ACCEPTABLE', 'this is an event stream: send Accept: text/event-stream', req.id),
        );
      }
      const hsts = reply.getHeader('strict-transport-security');
      reply.hijack();
      const res = reply.raw;
      const socket = req.raw.socket;
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      const send = (e: StreamEvent): void => {
        res.write(`id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
      };
      let unsubscribe: (() => void) | undefined;
      let ended = false;
      const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      const end = (): void => {
        if (ended) return;
        ended = true;
        open.delete(end);
        clearInterval(heartbeat);
        unsubscribe?.();
        // Neither a client gone quiet nor a shutdown waits on a socket nobody will use again.
        res.end();
        socket.destroy();
      };
      open.add(end);
      res.once('close', end);
      socket.once('close', end);
      // Headers first: events sent while the feed starts (a batch's standing now) follow them.
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        'x-request-id': req.id,
        ...(hsts === undefined ? {} : { 'strict-transport-security': String(hsts) }),
      });
      // Reconnect after 2 s if the stream breaks.
      res.write('retry: 2000\n\n');
      start((e) => {
        if (!ended) send(e);
      }).then(
        (stop) => {
          if (ended) return stop();
          unsubscribe = stop;
          // Every later change will come.
          res.write(': open\n\n');
        },
        (e: unknown) => {
          req.log.error({ err: e }, 'event stream could not start');
          res.write(`event: error\ndata: ${JSON.stringify({ code: 'INTERNAL' })}\n\n`);
          end();
        },
      );
      return undefined;
    },
  };
}
