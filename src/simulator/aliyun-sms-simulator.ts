import { createHash, createHmac } from 'node:crypto';

/** One message the simulated provider accepted: its ground truth. */
export interface SimulatedSms {
  readonly phone: string;
  readonly signName: string;
  readonly templateCode: string;
  readonly templateParam: Readonly<Record<string, unknown>>;
  readonly outId: string | null;
  readonly bizId: string;
}

export interface AliyunSmsSimulatorOptions {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** Requests whose Timestamp is further than this from now are refused (default 15 minutes). */
  readonly windowMs?: number;
  readonly now?: () => number;
}

/**
 * The provider's percent-encoding, written here on its own (byte by byte from the rule, not the
 * client's encodeURIComponent route), so the simulator checks the client instead of agreeing
 * with it: unreserved A–Z a–z 0–9 - _ . ~ stay, every other UTF-8 byte is %XY.
 */
function providerEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The signature the provider expects for these received parameters (POST). */
function expectedSignature(p: Readonly<Record<string, string>>, secret: string): string {
  const canonical = Object.keys(p)
    .filter((k) => k !== 'Signature')
    .sort()
    .map((k) => `${providerEncode(k)}=${providerEncode(p[k] ?? '')}`)
    .join('&');
  const toSign = `POST&${providerEncode('/')}&${providerEncode(canonical)}`;
  return createHmac('sha1', `${secret}&`).update(toSign, 'utf8').digest('base64');
}

/**
 * Aliyun SMS `SendSms` as the provider answers it, for tests and the embedded default: checks the
 * RPC signature as the provider does (recomputed from the received parameters), the access key,
 * the Timestamp window, that a SignatureNonce is used once, and the message's own parameters;
 * answers with the provider's JSON (`Code` "OK" and a BizId, or its error codes). `handle` takes
 * the form body of a POST; `messages` is what was sent.
 */
export class AliyunSmsSimulator {
  readonly messages: SimulatedSms[] = [];
  private readonly nonces = new Set<string>();
  /** Answers to give instead of accepting (chaos): e.g. ["isv.BUSINESS_LIMIT_CONTROL"]. */
  readonly failNext: string[] = [];

  constructor(private readonly o: AliyunSmsSimulatorOptions) {}

  handle(body: string): Promise<{ status: number; body: string }> {
    const params = Object.fromEntries(new URLSearchParams(body));
    return Promise.resolve(this.answer(params));
  }

  private answer(p: Record<string, string>): { status: number; body: string } {
    const requestId = createHash('sha256')
      .update(p.SignatureNonce ?? '')
      .digest('hex')
      .slice(0, 32)
      .toUpperCase();
    const refuse = (status: number, code: string, message: string) => ({
      status,
      body: JSON.stringify({ RequestId: requestId, Code: code, Message: message }),
    });
    for (const k of ['AccessKeyId', 'Action', 'SignatureNonce', 'Signature', 'Timestamp', 'Version']) {
      if (p[k] === undefined || p[k] === '') return refuse(400, 'MissingParameter', `${k} is mandatory`);
    }
    if (p.AccessKeyId !== this.o.accessKeyId)
      return refuse(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
    if (p.SignatureMethod !== 'HMAC-SHA1' || p.SignatureVersion !== '1.0')
      return refuse(400, 'InvalidParameter', 'SignatureMethod HMAC-SHA1, SignatureVersion 1.0');
    if (expectedSignature(p, this.o.accessKeySecret) !== p.Signature)
      return refuse(400, 'SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.');
    const at = Date.parse(p.Timestamp ?? '');
    const now = (this.o.now ?? Date.now)();
    if (!Number.isFinite(at) || Math.abs(now - at) > (this.o.windowMs ?? 15 * 60_000))
      return refuse(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
    if (this.nonces.has(p.SignatureNonce ?? ''))
      return refuse(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
    this.nonces.add(p.SignatureNonce ?? '');
    if (p.Action !== 'SendSms' || p.Version !== '2017-05-25')
      return refuse(400, 'InvalidAction.NotFound', 'Specified api is not found.');
    if (!/^(?:\+?86)?1[3-9]\d{9}$/.test(p.PhoneNumbers ?? ''))
      return refuse(200, 'isv.MOBILE_NUMBER_ILLEGAL', 'invalid mobile number');
    if ((p.SignName ?? '') === '') return refuse(200, 'isv.SMS_SIGNATURE_ILLEGAL', 'invalid SignName');
    if (!/^SMS_\d+$/.test(p.TemplateCode ?? '')) return refuse(200, 'isv.SMS_TEMPLATE_ILLEGAL', 'invalid TemplateCode');
    let templateParam: Record<string, unknown>;
    try {
      templateParam = JSON.parse(p.TemplateParam ?? '{}') as Record<string, unknown>;
    } catch {
      return refuse(200, 'isv.INVALID_JSON_PARAM', 'TemplateParam is not JSON');
    }
    const chaos = this.failNext.shift();
    if (chaos !== undefined) return refuse(200, chaos, 'simulated refusal');
    const bizId = `${this.messages.length + 1}^${requestId.slice(0, 12)}`;
    this.messages.push({
      phone: p.PhoneNumbers ?? '',
      signName: p.SignName ?? '',
      templateCode: p.TemplateCode ?? '',
      templateParam,
      outId: p.OutId ?? null,
      bizId,
    });
    return { status: 200, body: JSON.stringify({ RequestId: requestId, Code: 'OK', Message: 'OK', BizId: bizId }) };
  }
}
