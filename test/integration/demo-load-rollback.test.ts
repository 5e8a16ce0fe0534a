import { expect } from 'chai';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { loginAs } from '../helpers/auth';
import { type ApiClient } from '../helpers/http';

/** What the embedded store passes on when SQLite cannot write: "database or disk is full" (lib/store-errors.ts). */
function diskFull(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 1, codeName: 'InternalError' });
}

/** Issue 12, finding 7: loading the demo on a full disk must not leave a partial district. */
describe('POST /demo/load on a full disk (integration)', function () {
  this.timeout(180_000);
  let app: TestApp;
  let admin: ApiClient;
  before(async () => {
    app = await bootAuthApp();
    admin = await loginAs(app, bootAdmin);
  });
  after(async () => app?.close());

  it('when a write fails part-way (regions and 2 batches of points written), then 507, and no region and no point of the district remains; the load can be repeated', async () => {
    const cameras = app.registry.cameras;
    const write = cameras.upsertManyValidated.bind(cameras);
    let calls = 0;
    // injected: the third bulk write of points meets a full disk (the regions and the first batches are in)
    cameras.upsertManyValidated = (rows, actor, opts) => (++calls === 3 ? Promise.reject(diskFull()) : write(rows, actor, opts));
    try {
      const res = await admin.post('/demo/load', {});
      expect(res.status, JSON.stringify(res.body)).to.equal(507);
      expect(res.body.error.code).to.equal('insufficient_storage');
      expect(calls, 'the failure came after points were written').to.equal(3);
    } finally {
      cameras.upsertManyValidated = write;
    }

    const db = app.ctx.store.conn;
    expect(await db.collection('regions').countDocuments({}), 'regions left in the store').to.equal(0);
    expect(await db.collection('cameras').countDocuments({}), 'points left in the store').to.equal(0);
    expect(app.registry.regions.size(), 'regions left in the tree').to.equal(0);
    const state = await admin.get('/demo');
    expect(state.body).to.include({ empty: true, demoLoaded: false });
    expect((await admin.get('/cameras?limit=1')).body.total).to.equal(0);
    const tree = await admin.get('/regions/tree');
    expect(tree.status).to.equal(200);
    expect(tree.body.roots).to.deep.equal([]);

    const again = await admin.post('/demo/load', {});
    expect(again.status, JSON.stringify(again.body)).to.equal(201);
    expect(again.body.points).to.equal(5400);
    expect(await db.collection('cameras').countDocuments({})).to.equal(5400);
  });
});
