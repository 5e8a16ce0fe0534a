import { expect } from 'chai';
import mongoose, { Schema, type Connection } from 'mongoose';
import { useTarget } from './target';

interface Region {
  name: string;
  tier: string;
}
interface Camera {
  gbCode: string;
  name: string;
  regionId: mongoose.Types.ObjectId;
  status: string;
  hits: number;
  tags: string[];
  location?: { lon: number; lat: number };
}

describe('embedded-mongo conformance: mongoose', () => {
  const t = useTarget('mgs');
  let conn: Connection;
  let Regions: mongoose.Model<Region>;
  let Cameras: mongoose.Model<Camera>;

  before(async () => {
    conn = await mongoose.createConnection(t().uri, { serverSelectionTimeoutMS: 5000, autoIndex: false }).asPromise();
    Regions = conn.model<Region>('Region', new Schema<Region>({ name: { type: String, required: true }, tier: String }));
    Cameras = conn.model<Camera>(
      'Camera',
      new Schema<Camera>(
        {
          gbCode: { type: String, required: true, unique: true },
          name: String,
          regionId: { type: Schema.Types.ObjectId, ref: 'Region' },
          status: { type: String, default: 'UNKNOWN' },
          hits: { type: Number, default: 0 },
          tags: [String],
          location: { lon: Number, lat: Number },
        },
        { timestamps: true },
      ),
    );
    await Cameras.syncIndexes();
  });
  after(async () => {
    await conn?.close();
  });

  it('when a model document is created and found, then defaults, timestamps and types come back', async () => {
    const region = await Regions.create({ name: '人民路街道', tier: 'street' });
    await Cameras.create({ gbCode: '21030200001320000001', name: '人民路口 1号', regionId: region._id, tags: ['road'], location: { lon: 121.6, lat: 38.9 } });
    const found = await Cameras.findOne({ gbCode: '21030200001320000001' }).lean();
    expect(found?.name).to.equal('人民路口 1号');
    expect(found?.status).to.equal('UNKNOWN');
    expect(found?.hits).to.equal(0);
    expect(found?.tags).to.deep.equal(['road']);
    expect((found as unknown as { createdAt: Date }).createdAt).to.be.instanceOf(Date);
    expect(String(found?.regionId)).to.equal(String(region._id));
  });

  it('when syncIndexes ran, then the unique gbCode index exists on the server', async () => {
    const idx = await Cameras.collection.listIndexes().toArray();
    const gb = idx.find((i) => i.name === 'gbCode_1');
    expect(gb?.unique).to.equal(true);
  });

  it('when a duplicate unique gbCode is created, then mongoose rejects with err.code 11000 and keyValue', async () => {
    await Cameras.create({ gbCode: '21030200001320000099', name: 'a' });
    let err: unknown;
    try {
      await Cameras.create({ gbCode: '21030200001320000099', name: 'b' });
    } catch (e) {
      err = e;
    }
    const e = err as { code?: number; keyValue?: Record<string, unknown>; name?: string };
    expect(e?.code).to.equal(11000);
    expect(e?.keyValue).to.deep.equal({ gbCode: '21030200001320000099' });
    expect(await Cameras.countDocuments({ gbCode: '21030200001320000099' })).to.equal(1);
  });

  it('when insertMany hits a duplicate unordered, then the others are written and the error reports 11000', async () => {
    let err: unknown;
    try {
      await Cameras.insertMany(
        [
          { gbCode: '21030200001320000201', name: 'x' },
          { gbCode: '21030200001320000201', name: 'dup' },
          { gbCode: '21030200001320000202', name: 'y' },
        ],
        { ordered: false },
      );
    } catch (e) {
      err = e;
    }
    expect((err as { code?: number }).code).to.equal(11000);
    expect(await Cameras.countDocuments({ gbCode: { $in: ['21030200001320000201', '21030200001320000202'] } })).to.equal(2);
  });

  it('when findOneAndUpdate upserts with new: true, then the created document is returned and a second call updates it', async () => {
    const first = await Cameras.findOneAndUpdate({ gbCode: '21030200001320000300' }, { $set: { name: 'upserted' }, $inc: { hits: 1 } }, { upsert: true, new: true, setDefaultsOnInsert: true }).lean();
    expect(first?.name).to.equal('upserted');
    expect(first?.hits).to.equal(1);
    expect(first?.status).to.equal('UNKNOWN');
    const second = await Cameras.findOneAndUpdate({ gbCode: '21030200001320000300' }, { $inc: { hits: 1 } }, { upsert: true, new: true }).lean();
    expect(String(second?._id)).to.equal(String(first?._id));
    expect(second?.hits).to.equal(2);
  });

  it('when populate resolves a ref, then the referenced document is loaded by a second query', async () => {
    const region = await Regions.create({ name: '桃源街道', tier: 'street' });
    await Cameras.create({ gbCode: '21030200001320000400', name: 'with ref', regionId: region._id });
    const cam = await Cameras.findOne({ gbCode: '21030200001320000400' }).populate<{ regionId: Region }>('regionId').lean();
    expect(cam?.regionId.name).to.equal('桃源街道');
    expect(cam?.regionId.tier).to.equal('street');
  });

  it('when countDocuments and estimatedDocumentCount run, then they match the stored documents', async () => {
    await Cameras.create([
      { gbCode: '21030200001320000501', name: 'c1', status: 'DOWN' },
      { gbCode: '21030200001320000502', name: 'c2', status: 'DOWN' },
    ]);
    expect(await Cameras.countDocuments({ status: 'DOWN' })).to.equal(2);
    const all = await Cameras.countDocuments({});
    expect(await Cameras.estimatedDocumentCount()).to.equal(all);
  });

  it('when a query uses sort/skip/limit/select and updateMany/deleteMany, then mongoose gets MongoDB semantics', async () => {
    await Cameras.create([
      { gbCode: '21030200001320000601', name: 'p1', tags: ['page'] },
      { gbCode: '21030200001320000602', name: 'p2', tags: ['page'] },
      { gbCode: '21030200001320000603', name: 'p3', tags: ['page'] },
    ]);
    const page = await Cameras.find({ tags: 'page' }).sort({ gbCode: -1 }).skip(1).limit(1).select({ name: 1, _id: 0 }).lean();
    expect(page).to.deep.equal([{ name: 'p2' }]);
    const upd = await Cameras.updateMany({ tags: 'page' }, { $set: { status: 'UP' } });
    expect(upd.modifiedCount).to.equal(3);
    const del = await Cameras.deleteMany({ tags: 'page', status: 'UP' });
    expect(del.deletedCount).to.equal(3);
  });

  it('when a mongoose aggregate groups, then the figures match', async () => {
    const out = await Cameras.aggregate<{ _id: string; n: number }>([{ $match: { status: 'DOWN' } }, { $group: { _id: '$status', n: { $sum: 1 } } }]);
    expect(out).to.deep.equal([{ _id: 'DOWN', n: 2 }]);
  });
});
