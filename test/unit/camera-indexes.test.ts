import { expect } from 'chai';
import mongoose, { type Connection } from 'mongoose';
import { cameraModel, dropStaleCameraIndexes } from '../../server/src/cameras/model';
import { useTarget } from '../embedded-mongo/target';

describe('cameras: indexes left over from earlier versions', () => {
  const t = useTarget('camix');
  let conn: Connection;

  before(async () => {
    conn = await mongoose.createConnection(t().uri, { serverSelectionTimeoutMS: 5000, autoIndex: true }).asPromise();
  });
  after(async () => {
    await conn.close();
  });

  it('when the cameras collection carries indexes the schema no longer defines, then start-up drops exactly those', async () => {
    const native = t().db.collection('cameras');
    await native.insertOne({ gbCode: '21030200001320000001', name: '路口', vendor: '大华', maintainer: { org: 'x' }, enabled: true, searchTokens: ['路口'] });
    for (const field of ['vendor', 'maintainer.org', 'searchTokens', 'enabled']) await native.createIndex({ [field]: 1 });
    const model = cameraModel(conn);
    await model.init();
    const dropped = await dropStaleCameraIndexes(model);
    expect(dropped.sort()).to.deep.equal(['enabled_1', 'maintainer.org_1', 'searchTokens_1', 'vendor_1']);
    const names = (await native.listIndexes().toArray()).map((i) => i.name as string);
    expect(names).to.include.members(['_id_', 'gbCode_1', 'searchTokens_1_gbCode_1', 'vendor_1_gbCode_1', 'enabled_1_gbCode_1', 'maintainer.org_1_gbCode_1']);
    expect(names).to.have.length(model.schema.indexes().length + 1);
    expect(await dropStaleCameraIndexes(model)).to.deep.equal([]);
    expect(await native.countDocuments({ searchTokens: '路口' })).to.equal(1);
  });
});
