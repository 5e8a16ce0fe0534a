import fs from 'node:fs';
import zlib from 'node:zlib';
import iconv from 'iconv-lite';
import { loadExcelJS } from '../../lib/lazy';
import { declaredXmlEncoding, parseCatalog } from './catalog';
import { CsvRecordReader, unguardFormula } from './csv';
import { canonicalEncoding, decodeText, hasUtf8Bom, type TextEncoding } from './decode';
import type { SourceRow, TransferField } from './fields';
import { sniffFormat, type ImportFormat } from './parse';
import { TableBuilder, TableError, type RawRecord } from './table';
import { cellText } from './cells';

/**
 * Reading an import file as a stream (the import worker runs this, see worker.ts): the file is read from
 * disk in pieces, decoded (UTF-8 or GB18030, a character split between pieces included), parsed record
 * by record and handed on in batches of source rows; memory is one piece, one record and one batch. An
 * XLSX is first checked for its unzipped size (a zip bomb is refused before anything inflates it for
 * good), then read with exceljs' streaming reader. A catalog XML is read whole (the upload limit bounds it).
 */

/** The file needs more than a configured limit (413). */
export class ImportTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportTooLargeError';
  }
}

export interface ReadOptions {
  format?: ImportFormat;
  encoding?: TextEncoding;
  filename?: string;
  /** Refuse an XLSX whose parts unzip to more than this (IMPORT_XLSX_MAX_UNZIPPED_BYTES). */
  xlsxMaxUnzippedBytes: number;
  batchRows?: number;
}

export interface FileMeta {
  format: ImportFormat;
  encoding: TextEncoding;
  ignoredColumns: string[];
  /** Undefined for catalog XML (each item's own elements are its columns). */
  columns?: TransferField[];
  headerText: Partial<Record<TransferField, string>>;
}

export interface RowSink {
  /** Once, before the first rows. */
  meta(meta: FileMeta): void;
  /** A batch of rows; the reader waits for it (back-pressure). `bytesRead` of the file so far. */
  rows(rows: SourceRow[], bytesRead: number): Promise<void>;
}

const PIECE = 256 * 1024;

/** The first `n` bytes of a file (format sniffing). */
export async function head(file: string, n: number): Promise<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Whether the whole file is valid UTF-8, read in pieces (stops at the first bad byte). */
async function isValidUtf8File(file: string): Promise<boolean> {
  const dec = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const piece of fs.createReadStream(file, { highWaterMark: PIECE })) dec.decode(piece as Buffer, { stream: true });
    dec.decode();
    return true;
  } catch (err) {
    if (err instanceof TypeError) return false;
    throw err;
  }
}

/** The same choice as `detectEncoding`, with the UTF-8 check streamed over the file. */
async function detectFileEncoding(file: string, first: Buffer, opts: { explicit?: TextEncoding; declared?: string }): Promise<TextEncoding> {
  if (opts.explicit) return opts.explicit;
  if (hasUtf8Bom(first)) return 'utf-8';
  const declared = opts.declared ? canonicalEncoding(opts.declared) : undefined;
  if (declared === 'gb18030') return 'gb18030';
  return (await isValidUtf8File(file)) ? 'utf-8' : 'gb18030';
}

/** Decodes pieces of text; a multi-byte character split between two pieces comes out whole. */
export interface PieceDecoder {
  write(buf: Buffer): string;
  end(): string;
}

export function pieceDecoder(encoding: TextEncoding): PieceDecoder {
  if (encoding === 'utf-8') {
    const dec = new TextDecoder('utf-8'); // drops a leading BOM, replaces bad bytes like Buffer#toString
    return { write: (b) => dec.decode(b, { stream: true }), end: () => dec.decode() };
  }
  const dec = iconv.getDecoder('gb18030');
  return { write: (b) => dec.write(b), end: () => dec.end() ?? '' };
}

class Batcher {
  private batch: SourceRow[] = [];
  count = 0;
  constructor(
    private readonly sink: RowSink,
    private readonly size: number,
  ) {}
  async add(rows: SourceRow[], bytes: number): Promise<void> {
    this.count += rows.length;
    for (const r of rows) {
      this.batch.push(r);
      if (this.batch.length >= this.size) await this.flush(bytes);
    }
  }
  async flush(bytes: number): Promise<void> {
    if (!this.batch.length) return;
    const b = this.batch;
    this.batch = [];
    await this.sink.rows(b, bytes);
  }
}

