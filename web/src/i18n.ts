import { createContext, useContext } from 'react';
import { adminEn, adminZh } from './i18n-admin.js';
import { opsEn, opsZh } from './i18n-ops.js';

export type Lang = 'zh' | 'en';

const en = {
  ...opsEn,
  appName: 'Open-AutoGLM console',
  skip: 'Skip to content',
  nav: 'Main',
  navChat: 'Chat',
  navOrders: 'Orders',
  language: 'Language',
  logout: 'Log out',
  loginTitle: 'Log in',
  tenant: 'Tenant',
  user: 'User',
  password: 'Password',
  loginButton: 'Log in',
  loggingIn: 'Logging in…',
  loginHint: 'First start prints the admin password (also in data/admin-password).',
  signedInAs: 'Signed in as {user} ({role})',
  chatTitle: 'Chat with the agent',
  chatLabel: 'Message',
  chatPlaceholder: 'e.g. 来一杯大杯拿铁 / a large latte',
  send: 'Send',
  sending: 'Sending…',
  newChat: 'New conversation',
  you: 'You',
  agent: 'Agent',
  confirmTitle: 'Confirm this payment',
  item: 'Item',
  amount: 'Amount',
  payee: 'Payee',
  method: 'Method',
  mandate: 'Mandate',
  none: 'none',
  confirm: 'Confirm',
  cancel: 'Cancel',
  working: 'Working…',
  confirmed: 'Confirmed',
  cancelled: 'Cancelled',
  status: 'Status',
  ordersTitle: 'Orders',
  live: 'Live',
  connecting: 'Connecting…',
  filterStatus: 'Status filter',
  all: 'All',
  created: 'Created',
  order: 'Order',
  description: 'Description',
  user_: 'Person',
  noOrders: 'No orders yet.',
  loadMore: 'Load more',
  back: 'Back to orders',
  timeline: 'State timeline',
  payment: 'Payment',
  refunds: 'Refunds',
  noRefunds: 'No refunds.',
  audit: 'Audit trail',
  who: 'Who',
  when: 'When',
  action: 'Action',
  change: 'Change',
  refund: 'Refund',
  refundAmount: 'Amount to refund (yuan)',
  refundDone: 'Refund requested',
  error: 'Something went wrong',
  notFound: 'Page not found',
  ...adminEn,
} as const;

export type Key = keyof typeof en;

const zh: Record<Key, string> = {
  ...opsZh,
  appName: 'Open-AutoGLM 控制台',
  skip: '跳到正文',
  nav: '主导航',
  navChat: '对话',
  navOrders: '订单',
  language: '语言',
  logout: '退出登录',
  loginTitle: '登录',
  tenant: '租户',
  user: '用户名',
  password: '密码',
  loginButton: '登录',
  loggingIn: '正在登录…',
  loginHint: '首次启动时会打印管理员密码（也写在 data/admin-password）。',
  signedInAs: '已登录：{user}（{role}）',
  chatTitle: '与助手对话',
  chatLabel: '消息',
  chatPlaceholder: '例如：来一杯大杯拿铁',
  send: '发送',
  sending: '发送中…',
  newChat: '新对话',
  you: '我',
  agent: '助手',
  confirmTitle: '请确认这笔付款',
  item: '商品',
  amount: '金额',
  payee: '收款方',
  method: '支付方式',
  mandate: '授权',
  none: '无',
  confirm: '确认',
  cancel: '取消',
  working: '处理中…',
  confirmed: '已确认',
  cancelled: '已取消',
  status: '状态',
  ordersTitle: '订单',
  live: '实时',
  connecting: '连接中…',
  filterStatus: '按状态筛选',
  all: '全部',
  created: '创建时间',
  order: '订单',
  description: '内容',
  user_: '用户',
  noOrders: '还没有订单。',
  loadMore: '加载更多',
  back: '返回订单列表',
  timeline: '状态时间线',
  payment: '支付',
  refunds: '退款',
  noRefunds: '没有退款。',
  audit: '审计记录',
  who: '操作人',
  when: '时间',
  action: '动作',
  change: '变更',
  refund: '退款',
  refundAmount: '退款金额（元）',
  refundDone: '已提交退款',
  error: '出错了',
  notFound: '页面不存在',
  ...adminZh,
};

export const MESSAGES: Record<Lang, Record<Key, string>> = { en, zh };

/** The browser's language decides until the person picks one (kept in localStorage). */
export function initialLang(): Lang {
  const saved = localStorage.getItem('autoglm.lang');
  if (saved === 'zh' || saved === 'en') return saved;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export type T = (key: Key, vars?: Record<string, string>) => string;

export function translator(lang: Lang): T {
  return (key, vars) => {
    let s = MESSAGES[lang][key];
    for (const [k, v] of Object.entries(vars ?? {})) s = s.replace(`{${k}}`, v);
    return s;
  };
}

export const I18n = createContext<{ lang: Lang; t: T }>({ lang: 'en', t: translator('en') });

export const useI18n = (): { lang: Lang; t: T } => useContext(I18n);

/** Integer fen as yuan, e.g. 3500 → "¥35.00". */
export function yuan(fen: number, currency = 'CNY'): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  const s = `${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
  return currency === 'CNY' ? `${sign}¥${s}` : `${sign}${s} ${currency}`;
}

export function when(iso: string | number, lang: Lang): string {
  return new Date(iso).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB');
}
