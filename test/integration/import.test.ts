import { expect } from 'chai';
// exceljs' streaming reader decodes UTF-8 only with the fix in lib/exceljs.ts, which must load first
import '../../server/src/lib/exceljs';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { bootApp, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, tokenFor } from '../helpers/auth';
import { bearerClient } from '../helpers/http';
import { cameraCount, csvText, demo, demoColumns, demoRows, gbk, loadDemoRegions, upload } from '../fixtures/transfer';

/**
 * The acceptance case of issue 3: a 5,400-row GBK CSV of the demo district with exactly 5% bad rows of
 * nine kinds, each bad row carrying exactly one problem at a known line and column.
 */
function acceptanceFile(): { buf: Buffer; expected: Array<{ line: number; field: string }>; good: number } {
  const d = demo();
  const rows = demoRows(d);
  const col = (name: string): number => demoColumns.indexOf(name);
  const candidates = d.points.map((p, i) => ({ p, i })).filter(({ p }) => p.upstreamGbCode !== null);
  const step = Math.floor(candidates.length / 270);
  const picks = candidates.filter((_, k) => k % step === 0).slice(0, 270);
  expect(picks).to.have.length(270);
  const expected: Array<{ line: number; field: string }> = [];
  picks.forEach(({ i }, k) => {
    const r = rows[i];
    const kinds: Array<[string, () => void]> = [
      ['gbCode', () => (r[col('国标编码')] = r[col('国标编码')].slice(0, 19))],
      ['lon', () => (r[col('经度')] = '200')],
      ['community', () => (r[col('所属社区')] = '不存在社区')],
      ['host', () => (r[col('IP地址')] = 'bad host!')],
      ['rtspPort', () => (r[col('RTSP端口')] = '70000')],
      ['gbCode', () => (r[col('国标编码')] = rows[i - 1][col('国标编码')])],
      ['name', () => (r[col('名称')] = '')],
      ['gbCode', () => (r[col('国标编码')] = `210303${r[col('国标编码')].slice(6)}`)],
      ['enabled', () => (r[col('启用')] = '也许')],
    ];
    const [field, corrupt] = kinds[k % kinds.length];
    corrupt();
    expected.push({ line: i + 2, field });
  });
  return { buf: gbk(csvText(demoColumns, rows)), expected, good: rows.length - picks.length };
}

describe('POST /cameras/import: the 5,400-row GBK acceptance file', function () {
  this.timeout(180_000);
  let app: TestApp;
  const file = acceptanceFile();

  before(async () => {
    app = await bootApp({ AUTH_MODE: 'open' });
    await loadDemoRegions(app);
  });
  after(async () => app?.close());

  it('when imported all-or-nothing with 5% bad rows, then 422 lists every bad line and column exactly and nothing is written', async () => {
    const res = await upload(app, file.buf, { query: 'mode=all-or-nothing' });
    expect(res.status).to.equal(422);
    const report = res.body.error.details;
    expect(report.encoding).to.equal('gb18030');
    expect(report.applied).to.equal(false);
    expect(report.totals).to.include({ rows: 5400, valid: 5130, invalid: 270 });
    const got = (report.errors as Array<{ line: number; field: string }>).map((e) => ({ line: e.line, field: e.field }));
    expect(got).to.deep.equal(file.expected);
    expect(report.errors[0].reason).to.match(/^国标编码 must be 20 digits/);
    expect((report.errors as Array<{ reason: string }>).some((e) => /already appears on line \d+/.test(e.reason))).to.equal(true);
    expect(await cameraCount(app)).to.equal(0);
    expect(await app.ctx.store.conn.collection('import_rows').countDocuments({})).to.equal(0);
  });

  it('when dry-run, then the report predicts the outcome and nothing is written', async () => {
    const res = await upload(app, file.buf);
    expect(res.status).to.equal(200);
    expect(res.body.mode).to.equal('dry-run');
    expect(res.body.totals).to.include({ rows: 5400, valid: 5130, invalid: 270, created: 5130, updated: 0, unchanged: 0 });
    expect(res.body.errors).to.have.length(270);
    expect(await cameraCount(app)).to.equal(0);
  });

  it('when imported valid-only, then exactly the 95% valid rows are written, with one import audit entry', async () => {
    const res = await upload(app, file.buf, { query: 'mode=valid-only' });
    expect(res.status).to.equal(200);
    expect(res.body.applied).to.equal(true);
    expect(res.body.totals).to.include({ valid: 5130, invalid: 270, created: 5130, updated: 0, unchanged: 0 });
    expect(await cameraCount(app)).to.equal(file.good);
    const bad = new Set(file.expected.map((e) => e.line));
    const goodCodes = demo().points.filter((_, i) => !bad.has(i + 2)).map((p) => p.gbCode);
    expect(await app.registry.cameras.model.collection.countDocuments({ gbCode: { $in: goodCodes } })).to.equal(file.good);
    const audits = await app.ctx.store.conn.collection('audit').find({ action: 'import' }).toArray();
    expect(audits).to.have.length(1);
    expect(audits[0].meta.totals.created).to.equal(5130);
  });

  it('when the same file is imported again, then every row is unchanged and no version moves', async () => {
    const res = await upload(app, file.buf, { query: 'mode=valid-only' });
    expect(res.body.totals).to.include({ created: 0, updated: 0, unchanged: 5130 });
    expect(await app.registry.cameras.model.collection.countDocuments({ version: { $ne: 1 } })).to.equal(0);
  });
});