async function readCsv(file: string, size: number, first: Buffer, opts: ReadOptions, sink: RowSink): Promise<number> {
  const encoding = await detectFileEncoding(file, first, { explicit: opts.encoding });
  const dec = pieceDecoder(encoding);
  const reader = new CsvRecordReader();
  const table = new TableBuilder({ transform: unguardFormula });
  const out = new Batcher(sink, opts.batchRows ?? 1000);
  let announced = false;
  let bytes = 0;
  const take = async (records: RawRecord[]): Promise<void> => {
    const rows = table.push(records);
    if (!announced && table.header) {
      announced = true;
      sink.meta({ format: 'csv', encoding, ...table.header });
    }
    await out.add(rows, bytes);
  };
  const text = (t: string): string => {
    if (t.includes('\u0000')) throw new TableError('the file contains NUL bytes: it is not a CSV text file');
    return t;
  };
  for await (const piece of fs.createReadStream(file, { highWaterMark: PIECE })) {
    bytes += (piece as Buffer).length;
    await take(reader.push(text(dec.write(piece as Buffer))));
  }
  await take(reader.push(text(dec.end())));
  await take(reader.end());
  const header = table.end();
  if (!announced) sink.meta({ format: 'csv', encoding, ...header });
  await out.flush(size);
  return out.count;
}

// ---- XLSX ---------------------------------------------------------------------------------------------

const EOCD = 0x06054b50;
const CDH = 0x02014b50;
const LFH = 0x04034b50;

function notXlsx(): TableError {
  return new TableError('not a readable XLSX workbook (is it an old .xls file? save it as .xlsx or CSV)');
}

async function readAt(fh: fs.promises.FileHandle, pos: number, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  const { bytesRead } = await fh.read(buf, 0, n, pos);
  return buf.subarray(0, bytesRead);
}

/** The one refusal of a workbook that unzips past the cap (the upload's UnzipGuard and checkUnzippedSize). */
export function unzippedTooLarge(cap: number): ImportTooLargeError {
  return new ImportTooLargeError(`the workbook unzips to more than ${cap} bytes (IMPORT_XLSX_MAX_UNZIPPED_BYTES)`);
}

/**
 * Refuses a workbook whose parts unzip to more than `cap` bytes, before anything keeps what it inflates:
 * the sizes the archive declares are checked first, then every part is inflated and counted (a bomb may
 * lie about its sizes), stopping at the cap. The parts must follow each other as the central directory
 * lists them, so the streaming reader that reads the local headers in order sees these parts and no other.
 */
export async function checkUnzippedSize(file: string, cap: number): Promise<void> {
  const tooLarge = (): ImportTooLargeError => unzippedTooLarge(cap);
  const fh = await fs.promises.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const tailLen = Math.min(size, 65_557);
    const tail = await readAt(fh, size - tailLen, tailLen);
    let at = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD) {
        at = i;
        break;
      }
    }
    if (at < 0) throw notXlsx();
    const entries = tail.readUInt16LE(at + 10);
    const cdSize = tail.readUInt32LE(at + 12);
    const cdOffset = tail.readUInt32LE(at + 16);
    if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      throw new TableError('ZIP64 workbooks are not supported: save the sheet as CSV');
    }
    if (cdOffset + cdSize > size || cdSize > 16 * 1024 * 1024) throw notXlsx();
    const cd = await readAt(fh, cdOffset, cdSize);
    const parts: Array<{ method: number; comp: number; offset: number }> = [];
    let declared = 0;
    let p = 0;
    for (let i = 0; i < entries; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CDH) throw notXlsx();
      const method = cd.readUInt16LE(p + 10);
      const comp = cd.readUInt32LE(p + 20);
      declared += cd.readUInt32LE(p + 24);
      const offset = cd.readUInt32LE(p + 42);
      parts.push({ method, comp, offset });
      p += 46 + cd.readUInt16LE(p + 28) + cd.readUInt16LE(p + 30) + cd.readUInt16LE(p + 32);
    }
    if (declared > cap) throw tooLarge();
    parts.sort((a, b) => a.offset - b.offset);
    let expected = 0;
    let total = 0;
    for (const part of parts) {
      // a data descriptor (12–24 bytes) may sit between two parts; anything else is a hidden part
      if (part.offset < expected || part.offset > expected + 24 || (expected === 0 && part.offset !== 0)) throw notXlsx();
      const lfh = await readAt(fh, part.offset, 30);
      if (lfh.length < 30 || lfh.readUInt32LE(0) !== LFH) throw notXlsx();
      const flags = lfh.readUInt16LE(6);
      if ((flags & 0x08) === 0 && lfh.readUInt32LE(18) !== part.comp) throw notXlsx();
      const start = part.offset + 30 + lfh.readUInt16LE(26) + lfh.readUInt16LE(28);
      expected = start + part.comp;
      if (expected > cdOffset) throw notXlsx();
      if (part.comp === 0) continue;
      if (part.method === 0) {
        total += part.comp;
        if (total > cap) throw tooLarge();
        continue;
      }
      if (part.method !== 8) throw notXlsx();
      total = await inflateCounted(file, start, part.comp, total, cap, tooLarge);
    }
    if (cdOffset > expected + 24) throw notXlsx();
  } finally {
    await fh.close();
  }
}

