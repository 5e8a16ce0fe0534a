import { expect } from 'chai';
import type { Db } from 'mongodb';
import { cameraInputSchema, stripEcho, type CameraInput } from '../../server/src/cameras/schema';
import { devPrincipal } from '../../server/src/contracts/access';
import { registryOf } from '../../server/src/registry';
import { bootApp, type TestApp } from '../helpers/app';
import { DISTRICT, seedDistrict } from '../fixtures/polling';

/*
 * A large bulk upsert (an import's apply batch) where the store refuses one write: that row is the conflict and
 * every other one is written. (Kept from an experiment that split the write into commands of 1,000, where the
 * refused row's index had to be offset: see BENCHMARKS.md, 2026-12-04 23:19.)
 */
describe('registry bulk upsert with a refused write (real store)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let db: Db;

  const input = (n: number): CameraInput =>
    stripEcho(cameraInputSchema.parse({ gbCode: `21030200001320${String(600_000 + n)}`, name: `批量点位${n}`, regionId: DISTRICT, enabled: false, endpoint: { host: null } }));

  before(async () => {
    app = await bootApp();
    db = app.ctx.store.conn.db as unknown as Db;
    await seedDistrict(db);
    await registryOf(app.ctx).regions.reload();
  });

  after(async () => {
    await app?.close();
  });

  it('when 2,500 points are written and the store refuses row 2,100, then that one is the conflict and the others are created', async () => {
    const cameras = registryOf(app.ctx).cameras;
    // the store holds row 2,100's code already; `stored` (what the plan read) does not know it, so it goes as a create
    const taken = await cameras.create(devPrincipal, input(2100));
    const rows = Array.from({ length: 2500 }, (_, i) => input(i));
    const res = await cameras.upsertManyValidated(rows, { userId: 'test', username: 'test' }, { stored: new Map(), audit: false });
    expect(res.conflicts).to.deep.equal([input(2100).gbCode]);
    expect(res.created).to.equal(2499);
    expect(await db.collection('cameras').countDocuments({ name: /^批量点位/ })).to.equal(2500);
    expect((await db.collection('cameras').findOne({ gbCode: input(2100).gbCode }))?._id.toHexString()).to.equal(taken.id);
  });
});
