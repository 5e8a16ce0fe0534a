import { expect } from 'chai';
import type { Db } from 'mongodb';
import { cameraInputSchema, stripEcho, type CameraInput } from '../../server/src/cameras/schema';
import { devPrincipal } from '../../server/src/contracts/access';
import { registryOf } from '../../server/src/registry';
import { bootApp, type TestApp } from '../helpers/app';
import { DISTRICT, seedDistrict } from '../fixtures/polling';

/*
 * A bulk upsert writes its points in commands of 1,000 (the driver encodes a command in one synchronous step;
 * 5,000 points held the event loop ~60 ms). A refused write is reported for its own row whichever command it
 * was in.
 */
describe('registry bulk upsert in commands of 1,000 (real store)', function () {
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

  it('when 2,500 points are written and one in the third command is refused by the store, then that one is the conflict and the others are created', async () => {
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
