/**
 * One of the service's event streams (server-sent events). The browser reconnects a dropped
 * stream by itself, but the service replays nothing it told meanwhile (`Last-Event-ID` is not
 * honoured): each time the stream opens again after a break, `onResync` runs so the page reads
 * afresh what it shows. Returns the function that closes the stream.
 */
export function openFeed(
  url: string,
  event: string,
  handlers: {
    readonly onEvent: (data: string) => void;
    readonly onResync: () => void;
    readonly onLive?: (live: boolean) => void;
  },
): () => void {
  const stream = new EventSource(url);
  let opened = false;
  let broken = false;
  stream.onopen = () => {
    handlers.onLive?.(true);
    if (opened && broken) handlers.onResync();
    opened = true;
    broken = false;
  };
  stream.onerror = () => {
    broken = true;
    handlers.onLive?.(false);
  };
  stream.addEventListener(event, (e: MessageEvent<string>) => handlers.onEvent(e.data));
  return () => stream.close();
}
