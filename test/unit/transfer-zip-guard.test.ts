import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expect } from 'chai';
// exceljs' streaming reader decodes UTF-8 only with the fix in lib/exceljs.ts, which must load first
import '../../server/src/lib/exceljs';
import ExcelJS from 'exceljs';
import { ImportTooLargeError } from '../../server/src/cameras/transfer/read';
import { UnzipGuard } from '../../server/src/cameras/transfer/zip-guard';
import { writeZipBomb } from '../../scripts/zip-bomb';

/** Pushes `buf` through a guard in pieces of `piece` bytes; resolves with the bytes that came out and the error, if any. */
async function through(buf: Buffer, cap: number, piece: number): Promise<{ out: Buffer; err: unknown; guard: UnzipGuard }> {
  const guard = new UnzipGuard(cap);
  const parts: Buffer[] = [];
  const pieces = function* (): Generator<Buffer> {
    for (let i = 0; i < buf.length; i += piece) yield buf.subarray(i, i + piece);
  };
  let err: unknown = null;
  await pipeline(
    Readable.from(pieces()),
    guard,
    new Writable({
      write(c: Buffer, _e, cb) {
        parts.push(c);
        cb();
      },
    }),
  ).catch((e: unknown) => (err = e));
  return { out: Buffer.concat(parts), err, guard };
}

describe('transfer: the unzipped-size cap while an XLSX is uploaded (UnzipGuard)', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-guard-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('when a zip bomb streams through in small pieces, then it fails naming the limit after little more than the cap was inflated, long before the end', async () => {
    const file = path.join(dir, 'bomb.xlsx');
    const size = writeZipBomb(file, 3_000_000); // ~1 GiB inflated, declared as 1 KiB
    const cap = 8 * 1_048_576;
    const { out, err, guard } = await through(fs.readFileSync(file), cap, 16 * 1024);
    expect(err).to.be.instanceOf(ImportTooLargeError);
    expect((err as Error).message).to.equal(`the workbook unzips to more than ${cap} bytes (IMPORT_XLSX_MAX_UNZIPPED_BYTES)`);
    expect(guard.counted.inflated).to.be.above(cap).and.below(cap + 4 * 1_048_576);
    expect(out.length, 'bytes let through before the refusal').to.be.below(size / 10);
  });

  it('when a part declares more than the cap in its local header, then it fails before inflating anything', async () => {
    const file = path.join(dir, 'honest.xlsx');
    writeZipBomb(file, 200_000, 64 * 1_048_576); // declares its 64 MiB truthfully
    const { err, guard } = await through(fs.readFileSync(file), 1_048_576, 64 * 1024);
    expect(err).to.be.instanceOf(ImportTooLargeError);
    expect(guard.counted.inflated).to.be.below(1_048_576);
  });

  it('when a real workbook or a CSV streams through, then every byte comes out unchanged and nothing fails', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('points');
    ws.addRow(['国标编码', '名称']);
    for (let i = 0; i < 2000; i++) ws.addRow([`2103020000132${String(i).padStart(7, '0')}`, `路口-${i}`]);
    const xlsx = Buffer.from(await wb.xlsx.writeBuffer());
    for (const piece of [13, 4096, xlsx.length]) {
      const { out, err, guard } = await through(xlsx, 16 * 1_048_576, piece);
      expect(err, `pieces of ${piece}`).to.equal(null);
      expect(out.equals(xlsx), `pieces of ${piece}`).to.equal(true);
      expect(guard.counted.inflated, 'the sheet XML was inflated and counted').to.be.above(xlsx.length);
    }
    const csv = Buffer.from('国标编码,名称\n21030200001320000001,东门\n');
    const { out, err } = await through(csv, 10, 5);
    expect(err).to.equal(null);
    expect(out.equals(csv)).to.equal(true);
  });
});
