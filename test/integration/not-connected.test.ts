import { expect } from 'chai';
import net from 'node:net';
import { ObjectId, type Db } from 'mongodb';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { stateCodeOf, type Ack, type StatusBatch, type SubscribeResult } from '../../server/src/contracts/live';
import { liveOf } from '../../server/src/live';
import { monitoringOf, type Transition } from '../../server/src/monitoring';
import { registryOf } from '../../server/src/registry';
import { bootApp, type TestApp } from '../helpers/app';
import { anonymous, type ApiResponse } from '../helpers/http';
import { DISTRICT, seedDistrict, fastPollingEnv, waitFor } from '../fixtures/polling';

const INTERVAL_MS = 250;

/**
 * A point registered before it is connected (未接入, endpoint.host null): not probed, NOT_CONNECTED in the
 * engine and on the board, counted in no uptime; a PATCH giving it a host starts probing within one interval.
 */
describe('points not yet connected (integration: REST → engine → /live)', function () {
  this.timeout(30_000);
  let app: TestApp;
  let listener: net.Server;
  let accepted = 0;
  let socket: ClientSocket | undefined;
  const host = `127.0.0.${2 + Math.floor(Math.random() * 250)}`;
  let port = 0;
  const feed: Transition[] = [];
  const batches: StatusBatch[] = [];
  let id = '';

  const api = (method: string, path: string, body?: unknown): Promise<ApiResponse> => anonymous(app).request(method, path, body);

  before(async () => {
    listener = net.createServer((s) => {
      accepted++;
      s.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, host, resolve));
    port = (listener.address() as net.AddressInfo).port;
    app = await bootApp(fastPollingEnv(INTERVAL_MS));
    await seedDistrict(app.ctx.store.conn.db as unknown as Db);
    await registryOf(app.ctx).regions.reload();
    await liveOf(app.ctx).reload();
    monitoringOf(app.ctx).feed.subscribe((t) => feed.push(t));
  });
  after(async () => {
    socket?.close();
    await app?.close();
    await new Promise((r) => listener?.close(r));
  });

  it('when a point is created without a host, then the API returns host null and the engine holds it NOT_CONNECTED, unprobed', async () => {
    const created = await api('POST', '/cameras', {
      gbCode: '21030200001320999001',
      name: '未接入点位',
      regionId: DISTRICT,
      endpoint: { rtspPort: port },
      probe: { kind: 'tcp', intervalSec: 60, timeoutMs: 300, retries: 1 },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    id = created.body.id as string;
    expect(created.body.endpoint.host).to.equal(null);
    await waitFor('the engine mirrors the point', () => monitoringOf(app.ctx).hasPoint(id), 5000);
    const status = await api('GET', `/cameras/${id}/status`);
    expect(status.body.state).to.equal('NOT_CONNECTED');
    expect(status.body.nextCheckAt, 'not scheduled').to.equal(null);
    // no transition announces a point that was never connected
    expect(feed.filter((t) => t.cameraId === id)).to.have.length(0);
    const check = await api('POST', `/cameras/${id}/check`);
    expect(check.status).to.equal(409);
    // the stored status follows (the engine's flush), so the registry's reads agree
    await waitFor('stored NOT_CONNECTED', async () => (await api('GET', `/cameras/${id}`)).body.status?.state === 'NOT_CONNECTED', 5000);
  });

  it('when the console subscribes, then the /live snapshot carries the point as NOT_CONNECTED in its counts', async () => {
    // registry changes reach the live index in debounced bursts (a subscribe before that gets a resync later)
    await waitFor('the point in the live index', async () => (await liveOf(app.ctx).ready()).getPoint(id), 5000);
    socket = connect(`${app.baseUrl}/live`, { transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise<void>((resolve, reject) => {
      socket?.once('connect', () => resolve());
      socket?.once('connect_error', reject);
    });
    socket.on('status:changed', (b: StatusBatch) => batches.push(b));
    const ack = (await socket.timeout(5000).emitWithAck('subscribe', { regionId: DISTRICT })) as Ack<SubscribeResult>;
    if (!ack.ok) throw new Error(ack.error.message);
    const snap = ack.data;
    expect(snap.kind).to.equal('snapshot');
    const i = snap.kind === 'snapshot' ? snap.points.ids.indexOf(id) : -1;
    expect(i).to.be.at.least(0);
    if (snap.kind === 'snapshot') expect(snap.points.st[i]).to.equal(stateCodeOf.NOT_CONNECTED);
    expect(snap.counts.total[stateCodeOf.NOT_CONNECTED]).to.equal(1);
    expect(snap.counts.total).to.have.length(stateCodeOf.NOT_CONNECTED + 1);
  });

  it('when a PATCH gives the point a host, then it is probed and UP within one interval, and the board follows', async () => {
    // the point has been NOT_CONNECTED for at least this long before the host comes: that time counts nowhere
    await new Promise((r) => setTimeout(r, 3000));
    expect(accepted, 'a point without a host is never probed').to.equal(0);
    const patchedAt = Date.now();
    const patched = await api('PATCH', `/cameras/${id}`, { endpoint: { host } });
    expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
    await waitFor('UP', () => monitoringOf(app.ctx).status(id)?.state === 'UP', 5000, 10);
    // the PATCH answer itself takes a moment; scheduling slack on a loaded 2-core machine
    expect(Date.now() - patchedAt).to.be.below(INTERVAL_MS + 750);
    expect(accepted).to.be.at.least(1);
    expect(feed.filter((t) => t.cameraId === id).map((t) => `${t.from}>${t.to}`)).to.deep.equal(['NOT_CONNECTED>UNKNOWN', 'UNKNOWN>UP']);
    await waitFor('the board shows UP', () => batches.some((b) => b.changes.ids.includes(id) && b.changes.st[b.changes.ids.indexOf(id)] === stateCodeOf.UP), 5000);
    const last = batches[batches.length - 1];
    expect(last.counts.total[stateCodeOf.NOT_CONNECTED]).to.equal(0);
    expect(last.counts.total[stateCodeOf.UP]).to.equal(1);

    const sinceHost = (Date.now() - patchedAt) / 1000;
    const history = await api('GET', `/cameras/${id}/history?period=24h`);
    expect(history.status).to.equal(200);
    const u = history.body.uptime as { upSec: number; downSec: number; maintenanceSec: number; unknownSec: number; percent: number | null };
    // ≥ 3 s not connected before the PATCH: none of it is in any category (each rounded to whole seconds)
    expect(u.upSec + u.downSec + u.maintenanceSec + u.unknownSec).to.be.at.most(sinceHost + 1);
    expect(u.unknownSec).to.be.at.most(1);
    expect(u.downSec).to.equal(0);
  });

  it('when the host is taken away again, then UP>NOT_CONNECTED and probing stops', async () => {
    const engine = monitoringOf(app.ctx);
    // taking a host away through the API is the registry's side; here the engine reads the stored point
    await (app.ctx.store.conn.db as unknown as Db).collection('cameras').updateOne({ _id: new ObjectId(id) }, { $set: { 'endpoint.host': null } });
    await engine.resync();
    expect(engine.status(id)?.state).to.equal('NOT_CONNECTED');
    expect(feed.filter((t) => t.cameraId === id).map((t) => `${t.from}>${t.to}`).slice(-1)).to.deep.equal(['UP>NOT_CONNECTED']);
    await new Promise((r) => setTimeout(r, 300));
    const seen = accepted;
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    expect(accepted, 'no probes once not connected').to.equal(seen);
  });
});
