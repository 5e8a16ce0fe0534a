import { expect } from 'chai';
import { loadDemoDistrict } from '../../server/src/demo/district';
import type { Camera } from '../../server/src/contracts/cameras';
import { parseImportFile } from '../../server/src/cameras/transfer/parse';
import { bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, tokenFor } from '../helpers/auth';
import { demo, download, loadDemoRegions, upload } from '../fixtures/transfer';

async function allPoints(app: TestApp): Promise<Camera[]> {
  const codes = (await app.registry.cameras.model.collection.find({}, { projection: { gbCode: 1 } }).toArray()).map((d) => d.gbCode as string);
  return app.registry.cameras.findByGbCodes(codes);
}

/** A point as the user sees it, with ids that differ between apps replaced by the upstream's code. */
function portable(points: Camera[]): Map<string, Record<string, unknown>> {
  const codeOf = new Map(points.map((p) => [p.id, p.gbCode]));
  return new Map(
    points.map((p) => {
      const { id: _i, createdAt: _c, updatedAt: _u, version: _v, status: _s, upstreamId, ...rest } = p;
      return [p.gbCode, { ...rest, upstream: upstreamId ? codeOf.get(upstreamId) : null }];
    }),
  );
}

describe('GET /cameras/export and the export → import round trip', function () {
  this.timeout(600_000);
  let a: TestApp;
  let b: TestApp;
  let admin: Record<string, string>;
  let adminB: Record<string, string>;
  const d = demo();

  before(async () => {
    a = await bootAuthApp();
    b = await bootAuthApp();
    await loadDemoDistrict(a.registry);
    await loadDemoRegions(b);
    admin = { authorization: `Bearer ${await tokenFor(a, await createUser(a, { role: 'admin', scopeRegionId: null }))}` };
    adminB = { authorization: `Bearer ${await tokenFor(b, await createUser(b, { role: 'admin', scopeRegionId: null }))}` };
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  it('when exported as CSV, then it is UTF-8 with a BOM, Chinese headers and one row per point', async () => {
    const res = await download(a, 'format=csv', admin);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/csv/);
    expect(res.headers.get('content-disposition')).to.match(/attachment; filename="cameras-\d{8}T\d{4}\.csv"/);
    expect([...res.buf.subarray(0, 3)]).to.deep.equal([0xef, 0xbb, 0xbf]);
    const text = res.buf.toString('utf8');
    expect(text.slice(1, text.indexOf('\r\n'))).to.match(/^国标编码,名称,所属区县,所属街道,所属社区,网格,地址,经度,纬度,IP地址/);
    const parsed = await parseImportFile(res.buf);
    expect(parsed.rows).to.have.length(d.points.length);
    expect(parsed.ignoredColumns).to.deep.equal([]);
  });

  it('when the CSV export is imported back into the same registry, then every point is unchanged and no version moves', async () => {
    const res = await download(a, 'format=csv', admin);
    const before = await allPoints(a);
    const imp = await upload(a, res.buf, { query: 'mode=all-or-nothing', headers: admin });
    expect(imp.status, JSON.stringify(imp.body).slice(0, 500)).to.equal(200);
    expect(imp.body.totals).to.include({ rows: d.points.length, created: 0, updated: 0, unchanged: d.points.length, invalid: 0 });
    const after = await allPoints(a);
    expect(after.map((p) => [p.gbCode, p.version, p.updatedAt]).sort()).to.deep.equal(before.map((p) => [p.gbCode, p.version, p.updatedAt]).sort());
  });

  it('when the CSV export is imported into a fresh registry with the same regions, then the points are identical', async () => {
    const res = await download(a, 'format=csv', admin);
    const imp = await upload(b, res.buf, { query: 'mode=all-or-nothing', headers: adminB });
    expect(imp.status, JSON.stringify(imp.body).slice(0, 500)).to.equal(200);
    expect(imp.body.totals).to.include({ created: d.points.length, invalid: 0 });
    const pa = portable(await allPoints(a));
    const pb = portable(await allPoints(b));
    expect(pb.size).to.equal(pa.size);
    for (const [code, p] of pa) expect(pb.get(code), code).to.deep.equal(p);
  });

  for (const format of ['xlsx', 'gb28181'] as const) {
    it(`when one street is exported as ${format} and imported into a fresh registry, then its points are identical`, async () => {
      await b.registry.cameras.model.collection.deleteMany({});
      const street = d.regions.find((r) => r.tier === 'street' && r.name === '园林街道') ?? d.regions[1];
      const res = await download(a, `format=${format}&regionId=${street.id}`, admin);
      expect(res.status).to.equal(200);
      const imp = await upload(b, res.buf, { query: 'mode=all-or-nothing', headers: adminB, filename: `export.${format === 'xlsx' ? 'xlsx' : 'xml'}` });
      expect(imp.status, JSON.stringify(imp.body).slice(0, 500)).to.equal(200);
      expect(imp.body.format).to.equal(format);
      const inStreet = new Set([street.id, ...d.regions.filter((r) => r.parentId === street.id).map((r) => r.id)]);
      const expected = [...portable(await allPoints(a)).values()].filter((p) => inStreet.has(p.regionId as string));
      expect(imp.body.totals.created).to.equal(expected.length);
      const pb = portable(await allPoints(b));
      for (const p of expected) expect(pb.get(p.gbCode as string)).to.deep.equal(p);
      // back into the registry it came from: nothing changes
      const again = await upload(a, res.buf, { query: 'mode=all-or-nothing', headers: admin, filename: `export.${format === 'xlsx' ? 'xlsx' : 'xml'}` });
      expect(again.body.totals).to.include({ created: 0, updated: 0, unchanged: expected.length });
    });
  }

  it('when lang=en, then the CSV headers are English; filters narrow the export like the list does', async () => {
    const res = await download(a, 'format=csv&lang=en&vendor=大华&enabled=true', admin);
    const text = res.buf.toString('utf8');
    expect(text.slice(1, text.indexOf('\r\n'))).to.match(/^gbCode,name,district,street,community,grid,address,lon,lat,host/);
    const list = await fetch(`${a.baseUrl}/api/v1/cameras?vendor=${encodeURIComponent('大华')}&enabled=true&limit=1`, { headers: admin });
    const total = ((await list.json()) as { total: number }).total;
    expect((await parseImportFile(res.buf)).rows).to.have.length(total);
    expect(total).to.be.greaterThan(0);
  });

  it('when a street operator exports, then he gets exactly the points the list shows him', async () => {
    const street = d.regions.filter((r) => r.tier === 'street')[2];
    const op = await createUser(a, { role: 'operator', scopeRegionId: street.id });
    const h = { authorization: `Bearer ${await tokenFor(a, op)}` };
    const res = await download(a, 'format=csv', h);
    const list = await fetch(`${a.baseUrl}/api/v1/cameras?limit=1`, { headers: h });
    const total = ((await list.json()) as { total: number }).total;
    const rows = (await parseImportFile(res.buf)).rows;
    expect(rows).to.have.length(total);
    expect(total).to.be.lessThan(d.points.length);
    const anon = await download(a, 'format=csv');
    expect(anon.status).to.equal(401);
    const bad = await download(a, 'format=pdf', admin);
    expect(bad.status).to.equal(400);
  });
});
