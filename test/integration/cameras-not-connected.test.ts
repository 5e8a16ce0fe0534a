import net from 'node:net';
import { expect } from 'chai';
// exceljs' streaming reader decodes UTF-8 only with the fix in lib/exceljs.ts, which must load first
import '../../server/src/lib/exceljs';
import ExcelJS from 'exceljs';
import type { Camera } from '../../server/src/contracts/cameras';
import { parseImportFile } from '../../server/src/cameras/transfer/parse';
import { bootApp, type TestApp } from '../helpers/app';
import { csvText, demo, demoColumns, demoRows, download, gbk, loadDemoRegions, upload } from '../fixtures/transfer';
import type { Json } from '../helpers/http';
import { waitFor } from '../fixtures/polling';

/**
 * Points not yet connected (未接入): registered without an address (planned, under construction, or reached
 * only through an upper platform). They are valid points, never probed, listed with their own state.
 */

interface Res {
  status: number;
  body: Json;
}

function client(app: TestApp) {
  return async (method: string, path: string, body?: unknown): Promise<Res> => {
    const res = await fetch(`${app.baseUrl}/api/v1${path}`, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
}

const IP = demoColumns.indexOf('IP地址');

describe('points not yet connected (未接入) over HTTP', function () {
  this.timeout(120_000);
  let app: TestApp;
  let api: ReturnType<typeof client>;
  let listener: net.Server;
  let port: number;
  const d = demo();
  // points without an upstream device, so each row stands alone
  const sample = d.points.filter((p) => p.upstreamGbCode === null).slice(0, 12);
  const community = d.regions.find((r) => r.tier === 'community');
  let serial = 900;
  const code = (): string => `21030200001320${String(++serial).padStart(6, '0')}`;

  const byCode = async (gbCode: string): Promise<Camera> => {
    const res = await api('GET', `/cameras?q=${gbCode}`);
    expect(res.body.items, gbCode).to.have.length(1);
    return (res.body.items as Camera[])[0];
  };

  before(async () => {
    listener = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => listener.listen(0, '127.20.250.1', resolve));
    port = (listener.address() as net.AddressInfo).port;
    app = await bootApp({ AUTH_MODE: 'open', MONITOR_ENABLED: 'true', MONITOR_FLUSH_MS: '100' });
    api = client(app);
    await loadDemoRegions(app);
  });
  after(async () => {
    await app?.close();
    await new Promise((resolve) => listener?.close(resolve));
  });
  afterEach(async () => {
    await app.registry.cameras.model.collection.deleteMany({});
  });

  describe('POST, GET, PATCH', () => {
    it('when a point is posted without endpoint.host, then 201 stores host null with default ports and state NOT_CONNECTED', async () => {
      const res = await api('POST', '/cameras', { gbCode: code(), name: '规划点位', regionId: community?.id, endpoint: {} });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.endpoint).to.deep.equal({ host: null, rtspPort: 554, rtspPath: '', httpPort: null, onvifPort: null });
      expect(res.body.status.state).to.equal('NOT_CONNECTED');
      const stored = await app.registry.cameras.model.collection.findOne({ gbCode: res.body.gbCode });
      expect(stored?.endpoint.host).to.equal(null);
      const got = await api('GET', `/cameras/${res.body.id}`);
      expect(got.body.endpoint.host).to.equal(null);
    });

    it('when host is null or an empty string, then it means not connected; a bad host is still refused', async () => {
      const a = await api('POST', '/cameras', { gbCode: code(), name: '在建点位', regionId: community?.id, endpoint: { host: null, rtspPort: 8554 } });
      expect(a.status, JSON.stringify(a.body)).to.equal(201);
      expect(a.body.endpoint).to.include({ host: null, rtspPort: 8554 });
      const b = await api('POST', '/cameras', { gbCode: code(), name: '上级平台接入', regionId: community?.id, endpoint: { host: '  ' } });
      expect(b.status, JSON.stringify(b.body)).to.equal(201);
      expect(b.body.endpoint.host).to.equal(null);
      const bad = await api('POST', '/cameras', { gbCode: code(), name: '错误地址', regionId: community?.id, endpoint: { host: 'bad host!' } });
      expect(bad.status).to.equal(422);
      expect(bad.body.error.details[0]).to.deep.include({ field: 'endpoint.host', message: 'must be an IPv4/IPv6 address or a hostname' });
    });

    it('when listed with state=NOT_CONNECTED, then exactly the points without a host come back, counted', async () => {
      await api('POST', '/cameras', { gbCode: code(), name: '规划点位甲', regionId: community?.id, endpoint: {} });
      await api('POST', '/cameras', { gbCode: code(), name: '规划点位乙', regionId: community?.id, endpoint: { host: '' } });
      await api('POST', '/cameras', { gbCode: code(), name: '停用点位', regionId: community?.id, endpoint: { host: '127.20.250.1', rtspPort: port }, enabled: false });
      const res = await api('GET', '/cameras?state=NOT_CONNECTED');
      expect(res.status).to.equal(200);
      expect((res.body.items as Camera[]).map((c) => c.name).sort()).to.deep.equal(['规划点位乙', '规划点位甲']);
      expect(res.body.total).to.equal(2);
      const either = await api('GET', '/cameras?state=NOT_CONNECTED,DISABLED');
      expect(either.body.total).to.equal(3);
    });

    it('when a host is patched in later, then the point is probed within one interval; patching null clears it again', async () => {
      const created = await api('POST', '/cameras', { gbCode: code(), name: '后接入点位', regionId: community?.id, endpoint: {}, probe: { kind: 'tcp', intervalSec: 5 } });
      expect(created.body.status.state).to.equal('NOT_CONNECTED');
      const id = created.body.id as string;
      // not probed meanwhile: it stays exactly as registered
      await new Promise((r) => setTimeout(r, 300));
      expect((await api('GET', `/cameras/${id}`)).body.status).to.include({ state: 'NOT_CONNECTED', lastCheckAt: null });

      const patched = await api('PATCH', `/cameras/${id}`, { endpoint: { host: '127.20.250.1', rtspPort: port } });
      expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
      expect(patched.body.endpoint).to.include({ host: '127.20.250.1', rtspPort: port });
      const up = await waitFor(
        'the first check after the host was set',
        async () => {
          const c = (await api('GET', `/cameras/${id}`)).body as Camera;
          return c.status.state === 'UP' && c.status.lastCheckAt ? c : null;
        },
        5_000 + 1_000,
        100,
      );
      expect(up.status.state).to.equal('UP');

      const cleared = await api('PATCH', `/cameras/${id}`, { endpoint: { host: null } });
      expect(cleared.status, JSON.stringify(cleared.body)).to.equal(200);
      expect(cleared.body.endpoint).to.include({ host: null, rtspPort: port });
      expect((await api('GET', `/cameras/${id}`)).body.endpoint.host).to.equal(null);
      const emptied = await api('PATCH', `/cameras/${id}`, { endpoint: { host: '10.1.2.3' } });
      expect(emptied.body.endpoint.host).to.equal('10.1.2.3');
      expect((await api('PATCH', `/cameras/${id}`, { endpoint: { host: '' } })).body.endpoint.host).to.equal(null);
    });
  });

  describe('ledger import and export', () => {
    /** Demo rows with the IP地址 cell emptied on every third row. */
    function ledger(): { rows: string[][]; blank: Set<string> } {
      const rows = demoRows(d, sample);
      const blank = new Set<string>();
      rows.forEach((r, i) => {
        if (i % 3 !== 0) return;
        r[IP] = '';
        blank.add(r[0]);
      });
      return { rows, blank };
    }

    async function expectImported(blank: Set<string>): Promise<void> {
      for (const p of sample) {
        const c = await byCode(p.gbCode);
        if (blank.has(p.gbCode)) {
          expect(c.endpoint.host, p.gbCode).to.equal(null);
          expect(c.status.state, p.gbCode).to.equal('NOT_CONNECTED');
        } else {
          expect(c.endpoint.host, p.gbCode).to.equal((p.endpoint as { host: string }).host);
          expect(c.status.state, p.gbCode).to.not.equal('NOT_CONNECTED');
        }
      }
    }

    it('when a GBK CSV ledger has rows without IP地址, then a dry run finds no error and both commit modes create them as not connected', async () => {
      const { rows, blank } = ledger();
      const file = gbk(csvText(demoColumns, rows));
      const dry = await upload(app, file);
      expect(dry.status).to.equal(200);
      expect(dry.body.encoding).to.equal('gb18030');
      expect(dry.body.errors).to.deep.equal([]);
      expect(dry.body.totals).to.include({ rows: sample.length, valid: sample.length, invalid: 0, created: sample.length });

      const all = await upload(app, file, { query: 'mode=all-or-nothing' });
      expect(all.status, JSON.stringify(all.body)).to.equal(200);
      expect(all.body.totals).to.include({ created: sample.length, invalid: 0 });
      await expectImported(blank);
      expect((await api('GET', '/cameras?state=NOT_CONNECTED')).body.total).to.equal(blank.size);

      await app.registry.cameras.model.collection.deleteMany({});
      const valid = await upload(app, file, { query: 'mode=valid-only' });
      expect(valid.body.totals).to.include({ created: sample.length, invalid: 0 });
      await expectImported(blank);
    });

    it('when a UTF-8 CSV ledger has no IP地址 column at all, then every new point is not connected', async () => {
      const columns = demoColumns.filter((c) => c !== 'IP地址');
      const rows = demoRows(d, sample).map((r) => r.filter((_, i) => i !== IP));
      const res = await upload(app, Buffer.from(csvText(columns, rows), 'utf8'), { query: 'mode=all-or-nothing' });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.encoding).to.equal('utf-8');
      expect((await api('GET', '/cameras?state=NOT_CONNECTED')).body.total).to.equal(sample.length);
    });

    it('when an XLSX ledger has empty IP地址 cells, then those rows import as not connected', async () => {
      const { rows, blank } = ledger();
      const wb = new ExcelJS.Workbook();
      const ws = wb.addWorksheet('点位台账');
      ws.addRow(demoColumns);
      // an empty cell as Excel leaves it: no value at all
      for (const r of rows) ws.addRow(r.map((v, i) => (i === IP && v === '' ? null : v)));
      const buf = Buffer.from(await wb.xlsx.writeBuffer());
      const dry = await upload(app, buf, { filename: 'ledger.xlsx' });
      expect(dry.body.format).to.equal('xlsx');
      expect(dry.body.errors).to.deep.equal([]);
      const res = await upload(app, buf, { filename: 'ledger.xlsx', query: 'mode=valid-only' });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.totals).to.include({ created: sample.length, invalid: 0 });
      await expectImported(blank);
    });

    it('when a GB/T 28181 catalog item has no IPAddress, then it imports as not connected', async () => {
      const [p] = sample;
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><CmdType>Catalog</CmdType><DeviceList Num="1">\n<Item><DeviceID>${p.gbCode}</DeviceID><Name>${p.name}</Name><CivilCode>210302</CivilCode><Port>554</Port></Item>\n</DeviceList></Response>\n`;
      const res = await upload(app, Buffer.from(xml, 'utf8'), { filename: 'catalog.xml', query: 'mode=all-or-nothing' });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const c = await byCode(p.gbCode);
      expect(c.endpoint.host).to.equal(null);
      expect(c.status.state).to.equal('NOT_CONNECTED');
    });

    it('when exported, then the IP cell is empty (CSV, XLSX) or IPAddress absent (catalog), and re-importing round-trips', async () => {
      const { rows, blank } = ledger();
      expect((await upload(app, gbk(csvText(demoColumns, rows)), { query: 'mode=all-or-nothing' })).status).to.equal(200);
      const before = new Map<string, Camera>();
      for (const p of sample) before.set(p.gbCode, await byCode(p.gbCode));

      for (const format of ['csv', 'xlsx'] as const) {
        const out = await download(app, `format=${format}`);
        expect(out.status).to.equal(200);
        const parsed = await parseImportFile(out.buf);
        expect(parsed.rows).to.have.length(sample.length);
        for (const r of parsed.rows) {
          expect(r.values.host, `${format} ${r.values.gbCode}`).to.equal(blank.has(r.values.gbCode as string) ? undefined : before.get(r.values.gbCode as string)?.endpoint.host);
        }
        // into the same registry: nothing changes
        const same = await upload(app, out.buf, { filename: `cameras.${format}`, query: 'mode=all-or-nothing' });
        expect(same.body.totals, format).to.include({ unchanged: sample.length, updated: 0, created: 0 });
        // into an empty one: the points come back not connected
        await app.registry.cameras.model.collection.deleteMany({});
        const fresh = await upload(app, out.buf, { filename: `cameras.${format}`, query: 'mode=all-or-nothing' });
        expect(fresh.body.totals, format).to.include({ created: sample.length, invalid: 0 });
        await expectImported(blank);
      }

      const catalog = await download(app, 'format=gb28181');
      const text = catalog.buf.toString('utf8');
      const items = text.split('<Item>').slice(1);
      expect(items).to.have.length(sample.length);
      for (const item of items) {
        const gbCode = /<DeviceID>(\d{20})<\/DeviceID>/.exec(item)?.[1] as string;
        expect(item.includes('<IPAddress>'), gbCode).to.equal(!blank.has(gbCode));
      }
      await app.registry.cameras.model.collection.deleteMany({});
      const fromCatalog = await upload(app, catalog.buf, { filename: 'catalog.xml', query: 'mode=all-or-nothing' });
      expect(fromCatalog.body.totals).to.include({ created: sample.length, invalid: 0 });
      await expectImported(blank);
    });
  });
});
