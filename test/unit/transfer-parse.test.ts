import { PassThrough } from 'node:stream';
import { expect } from 'chai';
// exceljs' streaming reader decodes UTF-8 only with the fix in lib/exceljs.ts, which must load first
import '../../server/src/lib/exceljs';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { parseCatalog } from '../../server/src/cameras/transfer/catalog';
import { csvLine, parseCsv, parseCsvRecords } from '../../server/src/cameras/transfer/csv';
import { detectEncoding } from '../../server/src/cameras/transfer/decode';
import { fieldForHeader } from '../../server/src/cameras/transfer/fields';
import { parseImportFile } from '../../server/src/cameras/transfer/parse';
import { TableError } from '../../server/src/cameras/transfer/table';
import { writeXlsx } from '../../server/src/cameras/transfer/xlsx';

const code1 = '21030200001320000001';
const code2 = '21030200001320000002';

async function xlsxBuffer(build: (ws: ExcelJS.Worksheet) => void): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  build(wb.addWorksheet('点位'));
  return Buffer.from(await wb.xlsx.writeBuffer());
}

describe('transfer: CSV reader', () => {
  it('when fields are quoted with commas, doubled quotes and line breaks, then values are exact and lines are where records start', () => {
    const text = `国标编码,名称,地址\r\n${code1},"A, ""east"" gate","line1\r\nline2"\r\n${code2},B,plain\r\n`;
    const { rows } = parseCsv(text);
    expect(rows).to.have.length(2);
    expect(rows[0]).to.deep.equal({ line: 2, values: { gbCode: code1, name: 'A, "east" gate', address: 'line1\r\nline2' } });
    expect(rows[1].line).to.equal(4);
  });

  it('when a quoted field is never closed, then a TableError names the line', () => {
    expect(() => parseCsvRecords('a,b\n1,"oops\n2,3\n')).to.throw(TableError, /line 2: quoted field is never closed/);
  });

  it('when text follows a closing quote, then a TableError names the line and column', () => {
    expect(() => parseCsvRecords('a,b\n"x"y,2\n')).to.throw(TableError, /line 2: unexpected text after a closing quote in column 1/);
  });

  it('when a title row and blank lines precede the header, then the header is found and blank rows are skipped', () => {
    const text = `铁东区视频点位表,,\n,,\n国标编码,名称,经度\n${code1},A,123.0\n,,\n${code2},B,\n`;
    const { rows } = parseCsv(text);
    expect(rows.map((r) => r.line)).to.deep.equal([4, 6]);
    expect(rows[1].values).to.deep.equal({ gbCode: code2, name: 'B' });
  });

  it('when no row has a GB code column, then a TableError explains what a header needs', () => {
    expect(() => parseCsv('foo,bar\n1,2\n')).to.throw(TableError, /no header row found.*国标编码/);
  });

  it('when two columns mean the same field, then a TableError names both', () => {
    expect(() => parseCsv('国标编码,名称,name\n1,2,3\n')).to.throw(TableError, /"名称" and "name" both mean name/);
  });

  it('when a row has more values than the header, then the row carries a problem instead of losing data silently', () => {
    const { rows } = parseCsv(`国标编码,名称\n${code1},A,extra\n`);
    expect(rows[0].cellProblems).to.deep.equal([{ field: 'row', reason: 'has a value in column 3 but the header has only 2 columns' }]);
  });

  it('when headers vary in case, width, spaces and brackets, then they map to the same fields', () => {
    expect(fieldForHeader('GBCode')).to.equal('gbCode');
    expect(fieldForHeader(' 国标ID ')).to.equal('gbCode');
    expect(fieldForHeader('设备编码')).to.equal('gbCode');
    expect(fieldForHeader('ＲＴＳＰ 端口')).to.equal('rtspPort');
    expect(fieldForHeader('rtsp_port')).to.equal('rtspPort');
    expect(fieldForHeader('检测间隔（秒）')).to.equal('probeIntervalSec');
    expect(fieldForHeader('Longitude')).to.equal('lon');
    expect(fieldForHeader('IP地址')).to.equal('host');
    expect(fieldForHeader('运维单位')).to.equal('maintainerOrg');
    expect(fieldForHeader('所属社区')).to.equal('community');
    expect(fieldForHeader('nonsense')).to.equal(undefined);
  });

  it('when a value starts like a formula, then the writer guards it and the reader restores it exactly', async () => {
    const line = csvLine(['国标编码', '名称']) + csvLine([code1, '=HYPERLINK("x")']) + csvLine([code2, '-12.5']);
    expect(line).to.include(`"'=HYPERLINK(""x"")"`);
    expect(line).to.include(`${code2},-12.5`);
    const t = await parseImportFile(Buffer.from(line, 'utf8'));
    expect(t.rows[0].values.name).to.equal('=HYPERLINK("x")');
    expect(t.rows[1].values.name).to.equal('-12.5');
  });
});

