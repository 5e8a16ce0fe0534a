import { expect } from 'chai';
import { ObjectId, type Db } from 'mongodb';
import { cameraInputSchema, stripEcho, type CameraInput } from '../../server/src/cameras/schema';
import { devPrincipal } from '../../server/src/contracts/access';
import { monitoringOf } from '../../server/src/monitoring';
import { registryOf } from '../../server/src/registry';
import { bootApp, type TestApp } from '../helpers/app';
import { DISTRICT, seedDistrict } from '../fixtures/polling';

/*
 * Points the registry creates, one by one and in bulk.
 *
 * A new point's document carries its first status (DISABLED, 未接入 or UNKNOWN): the registry writes it with
 * the point. The engine used to queue the same status again for every point created, so an import of a
 * million points queued a million status writes behind it (memory while they waited, the store's time after).
 * A large bulk upsert (an import's apply batch) where the store refuses one write: that row is the conflict and
 * every other one is written (kept from an experiment that split the write into commands of 1,000, where the
 * refused row's index had to be offset: BENCHMARKS.md, 2026-12-04).
 */
describe('points the registry creates, one by one and in bulk (real store, engine on)', function () {
  this.timeout(30_000);
  let app: TestApp;
  let db: Db;
  let serial = 0;

  const input = (enabled: boolean, host: string | null): CameraInput => {
    serial += 1;
    return stripEcho(
      cameraInputSchema.parse({
        gbCode: `21030200001320${String(700_000 + serial)}`,
        name: `新建点位${serial}`,
        regionId: DISTRICT,
        enabled,
        endpoint: { host },
      }),
    );
  };

  /** A disabled point of the bulk test, numbered. */
  const bulk = (n: number): CameraInput =>
    stripEcho(cameraInputSchema.parse({ gbCode: `21030200001320${String(600_000 + n)}`, name: `批量点位${n}`, regionId: DISTRICT, enabled: false, endpoint: { host: null } }));

  before(async () => {
    // no periodic flush inside the test: what the engine queues stays queued
    app = await bootApp({ MONITOR_ENABLED: 'true', MONITOR_FLUSH_MS: '60000' });
    db = app.ctx.store.conn.db as unknown as Db;
    await seedDistrict(db);
    await registryOf(app.ctx).regions.reload();
  });

  after(async () => {
    await app?.close();
  });

  it('when points are created one by one and as an import batch, then the engine queues no status write for them and each reads its first state', async () => {
    const registry = registryOf(app.ctx);
    const monitoring = monitoringOf(app.ctx);
    await monitoring.flush();
    const queued = monitoring.store.bufferedStatus;
    const one = await registry.cameras.create(devPrincipal, input(false, '10.9.0.1'));
    const two = await registry.cameras.create(devPrincipal, input(true, null));
    const batch = await registry.cameras.upsertManyValidated(
      Array.from({ length: 20 }, (_, i) => input(i % 2 === 0, i % 2 === 0 ? `10.9.1.${i + 1}` : null)),
      { userId: 'test', username: 'test' },
      { source: 'import:test', audit: false },
    );
    expect(batch.created).to.equal(20);
    const ids = [one.id, two.id, ...batch.outcomes.map((o) => o.id)];
    expect(monitoring.store.bufferedStatus, 'status writes queued for the new points').to.equal(queued);
    const engine = ids.map((id) => monitoring.status(id)?.state);
    expect(engine.slice(0, 2)).to.deep.equal(['DISABLED', 'NOT_CONNECTED']);
    expect(engine.slice(2).filter((s) => s === 'UNKNOWN' || s === 'UP' || s === 'PENDING' || s === 'DOWN')).to.have.length(10);
    expect(engine.slice(2).filter((s) => s === 'DISABLED')).to.have.length(10);
    // the store holds each one's first status, as the insert wrote it
    const docs = await db.collection('cameras').find({ _id: { $in: ids.map((id) => new ObjectId(id)) } }, { projection: { 'status.state': 1, 'status.since': 1 } }).toArray();
    expect(docs).to.have.length(22);
    for (const d of docs) expect(d.status?.since, String(d._id)).to.be.instanceOf(Date);
    expect(docs.find((d) => String(d._id) === one.id)?.status?.state).to.equal('DISABLED');
    expect(docs.find((d) => String(d._id) === two.id)?.status?.state).to.equal('NOT_CONNECTED');
  });

  it('when 2,500 points are written and the store refuses row 2,100, then that one is the conflict and the others are created', async () => {
    const cameras = registryOf(app.ctx).cameras;
    // the store holds row 2,100's code already; `stored` (what the plan read) does not know it, so it goes as a create
    const taken = await cameras.create(devPrincipal, bulk(2100));
    const rows = Array.from({ length: 2500 }, (_, i) => bulk(i));
    const res = await cameras.upsertManyValidated(rows, { userId: 'test', username: 'test' }, { stored: new Map(), audit: false });
    expect(res.conflicts).to.deep.equal([bulk(2100).gbCode]);
    expect(res.created).to.equal(2499);
    expect(await db.collection('cameras').countDocuments({ name: /^批量点位/ })).to.equal(2500);
    expect((await db.collection('cameras').findOne({ gbCode: bulk(2100).gbCode }))?._id.toHexString()).to.equal(taken.id);
  });
});
