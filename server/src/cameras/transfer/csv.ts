import { buildTable, TableError, type RawRecord, type Table } from './table';

/** A single field (or record) longer than this is refused: an unclosed quote must not buffer the whole file. */
export const MAX_CSV_FIELD_CHARS = 1_000_000;

/**
 * RFC 4180 reader: fields separated by commas, records by CRLF or LF (a lone CR too), fields optionally
 * quoted with `"` and a doubled `""` inside quotes. A quoted field may span lines; the record keeps the
 * line it started on. A stray quote inside an unquoted field is kept as text (Excel does the same); text
 * after a closing quote and an unterminated quote are errors naming the line.
 *
 * Incremental: `push` takes the text in pieces of any size (a quoted field, a `""` or a CRLF may be split
 * between two pieces) and returns the records completed so far; `end` returns the last one. Memory is one
 * record, at most MAX_CSV_FIELD_CHARS per field.
 */
export class CsvRecordReader {
  private line = 1;
  private recordLine = 1;
  private cells: string[] = [];
  private cell = '';
  /** 0: in or before an unquoted field; 1: inside quotes; 2: right after a closing quote. */
  private state: 0 | 1 | 2 = 0;
  private quoteLine = 1;
  /** Trailing `"` / CR held back until the next piece tells what they are (`""`, CRLF). */
  private carry = '';

  push(piece: string): RawRecord[] {
    const text = this.carry + piece;
    let k = text.length;
    while (k > 0) {
      const c = text.charCodeAt(k - 1);
      if (c !== 0x22 && c !== 0x0d) break;
      k--;
    }
    this.carry = text.slice(k);
    const out: RawRecord[] = [];
    this.run(k === text.length ? text : text.slice(0, k), out);
    return out;
  }

  end(): RawRecord[] {
    const out: RawRecord[] = [];
    const rest = this.carry;
    this.carry = '';
    this.run(rest, out);
    if (this.state === 1) throw new TableError(`line ${this.quoteLine}: quoted field is never closed`);
    if (this.cell !== '' || this.cells.length > 0) this.endRecord(out);
    return out;
  }

  private endRecord(out: RawRecord[]): void {
    this.cells.push(this.cell);
    out.push({ line: this.recordLine, cells: this.cells });
    this.cells = [];
    this.cell = '';
  }

  private tooLong(): never {
    throw new TableError(`line ${this.recordLine}: a field longer than ${MAX_CSV_FIELD_CHARS} characters (an unclosed quote?)`);
  }

  private run(text: string, out: RawRecord[]): void {
    const n = text.length;
    let i = 0;
    while (i < n) {
      if (this.state === 1) {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === 0x22) break;
          if (c === 0x0a || (c === 0x0d && text.charCodeAt(j + 1) !== 0x0a)) this.line++;
          j++;
        }
        this.cell += text.slice(i, j);
        if (this.cell.length > MAX_CSV_FIELD_CHARS) this.tooLong();
        if (j >= n) return;
        if (text.charCodeAt(j + 1) === 0x22) {
          this.cell += '"';
          i = j + 2;
          continue;
        }
        i = j + 1;
        this.state = 2;
        continue;
      }
      const ch = text.charCodeAt(i);
      if (this.state === 2) {
        if (ch !== 0x2c && ch !== 0x0a && ch !== 0x0d) {
          throw new TableError(`line ${this.line}: unexpected text after a closing quote in column ${this.cells.length + 1}`);
        }
        this.state = 0;
      }
      if (ch === 0x22 /* " */ && this.cell === '') {
        this.state = 1;
        this.quoteLine = this.line;
        i++;
        continue;
      }
      if (ch === 0x2c /* , */) {
        this.cells.push(this.cell);
        this.cell = '';
        i++;
        continue;
      }
      if (ch === 0x0d || ch === 0x0a) {
        this.endRecord(out);
        i += ch === 0x0d && text.charCodeAt(i + 1) === 0x0a ? 2 : 1;
        this.line++;
        this.recordLine = this.line;
        continue;
      }
      // unquoted run up to the next separator
      let j = i;
      while (j < n) {
        const c = text.charCodeAt(j);
        if (c === 0x2c || c === 0x0a || c === 0x0d) break;
        j++;
      }
      this.cell += text.slice(i, j);
      if (this.cell.length > MAX_CSV_FIELD_CHARS) this.tooLong();
      i = j;
    }
  }
}

/** The whole text at once (see CsvRecordReader). */
export function parseCsvRecords(text: string): RawRecord[] {
  const r = new CsvRecordReader();
  const records = r.push(text);
  for (const rec of r.end()) records.push(rec);
  return records;
}

export function parseCsv(text: string): Table {
  return buildTable(parseCsvRecords(text));
}

const needsQuote = /[",\r\n]|^\s|\s$/;
const formulaStart = /^[=+\-@\t\r]/;
const plainNumber = /^[+-]?\d+(\.\d+)?$/;

/**
 * Text that starts like a formula (=, +, -, @) would be evaluated by Excel when the file is opened (CSV
 * injection, OWASP): it is written with a leading apostrophe, which `unguardFormula` removes on import so
 * the round trip is exact. Plain numbers (a negative longitude) are left alone.
 */
export function guardFormula(value: string): string {
  return formulaStart.test(value) && !plainNumber.test(value) ? `'${value}` : value;
}

export function unguardFormula(value: string): string {
  return value.length > 1 && value[0] === "'" && formulaStart.test(value.slice(1)) && !plainNumber.test(value.slice(1)) ? value.slice(1) : value;
}

/** One CSV field; quoted when it holds a separator, quote, line break or edge whitespace. */
export function csvField(value: string): string {
  if (value === '') return '';
  const v = guardFormula(value);
  return needsQuote.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function csvLine(values: string[]): string {
  return values.map(csvField).join(',') + '\r\n';
}