describe('transfer: encoding detection', () => {
  const text = `国标编码,名称,所属街道\r\n${code1},铁东区人民路口,站前街道\r\n`;

  it('when the file is GBK (Chinese Excel), then it is read as GB18030 and the Chinese text is intact', async () => {
    const buf = iconv.encode(text, 'gbk');
    expect(detectEncoding(buf)).to.equal('gb18030');
    const t = await parseImportFile(buf);
    expect(t.encoding).to.equal('gb18030');
    expect(t.rows[0].values).to.deep.equal({ gbCode: code1, name: '铁东区人民路口', street: '站前街道' });
  });

  it('when the file is UTF-8 with a BOM, then the BOM does not end up in the first header', async () => {
    const t = await parseImportFile(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]));
    expect(t.encoding).to.equal('utf-8');
    expect(t.rows[0].values.gbCode).to.equal(code1);
  });

  it('when the file is UTF-8 without a BOM, then it is read as UTF-8', async () => {
    const t = await parseImportFile(Buffer.from(text, 'utf8'));
    expect(t.encoding).to.equal('utf-8');
    expect(t.rows[0].values.name).to.equal('铁东区人民路口');
  });

  it('when the caller names the encoding, then it wins over detection', async () => {
    const gbk = await parseImportFile(iconv.encode(text, 'gbk'), { encoding: 'gb18030' });
    expect(gbk.rows[0].values.name).to.equal('铁东区人民路口');
    // UTF-8 bytes forced through GB18030 garble the Chinese header: proof the explicit choice was used
    let err: unknown;
    await parseImportFile(Buffer.from(text, 'utf8'), { encoding: 'gb18030' }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(TableError);
  });

  it('when the upload is binary (NUL bytes), then it is refused as not a CSV text file', async () => {
    let err: unknown;
    await parseImportFile(Buffer.from('国标编码\u0000名称\n', 'utf16le')).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(TableError);
  });
});

describe('transfer: XLSX reader and writer', () => {
  it('when a workbook has a header row, then rows carry sheet row numbers, dates become ISO dates and numbers text', async () => {
    const buf = await xlsxBuffer((ws) => {
      ws.addRow(['点位清单']);
      ws.addRow(['国标编码', '名称', '经度', '安装日期', '启用']);
      ws.addRow([code1, { richText: [{ text: '人民' }, { text: '路口' }] }, 123.05, new Date(Date.UTC(2024, 4, 1)), true]);
    });
    const t = await parseImportFile(buf);
    expect(t.format).to.equal('xlsx');
    expect(t.rows).to.deep.equal([{ line: 3, values: { gbCode: code1, name: '人民路口', lon: '123.05', installedAt: '2024-05-01', enabled: 'true' } }]);
  });

  it('when Excel stored a 20-digit code as a number, then the row carries a problem naming the lost digits', async () => {
    const buf = await xlsxBuffer((ws) => {
      ws.addRow(['国标编码', '名称']);
      ws.addRow([Number(code1), 'A']);
    });
    const t = await parseImportFile(buf);
    expect(t.rows[0].cellProblems?.[0].field).to.equal('gbCode');
    expect(t.rows[0].cellProblems?.[0].reason).to.match(/lost digits/);
  });

  it('when the streaming writer writes rows, then the reader gets the same strings back', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const rows = [
      [code1, '路口 A', '123.456789', '554'],
      [code2, '=1+1', '', '8554'],
    ];
    await writeXlsx(out, [{ header: '国标编码', numeric: false }, { header: '名称', numeric: false }, { header: '经度', numeric: true }, { header: 'RTSP端口', numeric: true }], rows);
    const t = await parseImportFile(Buffer.concat(chunks));
    expect(t.rows.map((r) => r.values)).to.deep.equal([
      { gbCode: code1, name: '路口 A', lon: '123.456789', rtspPort: '554' },
      { gbCode: code2, name: '=1+1', rtspPort: '8554' },
    ]);
  });

  it('when the upload is an old .xls or a broken zip, then a TableError says so', async () => {
    let err: unknown;
    await parseImportFile(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 1, 2, 3])).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.match(/\.xls files are not supported/);
    await parseImportFile(Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3])).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.match(/not a readable XLSX/);
  });
});

