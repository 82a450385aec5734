import QRCode from 'qrcode';

/** What a waiting payment hands its payer, as an order answer carries it. */
interface PayerAction {
  readonly qr_code?: unknown;
  readonly pay_url?: unknown;
  readonly expires_at?: unknown;
}

/**
 * The lines that let a person pay a waiting QR payment from the terminal: the QR code itself
 * (drawn by `qrcode`'s terminal renderer, scannable by a phone), the page to open, and until
 * when. None when the order's payment waits for nobody.
 */
export async function payerLines(payment: PayerAction | null | undefined): Promise<string[]> {
  const qr = payment?.qr_code;
  if (typeof qr !== 'string' || qr.length === 0) return [];
  const url = typeof payment?.pay_url === 'string' ? payment.pay_url : undefined;
  const until = typeof payment?.expires_at === 'string' ? ` before ${payment.expires_at}` : '';
  const drawn = await QRCode.toString(qr, { type: 'terminal', small: true });
  return [
    `pay     scan this with the payment app${url === undefined ? '' : `, or open ${url}`}${until}`,
    drawn.trimEnd(),
    ...(url === undefined ? [`qr      ${qr}`] : []),
  ];
}
