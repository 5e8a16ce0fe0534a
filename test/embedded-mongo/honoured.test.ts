import { expect } from 'chai';
import { Decimal128, Double, Int32, Long, MongoServerError, type Document } from 'mongodb';
import { useTarget } from './target';

async function failure(p: Promise<unknown>): Promise<MongoServerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof MongoServerError) return err;
    throw err;
  }
  throw new Error('expected the server to refuse');
}

describe('embedded-mongo conformance: operators and options are honoured or refused', () => {
  const t = useTarget('honour');

  describe('update operators', () => {
    it('when $addToSet meets an array that already holds a duplicate, then a new value is still added and the duplicates stay', async () => {
      const c = t().db.collection('addtoset');
      await c.insertOne({ _id: 1, tags: ['a', 'a', 'b'] } as Document);
      const r = await c.updateOne({ _id: 1 } as Document, { $addToSet: { tags: { $each: ['b', 'c'] } } });
      expect(r.modifiedCount).to.equal(1);
      expect(await c.findOne({ _id: 1 } as Document)).to.deep.equal({ _id: 1, tags: ['a', 'a', 'b', 'c'] });
    });

    it('when nested positional updates m.$[].$[] and m.$[a].$[b] run, then the nested elements change', async () => {
      const c = t().db.collection('nested');
      await c.insertOne({ _id: 1, m: [[1, 2], [3, 4]] } as Document);
      await c.updateOne({ _id: 1 } as Document, { $inc: { 'm.$[].$[]': 10 } });
      expect((await c.findOne({ _id: 1 } as Document))?.m).to.deep.equal([[11, 12], [13, 14]]);
      const r = await c.updateOne({ _id: 1 } as Document, { $set: { 'm.$[a].$[b]': 0 } }, { arrayFilters: [{ a: { $elemMatch: { $gte: 13 } } }, { b: { $gt: 13 } }] });
      expect(r.modifiedCount).to.equal(1);
      expect((await c.findOne({ _id: 1 } as Document))?.m).to.deep.equal([[11, 12], [13, 0]]);
    });
  });

  it('when $bucket runs inside $facet and inside a $lookup pipeline, then a boundary value goes to the bucket it opens', async () => {
    const c = t().db.collection('buckets');
    await c.insertMany([{ _id: 1, v: 0 }, { _id: 2, v: 10 }, { _id: 3, v: 15 }, { _id: 4, v: 20 }] as Document[]);
    const bucket = { $bucket: { groupBy: '$v', boundaries: [0, 10, 20, 30] } };
    const want = [{ _id: 0, count: 1 }, { _id: 10, count: 2 }, { _id: 20, count: 1 }];
    const [f] = await c.aggregate([{ $facet: { b: [bucket] } }]).toArray();
    expect(f.b).to.deep.equal(want);
    const [l] = await c.aggregate([{ $match: { _id: 1 } }, { $lookup: { from: 'buckets', pipeline: [bucket], as: 'b' } }]).toArray();
    expect(l.b).to.deep.equal(want);
  });

  describe('collection options', () => {
    it('when a capped collection has max 3, then inserting a fourth document drops the oldest', async () => {
      const c = await t().db.createCollection('capped', { capped: true, size: 1_000_000, max: 3 });
      for (let i = 1; i <= 4; i++) await c.insertOne({ _id: i } as Document);
      expect((await c.find({}).toArray()).map((d) => d._id)).to.deep.equal([2, 3, 4]);
    });

    it('when a collection has a query-operator validator, then an invalid insert or update fails with 121 and changes nothing', async () => {
      const c = await t().db.createCollection('validated', { validator: { qty: { $gte: 0 } } });
      await c.insertOne({ _id: 1, qty: 1 } as Document);
      expect((await failure(c.insertOne({ _id: 2, qty: -1 } as Document))).code).to.equal(121);
      expect((await failure(c.updateOne({ _id: 1 } as Document, { $set: { qty: -5 } }))).code).to.equal(121);
      expect(await c.find({}).toArray()).to.deep.equal([{ _id: 1, qty: 1 }]);
    });

    it('when a $jsonSchema validator or a view is asked for, then the store refuses instead of ignoring it', async () => {
      const schema = failure(t().db.createCollection('schema', { validator: { $jsonSchema: { required: ['a'] } } }));
      expect((await schema).code).to.equal(238);
      expect((await failure(t().db.createCollection('aview', { viewOn: 'validated', pipeline: [] }))).code).to.equal(238);
      expect(await t().db.listCollections({ name: { $in: ['schema', 'aview'] } }).toArray()).to.deep.equal([]);
    });

    it('when a capped collection is created without size, then it fails with 72', async () => {
      expect((await failure(t().db.createCollection('nosize', { capped: true }))).code).to.equal(72);
    });
  });

  describe('hints, index types, write and read concerns', () => {
    it('when a find, count, update or delete hints at a missing index, then it fails with 2', async () => {
      const c = t().db.collection('hinted');
      await c.insertOne({ _id: 1, a: 1 } as Document);
      await c.createIndex({ a: 1 });
      expect(await c.find({}, { hint: { a: 1 } }).toArray()).to.have.length(1);
      expect(await c.find({}, { hint: 'a_1' }).toArray()).to.have.length(1);
      const msg = 'hint provided does not correspond to an existing index';
      expect((await failure(c.find({}, { hint: { b: 1 } }).toArray())).message).to.equal(msg);
      expect((await failure(c.countDocuments({}, { hint: 'nope' }))).code).to.equal(2);
      expect((await failure(c.updateOne({ _id: 1 } as Document, { $set: { a: 2 } }, { hint: { b: 1 } }))).code).to.equal(2);
      expect((await failure(c.deleteOne({ _id: 1 } as Document, { hint: { b: 1 } }))).code).to.equal(2);
      expect(await c.findOne({ _id: 1 } as Document)).to.deep.equal({ _id: 1, a: 1 });
    });

    it('when an index of an unknown type is created, then it fails with 67 and no index is made', async () => {
      const c = t().db.collection('plugins');
      await c.insertOne({ _id: 1 } as Document);
      const err = await failure(c.createIndex({ a: 'fancy' } as Document));
      expect([err.code, err.message]).to.deep.equal([67, "Unknown index plugin 'fancy'"]);
      expect((await c.indexes()).map((i) => i.name)).to.deep.equal(['_id_']);
    });

    it('when w is 2 or a tag set name, then the write fails with 2 and nothing is stored', async () => {
      const c = t().db.collection('wc');
      expect((await failure(c.insertOne({ _id: 1 } as Document, { writeConcern: { w: 2 } }))).message).to.equal("cannot use 'w' > 1 when a host is not replicated");
      expect((await failure(c.insertOne({ _id: 2 } as Document, { writeConcern: { w: 'dc1' as 'majority' } }))).message).to.equal(
        "cannot use non-majority 'w' mode dc1 when a host is not a member of a replica set",
      );
      expect(await c.countDocuments()).to.equal(0);
      await c.insertOne({ _id: 3 } as Document, { writeConcern: { w: 'majority' } });
      expect(await c.countDocuments()).to.equal(1);
    });

    it('when read concern snapshot or linearizable is asked of a standalone, then it fails with 123', async () => {
      const c = t().db.collection('wc');
      const snap = await failure(c.find({}, { readConcern: { level: 'snapshot' } }).toArray());
      expect([snap.code, snap.message]).to.deep.equal([123, 'node needs to be a replica set member to use readConcern: snapshot']);
      const lin = await failure(c.find({}, { readConcern: { level: 'linearizable' } }).toArray());
      expect([lin.code, lin.message]).to.deep.equal([123, 'node needs to be a replica set member to use read concern']);
    });
  });

  it('when a query, write or index asks for a non-simple collation, then the embedded store refuses it (mongod honours it)', async () => {
    const c = t().db.collection('collated');
    await c.insertMany([{ _id: 1, s: 'a' }, { _id: 2, s: 'A' }] as Document[]);
    const ci = { locale: 'en', strength: 2 };
    if (t().kind === 'mongodb') {
      expect(await c.countDocuments({ s: 'a' }, { collation: ci })).to.equal(2);
      return;
    }
    // Answering these without the collation would find one document where mongod finds two, with no error.
    expect((await failure(c.find({ s: 'a' }, { collation: ci }).toArray())).code).to.equal(238);
    expect((await failure(c.countDocuments({ s: 'a' }, { collation: ci }))).code).to.equal(238);
    expect((await failure(c.aggregate([{ $match: { s: 'a' } }], { collation: ci }).toArray())).code).to.equal(238);
    expect((await failure(c.updateMany({ s: 'a' }, { $set: { t: 1 } }, { collation: ci }))).code).to.equal(238);
    expect((await failure(c.deleteMany({ s: 'a' }, { collation: ci }))).code).to.equal(238);
    expect((await failure(c.findOneAndUpdate({ s: 'a' }, { $set: { t: 1 } }, { collation: ci }))).code).to.equal(238);
    expect((await failure(c.createIndex({ s: 1 }, { collation: ci }))).code).to.equal(238);
    expect((await failure(t().db.createCollection('collated2', { collation: ci }))).code).to.equal(238);
    // nothing changed; the simple collation is binary comparison, as the store does anyway
    expect(await c.countDocuments({ t: 1 })).to.equal(0);
    expect(await c.countDocuments({ s: 'a' }, { collation: { locale: 'simple' } })).to.equal(1);
  });

  it('when $sort runs after other stages, then numbers of every type order by value and arrays by their smallest / largest element', async () => {
    const c = t().db.collection('latesort');
    await c.insertMany([
      { _id: 1, k: Long.fromNumber(3) },
      { _id: 2, k: new Int32(4) },
      { _id: 3, k: new Double(2.5) },
      { _id: 4, k: Decimal128.fromString('3.5') },
      { _id: 5, k: [10, 1] },
      { _id: 6, k: Long.fromString('9007199254740993') },
      { _id: 7, k: new Double(9007199254740992) },
    ] as Document[]);
    const ids = async (dir: 1 | -1): Promise<unknown[]> => (await c.aggregate([{ $project: { k: 1 } }, { $sort: { k: dir, _id: 1 } }]).toArray()).map((d): unknown => d._id);
    expect(await ids(1)).to.deep.equal([5, 3, 1, 4, 2, 7, 6]);
    expect(await ids(-1)).to.deep.equal([6, 7, 5, 2, 4, 1, 3]);
  });

  it('when strings hold characters above U+FFFF, then they sort and compare by code point (UTF-8 bytes) as in mongod', async () => {
    const c = t().db.collection('utf8order');
    // 'a' 61 < '中' E4 B8 AD < '（' EF BC 88 < '𠀀' F0 A0 80 80; in UTF-16 code units '𠀀' (D840 DC00) sorts before '（' (FF08)
    await c.insertMany([{ _id: 1, s: '𠀀' }, { _id: 2, s: '（' }, { _id: 3, s: '中' }, { _id: 4, s: 'a' }] as Document[]);
    const want = [4, 3, 2, 1];
    const ids = (docs: Document[]): unknown[] => docs.map((d): unknown => d._id);
    expect(ids(await c.find({}).sort({ s: 1 }).toArray())).to.deep.equal(want);
    expect(ids(await c.aggregate([{ $project: { s: 1 } }, { $sort: { s: 1 } }]).toArray())).to.deep.equal(want);
    expect(ids(await c.find({ s: { $gt: '（' } }).toArray())).to.deep.equal([1]);
    expect((await c.aggregate([{ $group: { _id: null, m: { $max: '$s' } } }]).toArray())[0].m).to.equal('𠀀');
    await c.createIndex({ s: 1 });
    expect(ids(await c.find({}).sort({ s: 1 }).toArray())).to.deep.equal(want);
    expect(ids(await c.find({ s: { $gt: '（' } }).toArray())).to.deep.equal([1]);
    expect(ids(await c.find({ s: { $lt: '𠀀' } }).sort({ s: -1 }).toArray())).to.deep.equal([2, 3, 4]);
  });

  it('when $group unites equal numbers of different types, then the group keeps the _id of its first document, type included', async () => {
    const c = t().db.collection('groupids');
    await c.insertMany([{ _id: 1, k: Long.fromNumber(3) }, { _id: 2, k: new Int32(3) }, { _id: 3, k: new Double(3) }, { _id: 4, k: new Int32(4) }, { _id: 5, k: new Double(4) }] as Document[]);
    const out = await c.aggregate([{ $sort: { _id: 1 } }, { $group: { _id: '$k', n: { $sum: 1 } } }, { $sort: { _id: 1 } }], { promoteValues: false }).toArray();
    expect(out.map((g) => [(g._id as { _bsontype: string })._bsontype, Number(g._id), Number(g.n)])).to.deep.equal([['Long', 3, 3], ['Int32', 4, 2]]);
    const rev = await c.aggregate([{ $sort: { _id: -1 } }, { $group: { _id: { k: '$k' }, n: { $sum: 1 } } }, { $sort: { '_id.k': 1 } }], { promoteValues: false }).toArray();
    expect(rev.map((g) => (g._id as { k: { _bsontype: string } }).k._bsontype)).to.deep.equal(['Double', 'Double']);
  });

  it('when replSetGetStatus is asked of the standalone, then it fails with 76 NoReplicationEnabled', async () => {
    const err = await failure(t().client.db('admin').command({ replSetGetStatus: 1 }));
    expect([err.code, err.codeName, err.message]).to.deep.equal([76, 'NoReplicationEnabled', 'not running with --replSet']);
  });

  it('when $collStats asks for storage stats, then size, count and index sizes describe the collection', async () => {
    const c = t().db.collection('sized');
    await c.insertMany([{ _id: 1, s: 'x'.repeat(100) }, { _id: 2, s: 'y' }] as Document[]);
    const [s] = await c.aggregate([{ $collStats: { storageStats: {}, count: {} } }]).toArray();
    expect(s.count).to.equal(2);
    expect(s.storageStats.count).to.equal(2);
    expect(s.storageStats.size).to.be.greaterThan(100);
    expect(s.storageStats.nindexes).to.equal(1);
    expect(Object.keys(s.storageStats.indexSizes as Document)).to.deep.equal(['_id_']);
    expect(s.storageStats.totalSize).to.equal(s.storageStats.storageSize + s.storageStats.totalIndexSize);
  });
});
