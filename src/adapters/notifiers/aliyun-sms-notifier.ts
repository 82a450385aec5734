import { randomUUID } from 'node:crypto';
import { maskPhone } from '../../domain/mask.js';
import type { Logger } from '../../ports/logger.js';
import type { Notifier, NotifyResult, RechargeNotice } from '../../ports/notifier.js';
import { signedForm } from './aliyun-sms-signing.js';

/** One form POST and its answer: the real HTTP client, or the embedded simulator. */
export type FormPost = (body: string) => Promise<{ readonly status: number; readonly body: string }>;

export interface AliyunSmsOptions {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** The approved signature (签名) the message is sent under. */
  readonly signName: string;
  /** Approved templates for a recharge that succeeded and one that failed, e.g. SMS_123456789. */
  readonly templateSucceeded: string;
  readonly templateFailed: string;
  readonly regionId: string;
  readonly post: FormPost;
  readonly now: () => number;
  readonly logger: Logger;
}

/** Fen as yuan with two decimals, as a message shows money: 2000 → "20.00". */
const yuan = (fen: number): string => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;

/**
 * Aliyun (Alibaba Cloud) SMS `SendSms`, API version 2017-05-25, over its RPC protocol: the common
 * parameters and the message's, signed (HMAC-SHA1, `aliyun-sms-signing.ts`), POSTed as a form to
 * the endpoint. The template parameters name the amount and how it ended, never the number
 * (the message goes to it). `OutId` carries the recharge id, so the provider's receipts name it.
 * The number appears in logs masked only; an answer other than Code "OK" throws (the job retries).
 */
export class AliyunSmsNotifier implements Notifier {
  readonly channel = 'sms';

  constructor(private readonly o: AliyunSmsOptions) {}

  async notifyRecharge(n: RechargeNotice): Promise<NotifyResult> {
    const params: Record<string, string> = {
      AccessKeyId: this.o.accessKeyId,
      Action: 'SendSms',
      Format: 'JSON',
      RegionId: this.o.regionId,
      SignatureMethod: 'HMAC-SHA1',
      SignatureNonce: randomUUID(),
      SignatureVersion: '1.0',
      Timestamp: new Date(this.o.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      Version: '2017-05-25',
      PhoneNumbers: n.phone,
      SignName: this.o.signName,
      TemplateCode: n.status === 'SUCCEEDED' ? this.o.templateSucceeded : this.o.templateFailed,
      TemplateParam: JSON.stringify({ amount: yuan(n.amount), status: n.status === 'SUCCEEDED' ? '成功' : '失败' }),
      OutId: n.rechargeId,
    };
    const to = maskPhone(n.phone);
    const res = await this.o.post(signedForm(params, this.o.accessKeySecret));
    let answer: { Code?: unknown; Message?: unknown; BizId?: unknown };
    try {
      answer = JSON.parse(res.body) as typeof answer;
    } catch {
      answer = {};
    }
    if (res.status !== 200 || answer.Code !== 'OK') {
      const code = typeof answer.Code === 'string' ? answer.Code : `HTTP ${res.status}`;
      this.o.logger.warn({ to, recharge_id: n.rechargeId, code }, 'SMS not sent');
      throw new Error(`SendSms refused: ${code}`);
    }
    const bizId = typeof answer.BizId === 'string' ? answer.BizId : null;
    this.o.logger.info({ to, recharge_id: n.rechargeId, biz_id: bizId }, 'SMS sent');
    return { channel: 'sms', reference: bizId };
  }
}
