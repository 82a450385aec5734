import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type DefaultTheme } from 'vitepress';

const root = fileURLToPath(new URL('..', import.meta.url));

type Item = DefaultTheme.SidebarItem;

/**
 * Pages other branches are writing (audit, simulation, payers and flows, the console,
 * observability) appear in the sidebar once their file exists, so the merge needs no edit here.
 */
function page(prefix: string, text: string, link: string): Item[] {
  return existsSync(`${root}${prefix}${link}.md`) ? [{ text, link: `/${prefix}${link}` }] : [];
}

function sidebar(prefix: '' | 'zh/', t: Record<string, string>): DefaultTheme.Sidebar {
  const p = (text: string, link: string): Item[] => page(prefix, text, link);
  return [
    { text: t.start!, items: [...p(t.gettingStarted!, 'guide/getting-started')] },
    {
      text: t.concepts!,
      items: [
        ...p(t.orders!, 'concepts/orders'),
        ...p(t.payments!, 'concepts/payments'),
        ...p(t.refunds!, 'concepts/refunds'),
        ...p(t.recharge!, 'concepts/recharge'),
        ...p(t.policy!, 'concepts/policy-and-mandates'),
        ...p(t.ledger!, 'concepts/ledger'),
        ...p(t.idempotency!, 'concepts/idempotency'),
        ...p(t.words!, 'concepts/words-to-intent'),
        ...p(t.architecture!, 'concepts/architecture'),
      ],
    },
    {
      text: t.guides!,
      items: [
        ...p(t.auth!, 'guide/authentication'),
        ...p(t.http!, 'guide/http-api'),
        ...p(t.cliGuide!, 'guide/cli'),
        ...p(t.configuration!, 'guide/configuration'),
        ...p(t.postgres!, 'guide/production-postgresql'),
        ...p(t.instances!, 'guide/several-instances'),
        ...p(t.gateways!, 'guide/alipay-and-wechat-pay'),
        ...p(t.aggregator!, 'guide/aggregator'),
        ...p(t.payers!, 'guide/payers-and-flows'),
        ...p(t.mcp!, 'guide/mcp'),
        ...p(t.webhooks!, 'guide/webhooks'),
        ...p(t.reconciliation!, 'guide/reconciliation'),
        ...p(t.security!, 'guide/data-at-rest'),
        ...p(t.simulator!, 'guide/standalone-simulator'),
        ...p(t.simulation!, 'guide/simulation'),
        ...p(t.audit!, 'guide/audit'),
        ...p(t.console!, 'guide/console'),
      ],
    },
    {
      text: t.operations!,
      items: [
        ...p(t.deploy!, 'operations/deploy'),
        ...p(t.metrics!, 'operations/metrics'),
        ...p(t.alerts!, 'operations/alerts'),
        ...p(t.observability!, 'operations/observability'),
        ...p(t.backup!, 'operations/backup-restore'),
        ...p(t.upgrades!, 'operations/upgrades'),
        ...p(t.performance!, 'performance'),
      ],
    },
    {
      text: t.reference!,
      items: [
        ...p(t.config!, 'reference/configuration'),
        ...p(t.errors!, 'reference/error-codes'),
        ...p(t.cli!, 'reference/cli'),
        ...p(t.api!, 'reference/http-api'),
        ...p(t.deps!, 'dependencies'),
      ],
    },
  ];
}

const en = {
  start: 'Start',
  gettingStarted: 'Getting started',
  concepts: 'Concepts',
  orders: 'Orders',
  payments: 'Payments',
  refunds: 'Refunds',
  recharge: 'Phone recharge',
  policy: 'Policy and mandates',
  ledger: 'The ledger',
  idempotency: 'Idempotency',
  words: 'Words to intent',
  architecture: 'Architecture',
  cliGuide: 'The command line',
  configuration: 'Configuration',
  guides: 'Guides',
  auth: 'Authentication',
  http: 'Using the HTTP API',
  postgres: 'Production on PostgreSQL',
  instances: 'Several instances',
  gateways: 'Alipay and WeChat Pay',
  aggregator: 'A recharge aggregator',
  payers: 'Payers and flows',
  mcp: 'MCP clients',
  webhooks: 'Webhooks',
  reconciliation: 'Reconciliation',
  security: 'Data at rest and in transit',
  simulator: 'The standalone simulator',
  simulation: 'Simulation',
  audit: 'Audit',
  console: 'The console',
  operations: 'Operations',
  deploy: 'Deploy',
  metrics: 'Metrics',
  alerts: 'Alerts',
  observability: 'Observability',
  backup: 'Backup and restore',
  upgrades: 'Upgrades',
  performance: 'Performance',
  reference: 'Reference',
  config: 'Configuration',
  errors: 'Error codes',
  cli: 'CLI',
  api: 'HTTP API',
  deps: 'Dependencies',
};

const zh: typeof en = {
  start: '开始',
  gettingStarted: '快速上手',
  concepts: '概念',
  orders: '订单',
  payments: '支付',
  refunds: '退款',
  recharge: '话费充值',
  policy: '策略与授权',
  ledger: '账本',
  idempotency: '幂等',
  words: '从自然语言到意图',
  architecture: '架构',
  cliGuide: '命令行',
  configuration: '配置',
  guides: '指南',
  auth: '身份认证',
  http: '使用 HTTP API',
  postgres: '在 PostgreSQL 上投产',
  instances: '多实例运行',
  gateways: '接入支付宝与微信支付',
  aggregator: '接入充值聚合平台',
  payers: '付款人与流程',
  mcp: 'MCP 客户端',
  webhooks: 'Webhook',
  reconciliation: '对账',
  security: '数据加密与传输安全',
  simulator: '独立模拟器',
  simulation: '仿真',
  audit: '审计',
  console: '控制台',
  operations: '运维',
  deploy: '部署',
  metrics: '指标',
  alerts: '告警',
  observability: '可观测性',
  backup: '备份与恢复',
  upgrades: '升级',
  performance: '性能',
  reference: '参考',
  config: '配置',
  errors: '错误码',
  cli: '命令行',
  api: 'HTTP API',
  deps: '依赖',
};

export default defineConfig({
  title: 'Open-AutoGLM',
  description: 'Let a language-model agent carry out real transactions, exactly once.',
  cleanUrls: true,
  lastUpdated: false,
  ignoreDeadLinks: [/^https?:\/\/(127\.0\.0\.1|localhost)/],
  locales: {
    root: {
      label: 'English',
      lang: 'en',
      themeConfig: { sidebar: sidebar('', en), nav: [{ text: en.gettingStarted, link: '/guide/getting-started' }] },
    },
    zh: {
      label: '简体中文',
      lang: 'zh-CN',
      link: '/zh/',
      title: 'Open-AutoGLM',
      description: '让大模型智能体安全地完成真实交易，资金流转恰好一次。',
      themeConfig: {
        sidebar: sidebar('zh/', zh),
        nav: [{ text: zh.gettingStarted, link: '/zh/guide/getting-started' }],
        outline: { label: '本页目录' },
        docFooter: { prev: '上一页', next: '下一页' },
      },
    },
  },
  themeConfig: {
    search: { provider: 'local' },
    outline: { level: [2, 3] },
  },
});
