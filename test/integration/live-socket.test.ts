import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import type { Ack, StatusBatch, SubscribeResult } from '../../server/src/contracts/live';
import { liveOf } from '../../server/src/live';
import { registryOf } from '../../server/src/registry';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs } from '../helpers/auth';
import type { ApiClient } from '../helpers/http';

const D = new ObjectId().toHexString();
const S1 = new ObjectId().toHexString();
const S2 = new ObjectId().toHexString();
const C1 = new ObjectId().toHexString();

/**
 * Points: 20 in community C1 (street S1) shared up (visible to the S1 street operator), 5 unshared in
 * S2, 1 shared-with-all in S2.
 */
const c1Points = Array.from({ length: 20 }, () => new ObjectId().toHexString());
const s2Private = Array.from({ length: 5 }, () => new ObjectId().toHexString());
const s2Shared = new ObjectId().toHexString();

async function seed(app: TestApp): Promise<void> {
  const db = app.ctx.store.conn.db;
  if (!db) throw new Error('no db');
  const oid = (s: string) => new ObjectId(s);
  await db.collection('regions').insertMany([
    { _id: oid(D), name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null },
    { _id: oid(S1), name: '街道一', tier: 'street', parentId: oid(D), code: null, households: null, boundary: null },
    { _id: oid(S2), name: '街道二', tier: 'street', parentId: oid(D), code: null, households: null, boundary: null },
    { _id: oid(C1), name: '社区一', tier: 'community', parentId: oid(S1), code: null, households: 500, boundary: null },
  ]);
  const cam = (id: string, regionId: string, sharing: string, n: number) => ({
    _id: oid(id),
    gbCode: `210302000013200${String(n).padStart(5, '0')}`,
    name: n === 0 ? '<img src=x onerror=alert(1)>' : `点位${n}`,
    regionId: oid(regionId),
    sharing,
    enabled: true,
    address: `地址${n}`,
    vendor: n % 2 ? '海康威视' : '大华',
    maintainer: { org: '运维一', contact: '', phone: '' },
    tags: ['路口'],
    location: { lon: 122.9 + n / 1000, lat: 41.1 },
    status: { state: 'UP', since: new Date(Date.now() - 3600_000), lastCheckAt: null, rttMs: 3, flapping: false, reason: null },
  });
  let n = 0;
  await db.collection('cameras').insertMany([
    ...c1Points.map((id) => cam(id, C1, 'up', n++)),
    ...s2Private.map((id) => cam(id, S2, 'own', n++)),
    cam(s2Shared, S2, 'all', n++),
  ]);
  await registryOf(app.ctx).regions.reload();
  await liveOf(app.ctx).reload();
}

function open(app: TestApp, client: ApiClient): ClientSocket {
  return connect(`${app.baseUrl}/live`, { transports: ['websocket'], reconnection: false, forceNew: true, ...client.socketOptions() });
}

function connected(socket: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}

function emitAck<T>(socket: ClientSocket, event: string, ...args: unknown[]): Promise<Ack<T>> {
  return socket.timeout(5000).emitWithAck(event, ...args) as Promise<Ack<T>>;
}

