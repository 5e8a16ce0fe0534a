import { buildTable, TableError, type RawRecord, type Table } from './table';

/**
 * RFC 4180 reader: fields separated by commas, records by CRLF or LF (a lone CR too), fields optionally
 * quoted with `"` and a doubled `""` inside quotes. A quoted field may span lines; the record keeps the
 * line it started on. A stray quote inside an unquoted field is kept as text (Excel does the same); text
 * after a closing quote and an unterminated quote are errors naming the line.
 */
export function parseCsvRecords(text: string): RawRecord[] {
  const records: RawRecord[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  let cells: string[] = [];
  let recordLine = 1;
  let cell = '';

  const endRecord = (): void => {
    cells.push(cell);
    records.push({ line: recordLine, cells });
    cells = [];
    cell = '';
  };

  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */ && cell === '') {
      // quoted field
      const startLine = line;
      i++;
      let buf = '';
      for (;;) {
        if (i >= n) throw new TableError(`line ${startLine}: quoted field is never closed`);
        const c = text.charCodeAt(i);
        if (c === 0x22) {
          if (text.charCodeAt(i + 1) === 0x22) {
            buf += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) line++;
        buf += text[i];
        i++;
      }
      cell = buf;
      const next = text.charCodeAt(i);
      if (i < n && next !== 0x2c && next !== 0x0a && next !== 0x0d) {
        throw new TableError(`line ${line}: unexpected text after a closing quote in column ${cells.length + 1}`);
      }
      continue;
    }
    if (ch === 0x2c /* , */) {
      cells.push(cell);
      cell = '';
      i++;
      continue;
    }
    if (ch === 0x0d || ch === 0x0a) {
      endRecord();
      i += ch === 0x0d && text.charCodeAt(i + 1) === 0x0a ? 2 : 1;
      line++;
      recordLine = line;
      continue;
    }
    // unquoted run up to the next separator
    let j = i;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === 0x2c || c === 0x0a || c === 0x0d) break;
      j++;
    }
    cell += text.slice(i, j);
    i = j;
  }
  if (cell !== '' || cells.length > 0) {
    endRecord();
  }
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
