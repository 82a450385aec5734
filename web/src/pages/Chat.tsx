import { useEffect, useRef, useState } from 'react';
import { api, ApiError, type AgentReply, type Confirmation, type Order } from '../api.js';
import { type T, useI18n, yuan } from '../i18n.js';
import { ConfirmCard, type Decision } from './ConfirmCard.js';

interface Message {
  readonly id: number;
  readonly from: 'you' | 'agent';
  readonly text: string;
  readonly confirm?: Confirmation;
  readonly decision?: Decision;
}

interface Conversation {
  readonly sessionId: string | null;
  readonly messages: readonly Message[];
}

const STORE = 'autoglm.chat';

/** The conversation survives a reload of the tab (not a logout: that clears it). */
function loadConversation(): Conversation {
  try {
    const raw = sessionStorage.getItem(STORE);
    if (raw !== null) return JSON.parse(raw) as Conversation;
  } catch {
    // A damaged entry: start afresh.
  }
  return { sessionId: null, messages: [] };
}

/** A field of the outcome that should be words (anything else shows as nothing). */
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

function describe(reply: AgentReply, t: T): string {
  const o = reply.outcome;
  const order = o.order;
  const line =
    order === undefined ? '' : `${order.description} · ${yuan(order.amount, order.currency)} · ${order.status_text}`;
  switch (o.kind) {
    case 'clarification':
      return text(o.question);
    case 'refused':
      return `${text(o.code)}: ${text(o.reason)}`;
    case 'done':
      return `${text(o.action)} ✓`;
    case 'payment_failed':
      return `${line} — ${text(o.reason)}`;
    case 'awaiting_confirmation':
      return o.confirm?.what ?? t('confirmTitle');
    default:
      return line === '' ? o.kind : line;
  }
}

export function Chat() {
  const { t } = useI18n();
  const [conv, setConv] = useState<Conversation>(loadConversation);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nextId = useRef(conv.messages.reduce((m, x) => Math.max(m, x.id), 0) + 1);
  const endRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    sessionStorage.setItem(STORE, JSON.stringify(conv));
  }, [conv]);
  useEffect(() => {
    endRef.current?.scrollIntoView?.({ block: 'end' });
  }, [conv.messages.length]);

  const add = (c: Conversation, m: Omit<Message, 'id'>): Conversation => ({
    ...c,
    messages: [...c.messages, { ...m, id: nextId.current++ }],
  });

  const send = (e: React.FormEvent): void => {
    e.preventDefault();
    const words = text.trim();
    if (words === '' || busy) return;
    setBusy(true);
    setError(null);
    setText('');
    setConv((c) => add(c, { from: 'you', text: words }));
    api<AgentReply>('/api/v1/agent/messages', {
      body: { text: words, ...(conv.sessionId === null ? {} : { session_id: conv.sessionId }) },
    })
      .then(
        (reply) => {
          const confirm = reply.outcome.confirm;
          setConv((c) =>
            add(
              { ...c, sessionId: reply.session_id },
              {
                from: 'agent',
                text: describe(reply, t),
                ...(confirm === undefined ? {} : { confirm, decision: 'open' as const }),
              },
            ),
          );
        },
        (err: unknown) => setError(err instanceof ApiError ? `${err.code}: ${err.message}` : t('error')),
      )
      .finally(() => setBusy(false));
  };

  const decide = (id: number, decision: Decision, order?: Order): void =>
    setConv((c) => ({
      ...c,
      messages: c.messages.map((m) =>
        m.id !== id
          ? m
          : {
              ...m,
              decision,
              ...(order === undefined
                ? {}
                : { text: `${order.description} · ${yuan(order.amount)} · ${order.status_text}` }),
            },
      ),
    }));

  return (
    <div className="chat">
      <div className="row">
        <h1>{t('chatTitle')}</h1>
        <button type="button" onClick={() => setConv({ sessionId: null, messages: [] })}>
          {t('newChat')}
        </button>
      </div>
      <ol className="messages" aria-live="polite">
        {conv.messages.map((m) => (
          <li key={m.id} className={`msg ${m.from}`}>
            <span className="from">{m.from === 'you' ? t('you') : t('agent')}</span>
            <p>{m.text}</p>
            {m.confirm === undefined ? null : (
              <ConfirmCard
                confirm={m.confirm}
                decision={m.decision ?? 'open'}
                onDecision={(d, order) => decide(m.id, d, order)}
              />
            )}
          </li>
        ))}
      </ol>
      <div ref={endRef} />
      {error === null ? null : (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <form className="composer" onSubmit={send}>
        <label htmlFor="chat-input" className="visually-hidden">
          {t('chatLabel')}
        </label>
        <input
          id="chat-input"
          name="text"
          autoComplete="off"
          maxLength={500}
          placeholder={t('chatPlaceholder')}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" className="primary" disabled={busy || text.trim() === ''}>
          {busy ? t('sending') : t('send')}
        </button>
      </form>
    </div>
  );
}