describe('POST /cameras/import: formats, headers and semantics', function () {
  this.timeout(60_000);
  let app: TestApp;
  const d = demo();
  const sample = d.points.filter((p) => p.upstreamGbCode === null).slice(0, 3).concat(d.points.filter((p) => p.upstreamGbCode !== null).slice(300, 320));

  before(async () => {
    app = await bootApp({ AUTH_MODE: 'open' });
    await loadDemoRegions(app);
  });
  after(async () => app?.close());
  afterEach(async () => {
    await app.registry.cameras.model.collection.deleteMany({});
  });

  it('when a UTF-8 CSV with English headers and a BOM is imported, then the points are created with their upstream NVR linked', async () => {
    const header = ['gbCode', 'Name', 'district', 'Street', 'community', 'grid', 'address', 'lon', 'lat', 'host', 'rtsp port', 'rtspPath', 'vendor', 'model', 'maintainer', 'contact', 'phone', 'sharing', 'upstream', 'tags', 'enabled', 'installedAt'];
    const text = csvText(header, demoRows(d, sample));
    const res = await upload(app, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]), { query: 'mode=all-or-nothing' });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.encoding).to.equal('utf-8');
    expect(res.body.totals).to.include({ created: sample.length, invalid: 0 });
    const cam = await app.registry.cameras.findByGbCodes([sample[5].gbCode]);
    const nvr = await app.registry.cameras.findByGbCodes([sample[5].upstreamGbCode as string]);
    expect(cam[0].upstreamId).to.equal(nvr[0].id);
    expect(cam[0].tags).to.deep.equal(sample[5].tags);
  });

  it('when an XLSX workbook is imported, then its rows are read from the first sheet with sheet row numbers', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('点位');
    ws.addRow(['铁东区点位表']);
    ws.addRow(demoColumns);
    for (const r of demoRows(d, sample)) ws.addRow(r);
    ws.getCell(`B${3 + 4}`).value = '';
    const buf = Buffer.from(await wb.xlsx.writeBuffer());
    const res = await upload(app, buf, { filename: 'points.xlsx', query: 'mode=valid-only' });
    expect(res.status).to.equal(200);
    expect(res.body.format).to.equal('xlsx');
    expect((res.body.errors as Array<{ line: number; field: string }>).map((e) => [e.line, e.field])).to.deep.equal([[7, 'name']]);
    expect(res.body.totals).to.include({ created: sample.length - 1 });
  });

  it('when a GB2312 Catalog XML is imported, then items become points and platform items are skipped', async () => {
    const street = d.regions.find((r) => r.tier === 'street');
    const items = sample.slice(0, 3).map(
      (p) =>
        `<Item>\n<DeviceID>${p.gbCode}</DeviceID>\n<Name>${p.name}</Name>\n<Manufacturer>${p.vendor}</Manufacturer>\n<Model>${p.model}</Model>\n<CivilCode>210302</CivilCode>\n<Address>${p.address}</Address>\n<Parental>0</Parental>\n<ParentID>21030200002000000001</ParentID>\n<IPAddress>${(p.endpoint as { host: string }).host}</IPAddress>\n<Port>554</Port>\n<Status>ON</Status>\n<Longitude>${p.location?.lon}</Longitude>\n<Latitude>${p.location?.lat}</Latitude>\n</Item>\n`,
    );
    const xml = `<?xml version="1.0" encoding="GB2312"?>\n<Response>\n<CmdType>Catalog</CmdType>\n<SN>7</SN>\n<DeviceID>21030200002000000001</DeviceID>\n<SumNum>4</SumNum>\n<DeviceList Num="4">\n<Item><DeviceID>21030200002160000001</DeviceID><Name>${street?.name}</Name></Item>\n${items.join('')}</DeviceList>\n</Response>\n`;
    const res = await upload(app, iconv.encode(xml, 'gbk'), { filename: 'catalog.xml', query: 'mode=all-or-nothing' });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.format).to.equal('gb28181');
    expect(res.body.encoding).to.equal('gb18030');
    expect(res.body.totals).to.include({ rows: 3, created: 3, skipped: 1 });
    const cam = (await app.registry.cameras.findByGbCodes([sample[0].gbCode]))[0];
    expect(cam.name).to.equal(sample[0].name);
    expect(cam.regionId).to.equal(d.regions[0].id);
  });

  it('when a column is missing from the file, then existing points keep that field; an empty cell in a present column clears it', async () => {
    const p = sample[4];
    const nvr = d.points.find((x) => x.gbCode === p.upstreamGbCode);
    const first = await upload(app, gbk(csvText(demoColumns, demoRows(d, [nvr as (typeof d.points)[number], p]))), { query: 'mode=all-or-nothing' });
    expect(first.body.totals).to.include({ created: 2 });
    const noTags = demoColumns.filter((c) => c !== '标签' && c !== '上级设备');
    const row = demoRows(d, [p])[0].filter((_, i) => demoColumns[i] !== '标签' && demoColumns[i] !== '上级设备');
    row[noTags.indexOf('名称')] = '改名后的点位';
    row[noTags.indexOf('型号')] = '';
    const res = await upload(app, gbk(csvText(noTags, [row])), { query: 'mode=all-or-nothing' });
    expect(res.body.totals).to.include({ updated: 1 });
    const cam = (await app.registry.cameras.findByGbCodes([p.gbCode]))[0];
    expect(cam.name).to.equal('改名后的点位');
    expect(cam.tags).to.deep.equal(p.tags);
    expect(cam.upstreamId).to.not.equal(null);
    expect(cam.model).to.equal('');
    expect(cam.version).to.equal(2);
  });

  it('when an upstream device is neither registered nor in the file, then the row names it', async () => {
    const res = await upload(app, gbk(csvText(demoColumns, demoRows(d, [sample[5]]))), { query: 'mode=dry-run' });
    expect(res.body.errors).to.have.length(1);
    expect(res.body.errors[0]).to.include({ line: 2, field: 'upstream' });
    expect(res.body.errors[0].reason).to.match(/no such point is registered or in this file/);
  });

  it('when the file is not CSV at all, or has no header, then 400 explains why and nothing is written', async () => {
    const broken = await upload(app, Buffer.from('国标编码,名称\n"21030200001320000001,unterminated\n', 'utf8'));
    expect(broken.status).to.equal(400);
    expect(broken.body.error.message).to.match(/line 2: quoted field is never closed/);
    const noHeader = await upload(app, Buffer.from('a,b,c\n1,2,3\n', 'utf8'));
    expect(noHeader.status).to.equal(400);
    expect(noHeader.body.error.message).to.match(/no header row/);
    const xml = await upload(app, Buffer.from('<Response><DeviceList><Item></DeviceList></Response>'), { filename: 'c.xml' });
    expect(xml.status).to.equal(400);
    expect(xml.body.error.message).to.match(/malformed XML/);
    const xls = await upload(app, Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), { filename: 'old.xls' });
    expect(xls.status).to.equal(400);
    const empty = await upload(app, Buffer.alloc(0));
    expect(empty.status).to.equal(400);
    expect(await cameraCount(app)).to.equal(0);
  });

  it('when the request is not multipart, the mode is unknown, or the field is not "file", then 415 / 400', async () => {
    const json = await fetch(`${app.baseUrl}/api/v1/cameras/import`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).to.equal(415);
    const csv = await fetch(`${app.baseUrl}/api/v1/cameras/import`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a,b' });
    expect(csv.status).to.equal(415);
    const mode = await upload(app, Buffer.from('x'), { query: 'mode=partial' });
    expect(mode.status).to.equal(400);
    expect(mode.body.error.message).to.match(/mode/);
    const field = await upload(app, Buffer.from('x'), { field: 'upload' });
    expect(field.status).to.equal(400);
    expect(field.body.error.message).to.match(/"file" is missing/);
  });
});

