import { connect, type Socket } from 'node:net';

/** One server-sent event as a test reads it. */
export interface StreamedEvent<T> {
  readonly id: string;
  readonly event: string;
  readonly data: T;
}

/** A server-sent event stream being read: what has arrived so far, and a way to stop. */
export interface Watched<T> {
  readonly events: Array<StreamedEvent<T>>;
  readonly status: number;
  close(): void;
  /** The stream ended (the server closed it, or close()). */
  ended(): boolean;
}

/**
 * Open `url` as an event stream with fetch, as the person `key`, and read it in the background.
 * Resolves once the service said every later change will come (its `: open` comment), or at once
 * when it refused the stream.
 */
export async function watchStream<T>(
  url: string,
  key: string,
  headers: Record<string, string> = {},
): Promise<Watched<T>> {
  const ac = new AbortController();
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...headers },
    signal: ac.signal,
  });
  const events: Array<StreamedEvent<T>> = [];
  if (res.status !== 200 || res.body === null) {
    await res.text();
    return { events, status: res.status, close: () => ac.abort(), ended: () => true };
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  let opened!: () => void;
  const open = new Promise<void>((resolve) => (opened = resolve));
  void (async () => {
    try {
      for (;;) {
        const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          const id = /^id: (.*)$/m.exec(block)?.[1];
          const event = /^event: (.*)$/m.exec(block)?.[1];
          if (data !== undefined && id !== undefined && event !== undefined)
            events.push({ id, event, data: JSON.parse(data) as T });
          if (block.includes(': open')) opened();
        }
      }
    } catch {
      // Aborted by close().
    } finally {
      ended = true;
      opened();
    }
  })();
  await open;
  return { events, status: res.status, close: () => ac.abort(), ended: () => ended };
}

/** Wait (real time, polling) until `what` holds or `ms` passed; its last answer. */
export async function until(what: () => boolean, ms = 20_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  return what();
}

/**
 * `n` connections to `url`'s server that never send a byte (a browser's preconnections, undici's
 * fresh pool connections after an aborted stream): shutdown must not wait on them.
 */
export function silentConnections(url: string, n: number): Promise<Socket[]> {
  const { port } = new URL(url);
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect(Number(port), '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        }),
    ),
  );
}
