import { StatementInvalidError } from './statement-invalid-error.js';

/**
 * The pure half of reading the bills' CSV: splitting one line into cells, cleaning the cells
 * the channels decorate, and finding columns by header name (the SUCCESS and REFUND bills, and
 * any future layout change, move columns around; their names stay).
 */

/**
 * Split one CSV line into cells. Quoted cells ("a,b", with "" for a quote) are honoured; the
 * bills never break a cell across lines.
 */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && (cell.trim() === '' || cell.trim() === '`')) {
      // WeChat's backtick may come before a quoted cell; keep it for cleanCell to take off.
      quoted = true;
      cell = cell.trim();
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells;
}

/**
 * A cell as the bill means it: Alipay pads every cell with a trailing tab (so spreadsheet
 * programs keep long numbers as text), WeChat prefixes every data cell with a backtick.
 */
export function cleanCell(cell: string): string {
  const trimmed = cell.trim();
  return (trimmed.startsWith('`') ? trimmed.slice(1) : trimmed).trim();
}

/** Header names compared without the width of their brackets or spaces: 订单金额（元） = 订单金额(元). */
export function normaliseHeaderName(name: string): string {
  return cleanCell(name).replace(/（/g, '(').replace(/）/g, ')').replace(/\s+/g, '');
}

/** A header row: the cells of a data row found by column name. */
export class StatementHeader {
  private readonly index = new Map<string, number>();
  /** Column name as asked → its position: rows ask the same few names thousands of times. */
  private readonly asked = new Map<string, number | undefined>();

  constructor(
    cells: readonly string[],
    private readonly file: string,
    private readonly line: number,
  ) {
    cells.forEach((c, i) => {
      const name = normaliseHeaderName(c);
      if (name !== '' && !this.index.has(name)) this.index.set(name, i);
    });
  }

  has(name: string): boolean {
    return this.index.has(normaliseHeaderName(name));
  }

  /** Refuse a header that lacks a column this layout needs, naming the column. */
  require(names: readonly string[]): void {
    const missing = names.filter((n) => !this.has(n));
    if (missing.length > 0)
      throw new StatementInvalidError(this.file, this.line, `the header lacks column(s) ${missing.join(', ')}`);
  }

  /** The cleaned cell under `name` in `cells`; undefined when the header has no such column. */
  cell(cells: readonly string[], name: string): string | undefined {
    let i = this.asked.get(name);
    if (i === undefined && !this.asked.has(name)) {
      i = this.index.get(normaliseHeaderName(name));
      this.asked.set(name, i);
    }
    return i === undefined ? undefined : cleanCell(cells[i] ?? '');
  }
}
