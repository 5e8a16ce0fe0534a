import { declaredXmlEncoding, looksLikeXml, parseCatalog } from './catalog';
import { parseCsv, unguardFormula } from './csv';
import { decodeText, detectEncoding, type TextEncoding } from './decode';
import type { ParsedTable } from './fields';
import { TableError } from './table';
import { lazyRequire } from '../../lib/lazy';
import type * as XlsxModule from './xlsx';

export type ImportFormat = ParsedTable['format'];

export interface ParseOptions {
  /** Explicit format; otherwise from the file's first bytes, then its name. */
  format?: ImportFormat;
  encoding?: TextEncoding;
  filename?: string;
}

const zipMagic = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const oleMagic = Buffer.from([0xd0, 0xcf, 0x11, 0xe0]);

export function sniffFormat(buf: Buffer, filename?: string): ImportFormat {
  if (buf.subarray(0, 4).equals(zipMagic)) return 'xlsx';
  if (buf.subarray(0, 4).equals(oleMagic)) {
    throw new TableError('old Excel .xls files are not supported: save the sheet as .xlsx or CSV');
  }
  const ext = filename?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  if (ext === 'xlsx') return 'xlsx';
  if (ext === 'xml' || looksLikeXml(buf)) return 'gb28181';
  return 'csv';
}

export interface ParseResult extends ParsedTable {
  skipped: number;
}

/** Reads an uploaded file into source rows. File-level problems throw TableError (→ 400). */
export async function parseImportFile(buf: Buffer, opts: ParseOptions = {}): Promise<ParseResult> {
  if (buf.length === 0) throw new TableError('the file is empty');
  const format = opts.format ?? sniffFormat(buf, opts.filename);
  switch (format) {
    case 'xlsx': {
      // exceljs only when a sheet comes (it costs ~0.5 s to load; read.ts imports this module for sniffFormat)
      const { parseXlsx } = lazyRequire<typeof XlsxModule>(__filename, './xlsx');
      const t = await parseXlsx(buf);
      return { format, encoding: 'utf-8', ...t, skipped: 0 };
    }
    case 'gb28181': {
      const encoding = detectEncoding(buf, { explicit: opts.encoding, declared: declaredXmlEncoding(buf) });
      const c = parseCatalog(decodeText(buf, encoding));
      return { format, encoding, rows: c.rows, ignoredColumns: c.ignoredColumns, skipped: c.skipped };
    }
    case 'csv': {
      const encoding = detectEncoding(buf, { explicit: opts.encoding });
      const text = decodeText(buf, encoding);
      if (text.includes('\u0000')) throw new TableError('the file contains NUL bytes: it is not a CSV text file');
      const t = parseCsv(text);
      for (const row of t.rows) {
        for (const k of Object.keys(row.values) as Array<keyof typeof row.values>) {
          const v = row.values[k];
          if (v !== undefined) row.values[k] = unguardFormula(v);
        }
      }
      return { format, encoding, ...t, skipped: 0 };
    }
  }
}