describe('transfer: GB/T 28181 Catalog reader', () => {
  const catalog = (items: string, prolog = '<?xml version="1.0" encoding="GB2312"?>') =>
    `${prolog}\n<Response>\n<CmdType>Catalog</CmdType>\n<SN>17</SN>\n<DeviceID>21030200002000000001</DeviceID>\n<SumNum>2</SumNum>\n<DeviceList Num="2">\n${items}</DeviceList>\n</Response>\n`;

  it('when a GB2312-declared catalog is uploaded, then items are decoded, mapped and numbered by their line', async () => {
    const xml = catalog(
      `<Item>\n<DeviceID>${code1}</DeviceID>\n<Name>人民路&amp;站前街 &#x53E3;</Name>\n<Manufacturer>Hikvision</Manufacturer>\n<Model>DS-2CD</Model>\n<Owner>铁东公安分局</Owner>\n<CivilCode>210302</CivilCode>\n<Address>人民路1号</Address>\n<Parental>0</Parental>\n<ParentID>21030200001180000001</ParentID>\n<IPAddress>10.1.2.3</IPAddress>\n<Port>554</Port>\n<Status>ON</Status>\n<Longitude>122.99</Longitude>\n<Latitude>41.11</Latitude>\n<Info><PTZType>1</PTZType></Info>\n</Item>\n` +
        `<Item><DeviceID>21030200002160000001</DeviceID><Name>虚拟组织</Name></Item>\n` +
        `<Item><DeviceID>${code2}</DeviceID><Name><![CDATA[A<B>]]></Name><ParentID>21030200002000000001</ParentID></Item>\n`,
    );
    const t = await parseImportFile(iconv.encode(xml, 'gbk'));
    expect(t.format).to.equal('gb28181');
    expect(t.encoding).to.equal('gb18030');
    expect(t.skipped).to.equal(1);
    expect(t.rows).to.have.length(2);
    expect(t.rows[0].present).to.include.members(['gbCode', 'upstream', 'lat']);
    expect({ line: t.rows[0].line, values: t.rows[0].values }).to.deep.equal({
      line: 8,
      values: {
        gbCode: code1, name: '人民路&站前街 口', vendor: 'Hikvision', model: 'DS-2CD', ownerUnit: '铁东公安分局', regionCode: '210302',
        address: '人民路1号', upstream: '21030200001180000001', host: '10.1.2.3', rtspPort: '554', lon: '122.99', lat: '41.11',
      },
    });
    // a ParentID naming the platform is not an upstream device
    expect(t.rows[1].values).to.deep.equal({ gbCode: code2, name: 'A<B>' });
    expect(t.rows[1].present).to.not.include('upstream');
    expect(t.rows[1].line).to.equal(26);
  });

  it('when the XML carries a DOCTYPE (billion laughs, external entity), then it is refused before parsing', () => {
    const bomb = '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><Response><DeviceList><Item><Name>&b;</Name></Item></DeviceList></Response>';
    expect(() => parseCatalog(bomb)).to.throw(TableError, /DOCTYPE/);
    const xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Response><DeviceList><Item><Name>&x;</Name></Item></DeviceList></Response>';
    expect(() => parseCatalog(xxe)).to.throw(TableError, /DOCTYPE/);
  });

  it('when an undeclared entity is used, then it stays literal text', () => {
    const t = parseCatalog(`<Response><DeviceList><Item><DeviceID>${code1}</DeviceID><Name>&lol;</Name></Item></DeviceList></Response>`);
    expect(t.rows[0].values.name).to.equal('&lol;');
  });

  it('when the XML is malformed, then the error names line and column', () => {
    expect(() => parseCatalog('<Response>\n<DeviceList><Item></DeviceList></Response>')).to.throw(TableError, /malformed XML at line 2/);
  });

  it('when the XML has no DeviceList, then it is not taken for a catalog', () => {
    expect(() => parseCatalog('<Response><CmdType>Keepalive</CmdType></Response>')).to.throw(TableError, /no <DeviceList>/);
  });
});
