import http from 'node:http';
import net from 'node:net';
import { expect } from 'chai';
import { ObjectId, type Db } from 'mongodb';
import { monitoringOf } from '../../server/src/monitoring';
import { bootApp, type TestApp } from '../helpers/app';
import { anonymous, type ApiClient } from '../helpers/http';
import { cameraDoc, DISTRICT, fastPollingEnv, seedDistrict } from '../fixtures/polling';
import { csvText, upload } from '../fixtures/transfer';

/** A listener on `host` that counts the connections it accepted and answers each with `answer`. */
async function listener(host: string, answer: string): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    s.on('error', () => undefined);
    s.once('data', () => s.end(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { port: (server.address() as net.AddressInfo).port, accepted: () => accepted, close: () => new Promise((r) => server.close(() => r())) };
}

let serial = 1;
const code = (): string => `21030200001320${String(900_000 + serial++).padStart(6, '0')}`;

describe('probe targets: PROBE_DENY_CIDRS and nothing read back from the target (integration)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let api: ApiClient;
  let db: Db;

  before(async () => {
    app = await bootApp(fastPollingEnv(60_000));
    api = anonymous(app);
    db = app.ctx.store.conn.db as unknown as Db;
    await seedDistrict(db);
    await app.registry.regions.reload();
  });
  after(async () => app?.close());

  const point = (host: string) => ({ gbCode: code(), name: '点位', regionId: DISTRICT, endpoint: { host, rtspPort: 554 } });

  it('when a point is created aimed at a denied range, then 422 names endpoint.host; 127.x.y.z simulators stay allowed', async () => {
    for (const host of ['169.254.169.254', '127.0.0.1', '::1', '0.0.0.0', '224.0.0.251', 'fe80::1', 'ff02::1', '::ffff:169.254.169.254', 'localhost', '2852039166', '0xa9fea9fe']) {
      const res = await api.post('/cameras', point(host));
      expect(res.status, host).to.equal(422);
      expect(res.body.error.details[0].field, host).to.equal('endpoint.host');
    }
    for (const host of ['127.20.0.1', '10.1.2.3', 'cam-01.tiedong.local']) {
      expect((await api.post('/cameras', point(host))).status, host).to.equal(201);
    }
  });

  it('when a point is moved onto a denied address, then 422 names endpoint.host and the point keeps its old one', async () => {
    const created = await api.post('/cameras', point('127.20.0.2'));
    expect(created.status).to.equal(201);
    const res = await api.patch(`/cameras/${created.body.id}`, { endpoint: { host: '169.254.169.254' } });
    expect(res.status).to.equal(422);
    expect(res.body.error.details[0].field).to.equal('endpoint.host');
    expect((await api.get(`/cameras/${created.body.id}`)).body.endpoint.host).to.equal('127.20.0.2');
  });

  it('when an import row names a denied address, then that row is refused on its host column', async () => {
    const header = ['国标编码', '名称', '所属区县', 'IP地址'];
    const rows = [
      [code(), '允许', '铁东区', '127.20.0.3'],
      [code(), '元数据', '铁东区', '169.254.169.254'],
    ];
    const res = await upload(app, Buffer.from(csvText(header, rows)), { query: 'mode=dry-run' });
    expect(res.status).to.equal(200);
    expect(res.body.totals).to.include({ rows: 2, valid: 1, invalid: 1 });
    expect(res.body.errors[0]).to.include({ line: 3 });
    expect(res.body.errors[0].reason).to.match(/PROBE_DENY_CIDRS/);
  });

  it('when a stored point (or a name resolving there) targets a denied address, then it is never probed', async () => {
    const own = await listener('127.0.0.1', 'RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n');
    try {
      const ids: string[] = [];
      for (const host of ['127.0.0.1', 'localhost']) {
        const id = new ObjectId().toHexString();
        await db.collection('cameras').insertOne(cameraDoc({ id, host, kind: 'rtsp', rtspPort: own.port, httpPort: own.port, timeoutMs: 1000 }));
        ids.push(id);
      }
      await monitoringOf(app.ctx).resync();
      for (const id of ids) {
        const res = await api.post(`/cameras/${id}/check`);
        expect(res.status).to.equal(200);
        expect(res.body.result.outcome).to.equal('unreachable');
        expect(res.body.result.detail).to.match(/PROBE_DENY_CIDRS/);
      }
      expect(own.accepted()).to.equal(0);
    } finally {
      await own.close();
    }
  });

  it('when a target answers with a banner, a reason phrase or a SOAP fault, then /check returns none of its bytes', async () => {
    const secret = 'SECRET-BANNER-6f1c';
    const rtsp = await listener('127.20.0.9', `RTSP/1.0 404 ${secret}\r\nCSeq: 1\r\nWWW-Authenticate: ${secret}\r\n\r\n`);
    const garbage = await listener('127.20.0.10', `${secret} ${secret} ${secret}\r\n\r\n`);
    const onvif = http.createServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/soap+xml', 'www-authenticate': secret });
      res.end(`<s:Envelope><s:Body><s:Fault><s:Reason><s:Text xml:lang="en">${secret}</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`);
    });
    await new Promise<void>((resolve) => onvif.listen(0, '127.20.0.11', resolve));
    const onvifPort = (onvif.address() as net.AddressInfo).port;
    try {
      const targets = [
        { host: '127.20.0.9', kind: 'rtsp' as const, port: rtsp.port },
        { host: '127.20.0.10', kind: 'rtsp' as const, port: garbage.port },
        { host: '127.20.0.11', kind: 'onvif' as const, port: onvifPort },
      ];
      for (const t of targets) {
        const id = new ObjectId().toHexString();
        await db.collection('cameras').insertOne(cameraDoc({ id, host: t.host, kind: t.kind, rtspPort: t.port, httpPort: t.port, timeoutMs: 1000 }));
        await monitoringOf(app.ctx).resync();
        const res = await api.post(`/cameras/${id}/check`);
        expect(res.status, t.host).to.equal(200);
        expect(res.body.result.outcome, t.host).to.equal('protocol_error');
        expect(JSON.stringify(res.body), t.host).not.to.contain('SECRET');
        const history = await api.get(`/cameras/${id}/history?period=24h`);
        expect(JSON.stringify(history.body), t.host).not.to.contain('SECRET');
      }
    } finally {
      await rtsp.close();
      await garbage.close();
      await new Promise<void>((r) => onvif.close(() => r()));
    }
  });
});
