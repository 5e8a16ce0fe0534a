import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
// exceljs' streaming reader decodes UTF-8 only with the fix in lib/exceljs.ts, which must load first
import '../../server/src/lib/exceljs';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { CsvRecordReader, parseCsvRecords } from '../../server/src/cameras/transfer/csv';
import type { SourceRow } from '../../server/src/cameras/transfer/fields';
import { parseImportFile } from '../../server/src/cameras/transfer/parse';
import { checkUnzippedSize, ImportTooLargeError, pieceDecoder, readImportFile, type FileMeta } from '../../server/src/cameras/transfer/read';
import type { RawRecord } from '../../server/src/cameras/transfer/table';
import { TableError } from '../../server/src/cameras/transfer/table';
import { writeZipBomb } from '../../scripts/zip-bomb';

const code1 = '21030200001320000001';
const code2 = '21030200001320000002';

/** Feeds `text` to a reader in pieces cut at `cuts` (character offsets). */
function readInPieces(text: string, cuts: number[]): RawRecord[] {
  const r = new CsvRecordReader();
  const out: RawRecord[] = [];
  let at = 0;
  for (const c of [...cuts, text.length]) {
    out.push(...r.push(text.slice(at, c)));
    at = c;
  }
  out.push(...r.end());
  return out;
}