describe('POST /cameras/import: limits and scope', function () {
  this.timeout(60_000);

  it('when the file exceeds IMPORT_LIMIT_BYTES, then 413 and nothing is written', async () => {
    const app = await bootApp({ AUTH_MODE: 'open', IMPORT_LIMIT_BYTES: '4096' });
    try {
      await loadDemoRegions(app);
      const buf = gbk(csvText(demoColumns, demoRows(demo(), demo().points.slice(0, 60))));
      expect(buf.length).to.be.greaterThan(4096);
      const res = await upload(app, buf, { query: 'mode=valid-only' });
      expect(res.status).to.equal(413);
      expect(res.body.error.message).to.match(/IMPORT_LIMIT_BYTES/);
      expect(await cameraCount(app)).to.equal(0);
    } finally {
      await app.close();
    }
  });

  it('when an operator imports rows of another street, then those rows are refused as outside his scope and his own are written', async () => {
    const app = await bootAuthApp();
    try {
      const d = demo();
      await loadDemoRegions(app);
      const streets = d.regions.filter((r) => r.tier === 'street');
      const inStreet = (streetId: string) => d.points.filter((p) => p.regionId === streetId);
      const mine = inStreet(streets[0].id);
      const theirs = inStreet(streets[1].id);
      const op = await createUser(app, { role: 'operator', scopeRegionId: streets[0].id });
      const token = await tokenFor(app, op);
      const rows = demoRows(d, [...mine.slice(0, 5), ...theirs.slice(0, 2)]);
      const res = await upload(app, gbk(csvText(demoColumns, rows)), { query: 'mode=valid-only', headers: { authorization: `Bearer ${token}` } });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.totals).to.include({ created: 5, invalid: 2 });
      expect((res.body.errors as Array<{ line: number; field: string }>).map((e) => [e.line, e.field])).to.deep.equal([
        [7, 'street'],
        [8, 'street'],
      ]);
      expect(res.body.errors[0].reason).to.match(/outside your scope/);
      const viewer = await createUser(app, { role: 'viewer', scopeRegionId: streets[0].id });
      const forbidden = await upload(app, gbk(csvText(demoColumns, rows)), { headers: { authorization: `Bearer ${await tokenFor(app, viewer)}` } });
      expect(forbidden.status).to.equal(403);
      const anon = await upload(app, gbk(csvText(demoColumns, rows)));
      expect(anon.status).to.equal(401);
      void bearerClient;
    } finally {
      await app.close();
    }
  });
});
