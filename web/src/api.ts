/** The service's HTTP API as the console uses it: the session cookies, CSRF, one silent refresh. */

export interface Me {
  readonly tenant: string;
  readonly principal: string | null;
  readonly role: string;
  readonly acts_for: string;
  readonly actor: string;
  /** Of the deployment's home tenant: the permissions that span every tenant apply. */
  readonly deployment: boolean;
}

export interface Payment {
  readonly id: string;
  readonly status: string;
  readonly gateway: string;
  readonly method: string;
}

export interface Order {
  readonly id: string;
  readonly status: string;
  readonly status_text: string;
  readonly status_reason: string | null;
  readonly user_id: string;
  readonly description: string;
  readonly amount: number;
  readonly currency: string;
  readonly payment: Payment | null;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface Confirmation {
  readonly action: string;
  readonly what: string;
  readonly order_id?: string;
  readonly amount?: number;
  readonly currency?: string;
  readonly payee?: string;
  readonly payment_method?: string;
  readonly mandate?: string;
  readonly method: 'POST';
  readonly path: string;
  readonly body?: { readonly digest: string };
}

export interface AgentReply {
  readonly session_id: string;
  readonly outcome: { readonly kind: string; readonly order?: Order; readonly confirm?: Confirmation } & Record<
    string,
    unknown
  >;
}

export interface AuditRow {
  readonly id: number;
  readonly at: string | number;
  readonly actor: string;
  readonly action: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface Refund {
  readonly id: string;
  readonly status: string;
  readonly amount: number;
  readonly currency?: string;
  readonly created_at?: string;
}

/** A problem+json answer, thrown. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const csrf = (): string =>
  decodeURIComponent(
    document.cookie
      .split('; ')
      .find((c) => c.startsWith('autoglm_csrf='))
      ?.slice('autoglm_csrf='.length) ?? '',
  );

let refreshing: Promise<boolean> | undefined;

/** Spend the refresh cookie for a new session once, however many requests found theirs expired. */
export function refresh(): Promise<boolean> {
  refreshing ??= fetch('/api/v1/auth/refresh', { method: 'POST', credentials: 'same-origin' })
    .then((r) => r.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = undefined;
    });
  return refreshing;
}

export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; idempotencyKey?: string } = {},
): Promise<T> {
  const send = (): Promise<Response> => {
    const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
    const headers: Record<string, string> = { accept: 'application/json' };
    if (method !== 'GET') headers['x-csrf-token'] = csrf();
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.idempotencyKey !== undefined) headers['idempotency-key'] = init.idempotencyKey;
    return fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  };
  let res = await send();
  // The access cookie lasts minutes: renew it silently and try once more.
  if (res.status === 401 && !path.startsWith('/api/v1/auth/') && (await refresh())) res = await send();
  const text = await res.text();
  const json: unknown = text === '' ? undefined : JSON.parse(text);
  if (!res.ok) {
    const p = (json ?? {}) as { code?: string; detail?: string; title?: string };
    if (res.status === 401) window.dispatchEvent(new Event('autoglm:logged-out'));
    throw new ApiError(res.status, p.code ?? 'ERROR', p.detail ?? p.title ?? res.statusText);
  }
  return json as T;
}

export const login = (body: { tenant?: string; user: string; password: string }) =>
  api<{ expires_in: number }>('/api/v1/auth/login', { body });
export const logout = () => api<undefined>('/api/v1/auth/logout', { body: {} });
export const me = () => api<Me>('/api/v1/auth/me');
