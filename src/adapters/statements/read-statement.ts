import iconv from 'iconv-lite';
import { Unzip, UnzipInflate, UnzipPassThrough } from 'fflate';
import { StatementHeader, cleanCell, splitCsvLine } from '../../domain/statements/statement-csv.js';
import { StatementInvalidError } from '../../domain/statements/statement-invalid-error.js';
import type { StatementFile, StatementLine } from '../../domain/statements/statement-line.js';
import {
  ALIPAY_COLUMNS,
  WECHAT_COLUMNS,
  WECHAT_SUMMARY_FIRST_COLUMN,
  alipayRow,
  juheOrder,
  wechatRow,
} from '../../domain/statements/statement-rows.js';

export { StatementInvalidError };

/** How much of the file is decoded at a time: memory stays near this, whatever the file's size. */
const SLICE = 64 * 1024;

/**
 * Read a statement file line by line into statement lines: Alipay's trade bill (a zip of GBK
 * CSVs — the detail CSV is read, the 汇总 summary skipped; an unzipped detail CSV is read too),
 * WeChat Pay's trade bill (ALL, SUCCESS or REFUND columns, backtick cells, summary section) and
 * the aggregator's order list (JSON). Columns are found by header name. The bytes are decoded a
 * slice at a time, so a large file never becomes one string. A line that breaks the layout
 * throws {@link StatementInvalidError} (code `STATEMENT_INVALID`) naming the line.
 */
export async function* readStatement(file: StatementFile): AsyncGenerator<StatementLine> {
  switch (file.format) {
    case 'alipay':
      yield* readAlipay(file);
      return;
    case 'wechatpay':
      yield* readCsv(file, textLines(file.bytes, 'utf-8'), 'wechatpay');
      return;
    case 'juhe':
      yield* readJuhe(file);
      return;
    default: {
      const never: never = file.format;
      throw new StatementInvalidError(file.name, null, `unknown format ${String(never)}`);
    }
  }
}

const isZip = (b: Uint8Array): boolean => b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
const hasUtf8Bom = (b: Uint8Array): boolean => b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;

async function* readAlipay(file: StatementFile): AsyncGenerator<StatementLine> {
  if (!isZip(file.bytes)) {
    // A detail CSV someone took out of the zip themselves: GBK as Alipay writes it, unless a BOM says UTF-8.
    yield* readCsv(file, textLines(file.bytes, hasUtf8Bom(file.bytes) ? 'utf-8' : 'gbk'), 'alipay');
    return;
  }
  let details = 0;
  for (const entry of detailEntries(file)) {
    details += 1;
    yield* readCsv(file, entry, 'alipay');
  }
  if (details === 0) throw new StatementInvalidError(file.name, null, 'the zip holds no detail (业务明细) CSV');
}

/**
 * The zip's detail CSVs as decoded text lines, inflated a slice at a time. Alipay names its
 * entries in GBK without the zip's UTF-8 flag; the 汇总 (summary) CSV is skipped by name.
 */
function* detailEntries(file: StatementFile): Generator<Generator<string>> {
  const pieces: Array<{ readonly entry: number; readonly data: Uint8Array; readonly final: boolean }> = [];
  let failure: unknown;
  let entries = 0;
  const unzip = new Unzip((f) => {
    if (entryName(f.name).includes('汇总') || f.name.endsWith('/')) return;
    const entry = entries++;
    f.ondata = (error, data, final) => {
      if (error !== null) failure = error;
      else pieces.push({ entry, data, final });
    };
    f.start();
  });
  unzip.register(UnzipInflate);
  unzip.register(UnzipPassThrough);

  let current = -1;
  let decoder = iconv.getDecoder('gbk');
  let lines: LineSplitter | undefined;
  const drain = function* (): Generator<string | { readonly next: number }> {
    for (const p of pieces.splice(0)) {
      if (p.entry !== current) {
        current = p.entry;
        decoder = iconv.getDecoder('gbk');
        lines = new LineSplitter();
        yield { next: p.entry };
      }
      yield* lines?.push(decoder.write(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength))) ?? [];
      if (p.final) yield* lines?.end(decoder.end() ?? '') ?? [];
    }
  };
  // The outer generator hands out one inner generator per entry; both pull from the same pump.
  const pump = function* (): Generator<string | { readonly next: number }> {
    for (let at = 0; at < file.bytes.length || at === 0; at += SLICE) {
      const final = at + SLICE >= file.bytes.length;
      try {
        unzip.push(file.bytes.subarray(at, at + SLICE), final);
      } catch (e) {
        failure = e;
      }
      if (failure !== undefined)
        throw new StatementInvalidError(
          file.name,
          null,
          `the zip cannot be read: ${failure instanceof Error ? failure.message : 'broken data'}`,
        );
      yield* drain();
      if (final) return;
    }
  };
  const source = pump();
  let step = source.next();
  while (step.done !== true) {
    if (typeof step.value === 'string') {
      step = source.next();
      continue;
    }
    const inner = function* (): Generator<string> {
      step = source.next();
      while (step.done !== true && typeof step.value === 'string') {
        yield step.value;
        step = source.next();
      }
    };
    yield inner();
  }
}