function inflateCounted(file: string, start: number, length: number, total: number, cap: number, tooLarge: () => Error): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const src = fs.createReadStream(file, { start, end: start + length - 1, highWaterMark: PIECE });
    const inflate = zlib.createInflateRaw({ chunkSize: 64 * 1024 });
    let n = total;
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      src.destroy();
      inflate.destroy();
      reject(err);
    };
    inflate.on('data', (c: Buffer) => {
      n += c.length;
      if (n > cap) fail(tooLarge());
    });
    inflate.on('end', () => {
      if (done) return;
      done = true;
      resolve(n);
    });
    inflate.on('error', () => fail(notXlsx()));
    src.on('error', (e) => fail(e));
    src.pipe(inflate);
  });
}

async function readXlsx(file: string, size: number, opts: ReadOptions, sink: RowSink): Promise<number> {
  await checkUnzippedSize(file, opts.xlsxMaxUnzippedBytes);
  const table = new TableBuilder();
  const out = new Batcher(sink, opts.batchRows ?? 1000);
  let announced = false;
  let sheets = 0;
  // loaded on the first XLSX only: exceljs costs ~0.5 s of start-up that a CSV import (its own worker) never needs.
  // Through lib/exceljs.ts: exceljs' streaming reader decodes UTF-8 only with the fix made there before it loads
  const ExcelJS = loadExcelJS();
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(file, { worksheets: 'emit', sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', entries: 'ignore' });
  try {
    for await (const ws of reader) {
      sheets++;
      for await (const row of ws) {
        const cells: string[] = [];
        let problems: Map<number, string> | undefined;
        row.eachCell({ includeEmpty: true }, (cell, col) => {
          const { text, problem } = cellText(cell.value);
          cells[col - 1] = text;
          if (problem) (problems ??= new Map()).set(col - 1, problem);
        });
        if (cells.length === 0) continue;
        for (let i = 0; i < cells.length; i++) cells[i] ??= '';
        const rows = table.push([{ line: row.number, cells, ...(problems ? { cellProblems: problems } : {}) }]);
        if (!announced && table.header) {
          announced = true;
          sink.meta({ format: 'xlsx', encoding: 'utf-8', ...table.header });
        }
        await out.add(rows, 0);
      }
      break; // the first worksheet only
    }
  } catch (err) {
    if (err instanceof TableError || err instanceof ImportTooLargeError) throw err;
    throw notXlsx();
  }
  if (sheets === 0) throw new TableError('the workbook has no worksheet');
  const header = table.end();
  if (!announced) sink.meta({ format: 'xlsx', encoding: 'utf-8', ...header });
  await out.flush(size);
  return out.count;
}

// ---- catalog XML --------------------------------------------------------------------------------------

async function readCatalog(file: string, size: number, first: Buffer, opts: ReadOptions, sink: RowSink): Promise<{ rows: number; skipped: number }> {
  const encoding = await detectFileEncoding(file, first, { explicit: opts.encoding, declared: declaredXmlEncoding(first) });
  const c = parseCatalog(decodeText(await fs.promises.readFile(file), encoding));
  sink.meta({ format: 'gb28181', encoding, ignoredColumns: c.ignoredColumns, headerText: {} });
  const n = opts.batchRows ?? 1000;
  for (let i = 0; i < c.rows.length; i += n) await sink.rows(c.rows.slice(i, i + n), size);
  return { rows: c.rows.length, skipped: c.skipped };
}

/** Reads the file at `file` into `sink`. File-level problems throw TableError (→ 400) or ImportTooLargeError (→ 413). */
export async function readImportFile(file: string, opts: ReadOptions, sink: RowSink): Promise<{ rows: number; skipped: number }> {
  const size = (await fs.promises.stat(file)).size;
  if (size === 0) throw new TableError('the file is empty');
  const first = await head(file, 256);
  const format = opts.format ?? sniffFormat(first, opts.filename);
  switch (format) {
    case 'xlsx':
      return { rows: await readXlsx(file, size, opts, sink), skipped: 0 };
    case 'gb28181':
      return readCatalog(file, size, first, opts, sink);
    case 'csv':
      return { rows: await readCsv(file, size, first, opts, sink), skipped: 0 };
  }
}
