import type { Writable } from 'node:stream';
// exceljs' streaming reader decodes UTF-8 only with the fix in lib/exceljs.ts, which must load first
import '../../lib/exceljs';
import ExcelJS from 'exceljs';
import { cellText } from './cells';
import { buildTable, TableError, type RawRecord, type Table } from './table';

/** Reads the first worksheet; the header row is found like in CSV, and a row's line is its sheet row number. */
export async function parseXlsx(buf: Buffer): Promise<Table> {
  const wb = new ExcelJS.Workbook();
  try {
    // exceljs' typings predate Node's generic Buffer
    await wb.xlsx.load(buf as unknown as ArrayBuffer);
  } catch {
    throw new TableError('not a readable XLSX workbook (is it an old .xls file? save it as .xlsx or CSV)');
  }
  const ws = wb.worksheets[0];
  if (!ws) throw new TableError('the workbook has no worksheet');
  const records: RawRecord[] = [];
  ws.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    const cells: string[] = [];
    let problems: Map<number, string> | undefined;
    row.eachCell({ includeEmpty: true }, (cell, col) => {
      const { text, problem } = cellText(cell.value);
      cells[col - 1] = text;
      if (problem) (problems ??= new Map()).set(col - 1, problem);
    });
    for (let i = 0; i < cells.length; i++) cells[i] ??= '';
    records.push({ line: rowNumber, cells, ...(problems ? { cellProblems: problems } : {}) });
  });
  return buildTable(records);
}

export interface XlsxColumn {
  header: string;
  /** Numbers are written as numbers (lon/lat/ports); everything else as text, so codes keep their digits. */
  numeric: boolean;
}

/** Streams a one-sheet workbook; `rows` yields cell values in column order. */
export async function writeXlsx(out: Writable, columns: XlsxColumn[], rows: AsyncIterable<string[]> | Iterable<string[]>): Promise<void> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  const ws = wb.addWorksheet('cameras', { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = columns.map((c) => ({ header: c.header, width: Math.max(10, c.header.length * 2 + 2), style: c.numeric ? {} : { numFmt: '@' } }));
  ws.getRow(1).commit();
  for await (const values of rows) {
    const cells = values.map((v, i) => {
      if (v === '') return null;
      if (columns[i].numeric) {
        const n = Number(v);
        return Number.isFinite(n) ? n : v;
      }
      return v;
    });
    ws.addRow(cells).commit();
  }
  ws.commit();
  await wb.commit();
}