describe('transfer: streamed reading', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-stream-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('when a quoted field with a doubled quote and a CRLF spans two pieces, then every cut gives the records of the whole text', () => {
    const text = `国标编码,名称,地址\r\n${code1},"A, ""east""\r\ngate",x\r\n${code2},B,"y"\r\n`;
    const whole = parseCsvRecords(text);
    expect(whole.map((r) => r.line)).to.deep.equal([1, 2, 4]);
    expect(whole[1].cells[1]).to.equal('A, "east"\r\ngate');
    // every single cut point, and every pair of cut points, inside the quoted field and its quotes
    for (let i = 0; i <= text.length; i++) {
      expect(readInPieces(text, [i]), `cut at ${i}`).to.deep.equal(whole);
    }
    const q = text.indexOf('"A');
    for (let i = q; i < q + 16; i++) for (let j = i; j < q + 18; j++) expect(readInPieces(text, [i, j]), `cuts at ${i},${j}`).to.deep.equal(whole);
  });

  it('when the text comes one character at a time, then errors still name the line where they are', () => {
    const open = 'a,b\n1,"oops\n2,3\n';
    expect(() => readInPieces(open, [...open].map((_, i) => i))).to.throw(TableError, /line 2: quoted field is never closed/);
    const after = 'a,b\n"x"y,2\n';
    expect(() => readInPieces(after, [...after].map((_, i) => i))).to.throw(TableError, /line 2: unexpected text after a closing quote in column 1/);
  });

  it('when a GBK character is split between two pieces, then it is decoded whole', () => {
    const text = '国标编码,名称\r\n' + `${code1},铁东区站前街道路口\r\n`;
    const bytes = iconv.encode(text, 'gbk');
    for (let cut = 1; cut < bytes.length; cut++) {
      const dec = pieceDecoder('gb18030');
      const got = dec.write(bytes.subarray(0, cut)) + dec.write(bytes.subarray(cut)) + dec.end();
      expect(got, `cut at byte ${cut}`).to.equal(text);
    }
    // and the UTF-8 decoder the same (three-byte characters)
    const utf = Buffer.from(text, 'utf8');
    for (let cut = 1; cut < utf.length; cut++) {
      const dec = pieceDecoder('utf-8');
      expect(dec.write(utf.subarray(0, cut)) + dec.write(utf.subarray(cut)) + dec.end()).to.equal(text);
    }
  });

  async function readAll(file: string, opts: { batchRows?: number; xlsxMaxUnzippedBytes?: number } = {}): Promise<{ meta: FileMeta | null; rows: SourceRow[]; batches: number[] }> {
    let meta: FileMeta | null = null;
    const rows: SourceRow[] = [];
    const batches: number[] = [];
    await readImportFile(file, { xlsxMaxUnzippedBytes: opts.xlsxMaxUnzippedBytes ?? 1 << 30, batchRows: opts.batchRows ?? 1000 }, {
      meta: (m) => (meta = m),
      rows: (b) => {
        batches.push(b.length);
        rows.push(...b);
        return Promise.resolve();
      },
    });
    return { meta, rows, batches };
  }

  it('when a GBK file larger than one read piece is streamed, then it gives the rows of the in-memory reader, in batches, with formula guards removed', async () => {
    const lines = ['标题：铁东区视频点位表', '国标编码,名称,地址'];
    for (let i = 0; i < 6000; i++) lines.push(`${String(21030200001320000000n + BigInt(i))},"摄像机${i}号, 东门","'=地址${i}"`);
    const buf = iconv.encode(lines.join('\r\n') + '\r\n', 'gbk');
    expect(buf.length).to.be.greaterThan(256 * 1024);
    const file = path.join(dir, 'big.csv');
    fs.writeFileSync(file, buf);
    const got = await readAll(file, { batchRows: 500 });
    const expected = await parseImportFile(buf);
    expect(got.meta).to.include({ format: 'csv', encoding: 'gb18030' });
    expect(got.meta?.columns).to.deep.equal(expected.columns);
    expect(got.rows).to.deep.equal(expected.rows);
    expect(got.rows[5999].values).to.deep.equal({ gbCode: '21030200001320005999', name: '摄像机5999号, 东门', address: '=地址5999' });
    expect(got.batches.slice(0, -1).every((n) => n === 500)).to.equal(true);
    expect(got.batches).to.have.length(12);
  });

  it('when a file is not valid UTF-8 only near its end, then the whole file is read as GB18030 (the choice is made over the whole file)', async () => {
    const head = Array.from({ length: 20000 }, (_, i) => `${String(21030200001320000000n + BigInt(i))},cam${i}`).join('\n');
    const buf = Buffer.concat([Buffer.from(`gbCode,name\n${head}\n`), iconv.encode(`${code2},东门\n`, 'gbk')]);
    expect(buf.length).to.be.greaterThan(256 * 1024);
    const file = path.join(dir, 'late.csv');
    fs.writeFileSync(file, buf);
    const got = await readAll(file);
    expect(got.meta?.encoding).to.equal('gb18030');
    expect(got.rows.at(-1)?.values.name).to.equal('东门');
  });

  it('when an XLSX is streamed, then its rows and sheet row numbers are those of the in-memory reader', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('点位');
    ws.addRow(['点位表']);
    ws.addRow(['国标编码', '名称', '经度']);
    ws.addRow([code1, '东门', 122.99]);
    ws.addRow([]);
    ws.addRow([code2, { richText: [{ text: '西' }, { text: '门' }] }, 123.01]);
    const buf = Buffer.from(await wb.xlsx.writeBuffer());
    const file = path.join(dir, 'book.xlsx');
    fs.writeFileSync(file, buf);
    const got = await readAll(file);
    const expected = await parseImportFile(buf);
    expect(got.meta).to.include({ format: 'xlsx' });
    expect(got.rows).to.deep.equal(expected.rows);
    expect(got.rows.map((r) => r.line)).to.deep.equal([3, 5]);
  });

  it('when an XLSX unzips to more than the cap, then it is refused naming the limit, also when the archive lies about the size', async () => {
    const bomb = path.join(dir, 'bomb.xlsx');
    writeZipBomb(bomb, 20_000); // ~6 MiB inflated, declared as 1 KiB
    let err: unknown;
    await checkUnzippedSize(bomb, 1_048_576).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(ImportTooLargeError);
    expect((err as Error).message).to.match(/more than 1048576 bytes \(IMPORT_XLSX_MAX_UNZIPPED_BYTES\)/);
    err = undefined;
    await readAll(bomb, { xlsxMaxUnzippedBytes: 1_048_576 }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(ImportTooLargeError);
    // under a cap above its real size the same archive passes the check
    await checkUnzippedSize(bomb, 64 * 1_048_576);
  });
});
