import { HttpClient } from '../adapters/http/http-client.js';
import { AliyunSmsNotifier, type FormPost } from '../adapters/notifiers/aliyun-sms-notifier.js';
import { HttpWebhookTransport } from '../adapters/webhooks/http-webhook-transport.js';
import type { Runtime } from '../application/jobs/runtime.js';
import { createWebhooks, webhookNotifier } from '../application/webhooks/webhooks-api.js';
import type { AppConfig } from '../config/load-config.js';
import type { Notifier } from '../ports/notifier.js';
import type { RoutingObserver } from '../ports/routing-observer.js';
import { AliyunSmsSimulator } from '../simulator/aliyun-sms-simulator.js';
import type { Remote } from './build-gateways.js';

/** The access key the embedded SMS simulator and its client share: it guards nothing but the protocol. */
/** The embedded SMS simulator's key id; its secret is this installation's (`simSecret('sms')`). */
const EMBEDDED_SMS_KEY_ID = 'LTAI-embedded-simulator';

/**
 * The webhooks capability from the `webhooks` and `notifications` sections: signed POSTs through
 * the kept-alive HTTP client, and the notifiers that tell a person how a recharge ended — Aliyun
 * SMS (the embedded simulator of it by default, so a fresh start needs no account) and/or the
 * `recharge.notification` webhook event.
 */
export function buildWebhooks(
  config: AppConfig,
  runtime: Runtime,
  remotes: Remote[],
  sms: AliyunSmsSimulator | undefined,
  /** This installation's secret for an embedded simulator, by name (never one written in the source). */
  simSecret: (label: string) => string,
): ReturnType<typeof createWebhooks> & { readonly sms: AliyunSmsSimulator | undefined } {
  const { deps } = runtime;
  const w = config.webhooks;
  const transport = new HttpWebhookTransport({
    timeoutMs: w.timeout_ms,
    now: () => deps.clock.now(),
    allowPrivateAddresses: w.allow_private_addresses,
  });
  remotes.push({ shutdown: () => transport.shutdown() });
  const smsConfig = config.notifications.sms;
  let simulator = sms;
  const notifiers: Notifier[] = [];
  for (const channel of config.notifications.recharge_channels) {
    if (channel === 'webhook') {
      notifiers.push(webhookNotifier(deps));
      continue;
    }
    let post: FormPost;
    let keys: { accessKeyId: string; accessKeySecret: string };
    let regionId = 'cn-hangzhou';
    if (smsConfig.type === 'aliyun') {
      const client = new HttpClient({ baseUrl: smsConfig.endpoint, timeoutMs: smsConfig.timeout_ms, rawStatus: true });
      remotes.push({ shutdown: () => client.close() });
      post = async (body) => {
        const res = await client.request({
          method: 'POST',
          path: '/',
          headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
          body,
        });
        return { status: res.status, body: res.body };
      };
      keys = { accessKeyId: smsConfig.access_key_id, accessKeySecret: smsConfig.access_key_secret };
      regionId = smsConfig.region_id;
    } else {
      const embedded = { accessKeyId: EMBEDDED_SMS_KEY_ID, accessKeySecret: simSecret('sms') };
      const sim = (simulator ??= new AliyunSmsSimulator({ ...embedded, now: () => deps.clock.now() }));
      post = (body) => sim.handle(body);
      keys = embedded;
    }
    notifiers.push(
      new AliyunSmsNotifier({
        ...keys,
        regionId,
        signName: smsConfig.sign_name,
        templateSucceeded: smsConfig.template_succeeded,
        templateFailed: smsConfig.template_failed,
        post,
        now: () => deps.clock.now(),
        logger: deps.logger,
      }),
    );
  }
  const built = createWebhooks(runtime, transport, {
    pollIntervalMs: w.poll_interval_ms,
    batch: w.batch,
    retry: { retryForMs: w.retry_for_seconds * 1000, baseMs: w.retry_base_ms, maxMs: w.retry_max_ms },
    notifiers,
    allowPrivateAddresses: w.allow_private_addresses,
  });
  return { ...built, sms: simulator };
}

/**
 * The router's observer, plus breaker transitions as webhook events (`channel.breaker_opened` /
 * `channel.breaker_closed`) to every tenant's endpoints that take them. Breakers are per
 * instance and never audited, so they come from here, not from the audit log; each instance
 * reports its own (`instance` in the data).
 */
export function breakerEvents(
  inner: RoutingObserver,
  instance: string,
  emit: () => ReturnType<typeof createWebhooks>['api'] | undefined,
  onError: (e: unknown) => void,
): RoutingObserver {
  return {
    callEnded: (channel, outcome) => inner.callEnded(channel, outcome),
    failedOver: (channel, operator) => inner.failedOver(channel, operator),
    breakerChanged: (channel, state, reason) => {
      inner.breakerChanged?.(channel, state, reason);
      const api = emit();
      if (api === undefined) return;
      api
        .emit({
          type: state === 'open' ? 'channel.breaker_opened' : 'channel.breaker_closed',
          lane: `channel:${channel}`,
          data: { channel, state, instance, ...(reason === undefined ? {} : { reason }) },
        })
        .catch(onError);
    },
  };
}
