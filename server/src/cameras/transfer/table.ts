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

export function buildTable(records: RawRecord[], opts: { transform?: (value: string) => string } = {}): Table {
  let headerAt = -1;
  let seen = 0;
  for (let i = 0; i < records.length && seen < HEADER_SEARCH_ROWS; i++) {
    if (isBlank(records[i].cells)) continue;
    seen++;
    if (looksLikeHeader(records[i].cells)) {
      headerAt = i;
      break;
    }
  }
  if (headerAt < 0) {
    throw new TableError(
      records.length === 0 || records.every((r) => isBlank(r.cells))
        ? 'the file has no rows'
        : `no header row found in the first ${HEADER_SEARCH_ROWS} rows: a header needs a 国标编码 (gbCode) column and at least one other known column`,
    );
  }
  let mapping;
  try {
    mapping = mapHeader(records[headerAt].cells);
  } catch (err) {
    if (err instanceof HeaderError) throw new TableError(`line ${records[headerAt].line}: ${err.message}`);
    throw err;
  }
  const width = mapping.columns.length;
  const rows: SourceRow[] = [];
  for (let i = headerAt + 1; i < records.length; i++) {
    const rec = records[i];
    if (isBlank(rec.cells)) continue;
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
      values[field] = opts.transform ? opts.transform(raw) : raw;
    }
    rows.push(row);
  }
  const columns = mapping.columns.filter((c): c is TransferField => c !== undefined);
  return { rows, ignoredColumns: mapping.ignored, columns, headerText: mapping.headerText };
}
