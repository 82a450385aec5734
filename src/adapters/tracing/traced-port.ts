import { inSpan } from './trace-context.js';

/** Which kind of outside party a port talks to, as named on its spans. */
export type PeerKind = 'gateway' | 'merchant' | 'recharge_channel';

/**
 * The port with each call in `methods` made as a client span (`gateway create`, `merchant
 * submit`, …) of the current trace: one span per attempt when the resilience wrapper sits
 * outside it. Its transport sends this span's context as `traceparent`. Only the peer, the
 * operation and the answer's status are recorded — never an argument (amounts aside, they carry
 * phone numbers, keys and bodies).
 */
export function tracedPort<T extends object>(
  target: T,
  peer: { readonly kind: PeerKind; readonly name: string },
  methods: readonly (keyof T & string)[],
): T {
  const traced = new Set<string | symbol>(methods);
  const bound = new Map<string | symbol, unknown>();
  return new Proxy(target, {
    get(t, prop) {
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== 'function') return value;
      let fn = bound.get(prop);
      if (fn === undefined) {
        const f = value as (...args: unknown[]) => unknown;
        fn = traced.has(prop)
          ? (...args: unknown[]) =>
              inSpan(
                `${peer.kind} ${String(prop)}`,
                'client',
                { 'autoglm.peer.kind': peer.kind, 'autoglm.peer.name': peer.name, 'autoglm.operation': String(prop) },
                async (span) => {
                  const result = await (f.apply(t, args) as Promise<unknown>);
                  const status = (result as { status?: unknown } | null)?.status;
                  if (typeof status === 'string') span.setAttributes({ 'autoglm.outcome': status });
                  return result;
                },
              )
          : f.bind(t);
        bound.set(prop, fn);
      }
      return fn;
    },
  });
}