/** A zip entry's name: without the UTF-8 flag fflate reads the bytes as Latin-1; Alipay's are GBK. */
function entryName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\u0000-\u00ff]*$/.test(name) ? iconv.decode(Buffer.from(name, 'latin1'), 'gbk') : name;
}

/** Cuts decoded text into lines, keeping the unfinished tail for the next piece. */
class LineSplitter {
  private tail = '';

  *push(text: string): Generator<string> {
    const parts = (this.tail + text).split('\n');
    this.tail = parts.pop() ?? '';
    for (const p of parts) yield p.endsWith('\r') ? p.slice(0, -1) : p;
  }

  *end(text: string): Generator<string> {
    yield* this.push(text);
    if (this.tail !== '') yield this.tail;
    this.tail = '';
  }
}

/** The bytes as text lines, decoded a slice at a time (a multi-byte character split across slices is kept whole). */
function* textLines(bytes: Uint8Array, encoding: 'utf-8' | 'gbk'): Generator<string> {
  const start = encoding === 'utf-8' && hasUtf8Bom(bytes) ? 3 : 0;
  const decoder = iconv.getDecoder(encoding);
  const lines = new LineSplitter();
  for (let at = start; at < bytes.length; at += SLICE) {
    const slice = bytes.subarray(at, Math.min(at + SLICE, bytes.length));
    yield* lines.push(decoder.write(Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength)));
  }
  yield* lines.end(decoder.end() ?? '');
}

/**
 * The CSV layouts: `#` lines (Alipay's preamble and footer) and blank lines are skipped
 * anywhere; the first other line is the header; WeChat's data rows end at its summary section.
 */
async function* readCsv(
  file: StatementFile,
  lines: Iterable<string>,
  layout: 'alipay' | 'wechatpay',
): AsyncGenerator<StatementLine> {
  let header: StatementHeader | undefined;
  let number = 0;
  let rows = 0;
  for (const raw of lines) {
    number += 1;
    const line = number === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const cells = splitCsvLine(line);
    if (header === undefined) {
      header = new StatementHeader(cells, file.name, number);
      header.require(
        layout === 'alipay'
          ? [ALIPAY_COLUMNS.outTradeNo, ALIPAY_COLUMNS.type, ALIPAY_COLUMNS.amount]
          : [WECHAT_COLUMNS.outTradeNo, WECHAT_COLUMNS.state, WECHAT_COLUMNS.time],
      );
      continue;
    }
    if (layout === 'wechatpay' && cleanCell(cells[0] ?? '') === WECHAT_SUMMARY_FIRST_COLUMN) break;
    const ctx = { header, cells, line: number, file: file.name };
    rows += 1;
    yield layout === 'alipay' ? alipayRow(ctx) : wechatRow(ctx);
    // Hand the event loop a turn now and then: a 100k-line file must not block other requests.
    if (rows % 1000 === 0) await new Promise<void>((r) => setImmediate(r));
  }
  if (header === undefined) throw new StatementInvalidError(file.name, null, 'the file has no header row');
}

/** The aggregator's order list: `{reason, result: [orders], error_code}` (the Juhe answer shape). */
// eslint-disable-next-line @typescript-eslint/require-await -- one shape with the streamed readers
async function* readJuhe(file: StatementFile): AsyncGenerator<StatementLine> {
  let doc: unknown;
  try {
    doc = JSON.parse(
      iconv.decode(Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength), 'utf-8'),
    );
  } catch {
    throw new StatementInvalidError(file.name, null, 'the order list is not JSON');
  }
  const d = doc as { error_code?: unknown; reason?: unknown; result?: unknown } | null;
  if (typeof d !== 'object' || d === null)
    throw new StatementInvalidError(file.name, null, 'the order list is not an object');
  if (d.error_code !== 0 && d.error_code !== '0')
    throw new StatementInvalidError(
      file.name,
      null,
      `the order list is an error answer: ${String(d.reason)} (${String(d.error_code)})`,
    );
  if (!Array.isArray(d.result)) throw new StatementInvalidError(file.name, null, 'result is not a list of orders');
  let n = 0;
  for (const order of d.result as unknown[]) {
    n += 1;
    yield juheOrder(order, n, file.name);
  }
}
