import { StringDecoder } from 'node:string_decoder';
import type { BatchLine } from './recharge-batch.js';

/**
 * Split a byte stream into numbered lines as it arrives (UTF-8, `\n` or `\r\n`, a leading BOM
 * dropped). Each chunk is read only when the previous lines have been consumed, so a slow
 * consumer holds back the producer instead of buffering the file; a line longer than
 * `maxLineChars` is cut there (the rest is skipped), so no line can exhaust memory.
 */
export async function* readLines(
  source: AsyncIterable<Uint8Array | string>,
  maxLineChars = 1024,
): AsyncGenerator<BatchLine> {
  const decoder = new StringDecoder('utf8');
  let current = '';
  let overlong = false;
  let line = 0;
  const take = (piece: string): void => {
    if (overlong) return;
    current += piece;
    if (current.length > maxLineChars) {
      current = current.slice(0, maxLineChars + 1);
      overlong = true;
    }
  };
  const finish = (): BatchLine => {
    line += 1;
    let text = current.endsWith('\r') ? current.slice(0, -1) : current;
    if (line === 1 && text.startsWith('\uFEFF')) text = text.slice(1);
    current = '';
    overlong = false;
    return { line, text };
  };
  for await (const chunk of source) {
    const s =
      typeof chunk === 'string' ? chunk : decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    let from = 0;
    for (let nl = s.indexOf('\n', from); nl !== -1; nl = s.indexOf('\n', from)) {
      take(s.slice(from, nl));
      yield finish();
      from = nl + 1;
    }
    take(s.slice(from));
  }
  take(decoder.end());
  if (current !== '' || overlong) yield finish();
}