function collect(socket: ClientSocket): StatusBatch[] {
  const out: StatusBatch[] = [];
  socket.on('status:changed', (b: StatusBatch) => out.push(b));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live push over Socket.IO (integration)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let admin: ApiClient;
  let streetOp: ApiClient;
  const sockets: ClientSocket[] = [];
  const track = (s: ClientSocket) => (sockets.push(s), s);

  before(async () => {
    app = await bootAuthApp({ LIVE_RECONCILE_SEC: '0', LIVE_REPLAY_BATCHES: '3' });
    await seed(app);
    admin = await loginAs(app, bootAdmin);
    const op = await createUser(app, { role: 'operator', scopeRegionId: S1 });
    streetOp = await loginAs(app, op);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.disconnect();
  });
  after(async () => {
    await app?.close();
  });

  it('when a socket connects without a session, then the connection is refused as unauthenticated', async () => {
    const socket = track(connect(`${app.baseUrl}/live`, { transports: ['websocket'], reconnection: false, forceNew: true }));
    const err = await connected(socket).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.equal('unauthenticated');
  });

  it('when the admin subscribes to the district, then the snapshot carries every point and counts per child', async () => {
    const socket = track(open(app, admin));
    await connected(socket);
    const ack = await emitAck<SubscribeResult>(socket, 'subscribe', { regionId: D });
    expect(ack.ok).to.equal(true);
    if (!ack.ok || ack.data.kind !== 'snapshot') throw new Error('expected a snapshot');
    expect(ack.data.points.ids).to.have.length(26);
    expect(ack.data.counts.total[1]).to.equal(26);
    expect(ack.data.counts.children[S1][1]).to.equal(20);
    expect(ack.data.counts.children[S2][1]).to.equal(6);
    // compact: parallel arrays, no per-point history
    expect(Object.keys(ack.data.points).sort()).to.deep.equal(['flap', 'ids', 'since', 'st']);
  });

  it('when a region was created a moment ago, then subscribing to it succeeds at once (no wait for the registry debounce)', async () => {
    const socket = track(open(app, admin));
    await connected(socket);
    const created = await admin.post('/regions', { name: '新社区', tier: 'community', parentId: S1 });
    expect(created.status).to.equal(201);
    const ack = await emitAck<SubscribeResult>(socket, 'subscribe', { regionId: String(created.body.id) });
    expect(ack.ok, JSON.stringify(ack)).to.equal(true);
  });

  it('when a street operator subscribes, then it sees only its street and never another street’s unshared points', async () => {
    const socket = track(open(app, streetOp));
    await connected(socket);
    const district = await emitAck<SubscribeResult>(socket, 'subscribe', { regionId: D });
    expect(district.ok).to.equal(false);
    if (!district.ok) expect(district.error.code).to.equal('not_found');
    const other = await emitAck<SubscribeResult>(socket, 'subscribe', { regionId: S2 });
    expect(other.ok).to.equal(false);
    const own = await emitAck<SubscribeResult>(socket, 'subscribe', { regionId: S1 });
    if (!own.ok || own.data.kind !== 'snapshot') throw new Error('expected a snapshot');
    expect(own.data.points.ids).to.have.members(c1Points);
    for (const id of s2Private) expect(own.data.points.ids).to.not.include(id);

    const batches = collect(socket);
    liveOf(app.ctx).applyTransition({ cameraId: s2Private[0], to: 'DOWN', at: new Date() });
    liveOf(app.ctx).applyTransition({ cameraId: c1Points[0], to: 'DOWN', at: new Date() });
    await sleep(600);
    const seen = batches.flatMap((b) => b.changes.ids);
    expect(seen).to.include(c1Points[0]);
    expect(seen).to.not.include(s2Private[0]);
    liveOf(app.ctx).applyTransition({ cameraId: s2Private[0], to: 'UP', at: new Date() });
    liveOf(app.ctx).applyTransition({ cameraId: c1Points[0], to: 'UP', at: new Date() });
  });

  it('when the street operator asks for the point catalog, then other streets’ unshared points are left out', async () => {
    const res = await streetOp.get(`/live/points?regionId=${S1}`);
    expect(res.status).to.equal(200);
    expect(res.body.ids).to.have.members(c1Points);
    const outside = await streetOp.get(`/live/points?regionId=${D}`);
    expect(outside.status).to.equal(404);
    const all = await admin.get(`/live/points?regionId=${D}`);
    expect(all.body.ids).to.have.length(26);
    // names come back as data, untouched: the console renders them as text
    expect(all.body.name).to.include('<img src=x onerror=alert(1)>');
  });

  it('when 20 points change 60 times within 1.5 s, then the console gets at most 4 batches per second, consecutive seqs and the final states', async () => {
    const socket = track(open(app, admin));
    await connected(socket);
    const ack = await emitAck<SubscribeResult>(socket, 'subscribe', { regionId: D });
    if (!ack.ok) throw new Error('subscribe failed');
    const batches = collect(socket);
    const started = Date.now();
    const final = new Map<string, number>();
    for (let k = 0; k < 60; k++) {
      const id = c1Points[k % 20];
      const down = k % 3 !== 0;
      liveOf(app.ctx).applyTransition({ cameraId: id, to: down ? 'DOWN' : 'UP', at: new Date(Date.now() + k) });
      final.set(id, down ? 3 : 1);
      await sleep(25);
    }
    await sleep(700);
    const elapsed = (Date.now() - started) / 1000;
    expect(batches.length).to.be.at.least(2);
    expect(batches.length).to.be.at.most(Math.ceil(elapsed * 4) + 1);
    for (let i = 1; i < batches.length; i++) {
      expect(batches[i].seq).to.equal(batches[i - 1].seq + 1);
      expect(batches[i].serverTime - batches[i - 1].serverTime).to.be.at.least(245);
    }
    expect(batches[0].seq).to.equal(ack.data.seq + 1);
    const state = new Map<string, number>();
    for (const b of batches) b.changes.ids.forEach((id, i) => state.set(id, b.changes.st[i]));
    for (const [id, st] of final) expect(state.get(id), id).to.equal(st);
    const last = batches[batches.length - 1];
    const down = [...final.values()].filter((s) => s === 3).length;
    expect(last.counts.total[3]).to.equal(down);
    for (const id of c1Points) liveOf(app.ctx).applyTransition({ cameraId: id, to: 'UP', at: new Date(Date.now() + 10_000) });
  });

  it('when a console reconnects with its last seq, then it receives what it missed; with a seq gone from the ring, a fresh snapshot', async () => {
    const first = track(open(app, admin));
    await connected(first);
    const ack = await emitAck<SubscribeResult>(first, 'subscribe', { regionId: S1 });
    if (!ack.ok) throw new Error('subscribe failed');
    const batches = collect(first);
    liveOf(app.ctx).applyTransition({ cameraId: c1Points[1], to: 'DOWN', at: new Date(Date.now() + 20_000) });
    await sleep(400);
    expect(batches).to.have.length(1);
    const { epoch, seq } = batches[0];
    first.disconnect();

    // while it is away: one more change (ring keeps 3 batches, so seq is still replayable)
    liveOf(app.ctx).applyTransition({ cameraId: c1Points[2], to: 'DOWN', at: new Date(Date.now() + 21_000) });
    await sleep(400);
    const second = track(open(app, admin));
    await connected(second);
    const replay = await emitAck<SubscribeResult>(second, 'subscribe', { regionId: S1, lastSeq: seq, epoch });
    if (!replay.ok) throw new Error('resubscribe failed');
    expect(replay.data.kind).to.equal('delta');
    if (replay.data.kind === 'delta') {
      expect(replay.data.changes.ids).to.deep.equal([c1Points[2]]);
      expect(replay.data.seq).to.equal(seq + 1);
      expect(replay.data.counts.total[3]).to.equal(2);
    }
    second.disconnect();

    // many batches later the old seq is gone from the ring: a snapshot, never a partial replay
    for (let k = 0; k < 5; k++) {
      liveOf(app.ctx).applyTransition({ cameraId: c1Points[3 + k], to: 'DOWN', at: new Date(Date.now() + 22_000 + k) });
      await sleep(300);
    }
    const third = track(open(app, admin));
    await connected(third);
    const stale = await emitAck<SubscribeResult>(third, 'subscribe', { regionId: S1, lastSeq: seq, epoch });
    if (!stale.ok) throw new Error('resubscribe failed');
    expect(stale.data.kind).to.equal('snapshot');
    if (stale.data.kind === 'snapshot') expect(stale.data.counts.total[3]).to.equal(7);
    for (const id of c1Points) liveOf(app.ctx).applyTransition({ cameraId: id, to: 'UP', at: new Date(Date.now() + 30_000) });
  });

  it('when a client sends malformed events, then each gets an error ack and the socket keeps working', async () => {
    const socket = track(open(app, admin));
    await connected(socket);
    const bad: unknown[] = [
      { regionId: { $gt: '' } },
      'district',
      null,
      { regionId: D, extra: 1 },
      { regionId: D, lastSeq: -1 },
      { regionId: 'x'.repeat(200) },
      { regionId: new ObjectId().toHexString() },
    ];
    for (const payload of bad) {
      const ack = await emitAck<SubscribeResult>(socket, 'subscribe', payload);
      expect(ack.ok, JSON.stringify(payload)).to.equal(false);
      if (!ack.ok) expect(['bad_request', 'not_found']).to.include(ack.error.code);
    }
    socket.emit('subscribe', { regionId: D }); // no ack callback: must not crash
    socket.emit('no-such-event', { a: 1 });
    const unsub = await emitAck<unknown>(socket, 'unsubscribe', 42);
    expect(unsub.ok).to.equal(false);
    const good = await emitAck<SubscribeResult>(socket, 'subscribe', { regionId: D });
    expect(good.ok).to.equal(true);
    const health = await fetch(`${app.baseUrl}/healthz`);
    expect(health.status).to.equal(200);
  });

  it('when a client floods subscribe, then it is rate limited instead of costing a snapshot each time', async () => {
    const socket = track(open(app, admin));
    await connected(socket);
    const acks = await Promise.all(Array.from({ length: 25 }, () => emitAck<SubscribeResult>(socket, 'subscribe', { regionId: C1 })));
    const limited = acks.filter((a) => !a.ok && a.error.code === 'rate_limited');
    expect(acks.filter((a) => a.ok)).to.have.length(20);
    expect(limited).to.have.length(5);
  });

  it('when the registry adds a point, then subscribed consoles are told to resync and the new snapshot holds it', async () => {
    const socket = track(open(app, admin));
    await connected(socket);
    await emitAck<SubscribeResult>(socket, 'subscribe', { regionId: D });
    const notice = new Promise<unknown>((resolve) => socket.once('status:resync', resolve));
    const db = app.ctx.store.conn.db;
    if (!db) throw new Error('no db');
    const id = new ObjectId();
    await db.collection('cameras').insertOne({ _id: id, gbCode: '21030200001320099999', name: '新点位', regionId: new ObjectId(C1), sharing: 'own', enabled: true });
    await liveOf(app.ctx).reload();
    expect(await notice).to.deep.include({ regionId: D });
    const ack = await emitAck<SubscribeResult>(socket, 'subscribe', { regionId: D });
    if (!ack.ok || ack.data.kind !== 'snapshot') throw new Error('expected a snapshot');
    expect(ack.data.points.ids).to.include(id.toHexString());
  });

  it('when transitions arrive for points the registry does not hold (one deleted a moment ago, others unknown), then one full read at most follows and none stays waiting', async () => {
    const live = liveOf(app.ctx);
    await live.ready();
    // a point created and deleted through the API: its late report is dropped without a read
    const created = await admin.post('/api/v1/cameras', { gbCode: '21030200001320088888', name: '临时点位', regionId: C1, endpoint: { host: '10.1.2.3' } });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const gone = (created.body as { id: string }).id;
    const del = await admin.delete(`/api/v1/cameras/${gone}`);
    expect(del.status, JSON.stringify(del.body)).to.equal(204);
    await sleep(400); // the registry change is applied after its 200 ms debounce
    const before = live.stats();
    live.applyTransition({ cameraId: gone, to: 'DOWN', at: new Date() });
    expect(live.stats()).to.deep.equal(before);
    // unknown points: kept until the next read, which finds nothing for them and drops them
    const ghosts = Array.from({ length: 5 }, () => new ObjectId().toHexString());
    for (const g of ghosts) live.applyTransition({ cameraId: g, to: 'UP', at: new Date() });
    expect(live.stats().orphans).to.equal(5);
    for (let i = 0; i < 150 && live.stats().orphans > 0; i++) await sleep(100);
    const after = live.stats();
    expect(after.orphans).to.equal(0);
    expect(after.loads - before.loads).to.equal(1);
    // more reports of the same ghosts do not start a second read before the gap has passed
    for (const g of ghosts) live.applyTransition({ cameraId: g, to: 'DOWN', at: new Date() });
    await sleep(500);
    expect(live.stats().loads).to.equal(after.loads);
  });
});
