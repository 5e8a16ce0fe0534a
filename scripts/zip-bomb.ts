import fs from 'node:fs';
import zlib from 'node:zlib';

/**
 * A zip-bomb XLSX for the import's unzip cap (benchmark and tests): a valid workbook skeleton whose
 * `xl/worksheets/sheet1.xml` is one deflate stream of repetitions of a full-flushed block that inflates
 * to 1 MiB of sheet XML (~3 KiB compressed), as many as make a file of about `bytes`; the archive declares
 * `declaredSize` for it (a bomb may lie about it). A 200 MB file inflates to ~64 GiB. Written straight to
 * `file`, never held whole. Returns the file's size.
 */
export function writeZipBomb(file: string, bytes: number, declaredSize = 1024): number {
  const row = '<row r="1"><c r="A1" t="inlineStr"><is><t>0</t></is></c></row>';
  const mib = Buffer.from(row.repeat(Math.ceil(1_048_576 / row.length)).slice(0, 1_048_576));
  const block = zlib.deflateRawSync(mib, { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
  const last = zlib.deflateRawSync(Buffer.alloc(0));
  const copies = Math.max(1, Math.ceil(bytes / block.length));
  const small: Array<[string, Buffer]> = [
    ['[Content_Types].xml', Buffer.from('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')],
    ['xl/workbook.xml', Buffer.from('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>')],
  ];
  const fd = fs.openSync(file, 'w');
  let offset = 0;
  const central: Buffer[] = [];
  const write = (b: Buffer): void => {
    fs.writeSync(fd, b);
    offset += b.length;
  };
  const entry = (name: string, method: number, comp: number, size: number, crc: number): { local: Buffer; at: number } => {
    const n = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(comp, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(n.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(comp, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(n.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, n);
    return { local: Buffer.concat([local, n]), at: offset };
  };
  try {
    for (const [name, body] of small) {
      write(entry(name, 0, body.length, body.length, zlib.crc32 ? zlib.crc32(body) : 0).local);
      write(body);
    }
    const comp = block.length * copies + last.length;
    write(entry('xl/worksheets/sheet1.xml', 8, comp, declaredSize, 0).local);
    for (let i = 0; i < copies; i++) write(block);
    write(last);
    const cdStart = offset;
    for (const b of central) write(b);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(small.length + 1, 8);
    eocd.writeUInt16LE(small.length + 1, 10);
    eocd.writeUInt32LE(offset - cdStart, 12);
    eocd.writeUInt32LE(cdStart, 16);
    write(eocd);
  } finally {
    fs.closeSync(fd);
  }
  return offset;
}
