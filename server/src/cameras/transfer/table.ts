import { HeaderError, looksLikeHeader, mapHeader, type SourceRow, type TransferField } from './fields';

/** A file-level problem (malformed file, no header): the whole import is refused with 400 and this message. */
export class TableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TableError';
  }
}

export interface RawRecord {
  line: number;
  cells: string[];
  /** Problems found while reading single cells, by column index. */
  cellProblems?: Map<number, string>;
}

/** How many leading rows may precede the header (a title row such as "铁东区视频点位表" is common). */
const HEADER_SEARCH_ROWS = 10;

function isBlank(cells: string[]): boolean {
  return cells.every((c) => c.trim() === '');
}

/**
 * Turns raw records (CSV or XLSX) into source rows: finds the header row among the first rows, maps the
 * columns, skips blank rows, trims values and drops empty ones (an empty cell means "not given").
 */
export interface Table {
  rows: SourceRow[];
  ignoredColumns: string[];
  columns: TransferField[];
  headerText: Partial<Record<TransferField, string>>;
}

type HeaderMapping = ReturnType<typeof mapHeader>;

/** The header a table was read with: what the import's report and the row mapping need of it. */
export interface TableHeader {
  ignoredColumns: string[];
  columns: TransferField[];
  headerText: Partial<Record<TransferField, string>>;
}

/**
 * `buildTable` record by record, for streamed files: records before the header (at most HEADER_SEARCH_ROWS
 * non-blank ones) are looked at and dropped, then each record becomes a source row as it comes.
 */
export class TableBuilder {
  private seen = 0;
  private mapping: HeaderMapping | null = null;

  constructor(private readonly opts: { transform?: (value: string) => string } = {}) {}

  /** The header, once found. */
  get header(): TableHeader | null {
    const m = this.mapping;
    if (!m) return null;
    return { ignoredColumns: m.ignored, columns: m.columns.filter((c): c is TransferField => c !== undefined), headerText: m.headerText };
  }

  push(records: RawRecord[]): SourceRow[] {
    const rows: SourceRow[] = [];
    for (const rec of records) {
      if (this.mapping) {
        const row = this.rowOf(rec, this.mapping);
        if (row) rows.push(row);
        continue;
      }
      if (isBlank(rec.cells)) continue;
      this.seen++;
      if (looksLikeHeader(rec.cells)) {
        try {
          this.mapping = mapHeader(rec.cells);
        } catch (err) {
          if (err instanceof HeaderError) throw new TableError(`line ${rec.line}: ${err.message}`);
          throw err;
        }
        continue;
      }
      if (this.seen >= HEADER_SEARCH_ROWS) throw this.noHeader();
    }
    return rows;
  }

  /** After the last record: refuses a file without a header row. */
  end(): TableHeader {
    const h = this.header;
    if (!h) throw this.noHeader();
    return h;
  }

  private noHeader(): TableError {
    return new TableError(
      this.seen === 0
        ? 'the file has no rows'
        : `no header row found in the first ${HEADER_SEARCH_ROWS} rows: a header needs a 国标编码 (gbCode) column and at least one other known column`,
    );
  }

  private rowOf(rec: RawRecord, mapping: HeaderMapping): SourceRow | null {
    if (isBlank(rec.cells)) return null;
    const width = mapping.columns.length;
    const values: Partial<Record<TransferField, string>> = {};
    const row: SourceRow = { line: rec.line, values };
    for (let c = 0; c < rec.cells.length; c++) {
      const raw = (rec.cells[c] ?? '').trim();
      if (c >= width) {
        if (raw !== '') {
          (row.cellProblems ??= []).push({ field: 'row', reason: `has a value in column ${c + 1} but the header has only ${width} columns` });
          break;
        }
        continue;
      }
      const field = mapping.columns[c];
      if (!field) continue;
      const problem = rec.cellProblems?.get(c);
      if (problem) (row.cellProblems ??= []).push({ field, reason: problem });
      if (raw === '') continue;
      values[field] = this.opts.transform ? this.opts.transform(raw) : raw;
    }
    return row;
  }
}

export function buildTable(records: RawRecord[], opts: { transform?: (value: string) => string } = {}): Table {
  const b = new TableBuilder(opts);
  const rows = b.push(records);
  return { rows, ...b.end() };
}
