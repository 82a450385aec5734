import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** How often, while the server closes, connections that carry no request are closed. */
const SWEEP_MS = 100;

/**
 * At shutdown, close every connection that carries no request, including those that never sent
 * a byte. Node's `closeIdleConnections()` (Fastify's `forceCloseConnections: 'idle'`) leaves the
 * latter alone, since their headers timer has started, so `close()` waited out `headersTimeout`
 * for them. Clients open such connections: a browser preconnects, and undici opens a new
 * connection in its pool when a streamed answer (a server-sent event stream) is aborted. A
 * connection answering a request is left to finish; it is closed as soon as it turns quiet.
 */
export function closeQuietConnectionsOnShutdown(app: FastifyInstance): void {
  const open = new Set<Socket>();
  const answering = new Set<Socket>();
  // Over TLS a request's socket is the TLS socket, not the TCP one 'connection' gives: track those,
  // or an answer in flight would be cut. (A TCP connection that never starts its handshake is then
  // left to Node's own timeouts, as before.)
  const tls = 'setSecureContext' in app.server;
  app.server.on(tls ? 'secureConnection' : 'connection', (s: Socket) => {
    open.add(s);
    s.once('close', () => {
      open.delete(s);
      answering.delete(s);
    });
  });
  app.server.on('request', (req: { socket: Socket }, res: { once(e: 'close', f: () => void): void }) => {
    answering.add(req.socket);
    res.once('close', () => answering.delete(req.socket));
  });
  let timer: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    const sweep = (): void => {
      for (const s of open) if (!answering.has(s)) s.destroy();
    };
    sweep();
    timer = setInterval(sweep, SWEEP_MS);
    timer.unref();
    done();
  });
  app.addHook('onClose', (_app, done) => {
    clearInterval(timer);
    done();
  });
}
