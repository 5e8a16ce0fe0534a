import { expect } from 'chai';
import type { Document } from 'mongodb';
import { useTarget } from './target';

describe('embedded-mongo conformance: semantics the app relies on', () => {
  const t = useTarget('sem');

  it('when an ordered bulkWrite mixes inserts, updates, replaces and deletes, then the counts add up', async () => {
    const c = t().db.collection<{ _id: number; v?: number; seen?: boolean }>('bulk');
    const res = await c.bulkWrite([
      { insertOne: { document: { _id: 1, v: 1 } } },
      { insertOne: { document: { _id: 2, v: 2 } } },
      { updateOne: { filter: { _id: 1 }, update: { $inc: { v: 10 } } } },
      { updateMany: { filter: {}, update: { $set: { seen: true } } } },
      { replaceOne: { filter: { _id: 2 }, replacement: { v: 20 } } },
      { updateOne: { filter: { _id: 3 }, update: { $set: { v: 3 } }, upsert: true } },
      { deleteOne: { filter: { _id: 2 } } },
    ]);
    expect(res.insertedCount).to.equal(2);
    expect(res.matchedCount).to.equal(4);
    expect(res.modifiedCount).to.equal(4);
    expect(res.upsertedCount).to.equal(1);
    expect(res.deletedCount).to.equal(1);
    expect(await c.find({}).sort({ _id: 1 }).toArray()).to.deep.equal([
      { _id: 1, v: 11, seen: true },
      { _id: 3, v: 3 },
    ]);
  });

  it('when an update is an aggregation pipeline, then its stages compute from the document', async () => {
    const c = t().db.collection('pipeupd');
    await c.insertOne({ _id: 1, a: 2, b: 3, old: 'x' } as Document);
    await c.updateOne({ _id: 1 } as Document, [{ $set: { total: { $add: ['$a', '$b'] } } }, { $unset: 'old' }]);
    expect(await c.findOne({ _id: 1 } as Document)).to.deep.equal({ _id: 1, a: 2, b: 3, total: 5 });
  });

  it('when $expr compares two fields of a document, then only documents where it holds match', async () => {
    const c = t().db.collection('expr');
    await c.insertMany([{ _id: 1, spent: 50, budget: 40 }, { _id: 2, spent: 10, budget: 40 }] as Document[]);
    const out = await c.find({ $expr: { $gt: ['$spent', '$budget'] } }).toArray();
    expect(out.map((d): unknown => d._id)).to.deep.equal([1]);
  });

  it('when $type is given by alias and by number, then it selects the BSON type', async () => {
    const c = t().db.collection('types2');
    await c.insertMany([{ _id: 1, v: 'a' }, { _id: 2, v: 1 }, { _id: 3, v: 1.5 }, { _id: 4, v: [1] }, { _id: 5, v: new Date() }] as Document[]);
    const ids = async (f: Document) => (await c.find(f).sort({ _id: 1 }).toArray()).map((d): unknown => d._id);
    expect(await ids({ v: { $type: 'string' } })).to.deep.equal([1]);
    expect(await ids({ v: { $type: 'number' } })).to.deep.equal([2, 3, 4]);
    expect(await ids({ v: { $type: 9 } })).to.deep.equal([5]);
    expect(await ids({ v: { $type: 'array' } })).to.deep.equal([4]);
  });

  it('when sorting on a field some documents lack, then those sort first ascending and last descending', async () => {
    const c = t().db.collection('sortmissing');
    await c.insertMany([{ _id: 1, v: 2 }, { _id: 2 }, { _id: 3, v: 1 }, { _id: 4, v: null }] as Document[]);
    const asc = (await c.find({}).sort({ v: 1, _id: 1 }).toArray()).map((d): unknown => d._id);
    expect(asc).to.deep.equal([2, 4, 3, 1]);
    const desc = (await c.find({}).sort({ v: -1, _id: 1 }).toArray()).map((d): unknown => d._id);
    expect(desc).to.deep.equal([1, 3, 2, 4]);
  });

  it('when sorting an array field, then ascending uses each array’s smallest element', async () => {
    const c = t().db.collection('sortarr');
    await c.insertMany([{ _id: 1, v: [5, 9] }, { _id: 2, v: [1, 20] }, { _id: 3, v: 3 }] as Document[]);
    const asc = (await c.find({}).sort({ v: 1 }).toArray()).map((d): unknown => d._id);
    expect(asc).to.deep.equal([2, 3, 1]);
    const desc = (await c.find({}).sort({ v: -1 }).toArray()).map((d): unknown => d._id);
    expect(desc).to.deep.equal([2, 1, 3]);
  });

  it('when writes ask for w:1 with j:true or w:"majority", then a standalone acknowledges them', async () => {
    const c = t().db.collection('wc');
    const r1 = await c.insertOne({ a: 1 }, { writeConcern: { w: 1, journal: true } });
    const r2 = await c.insertOne({ a: 2 }, { writeConcern: { w: 'majority' } });
    expect(r1.acknowledged && r2.acknowledged).to.equal(true);
    expect(await c.countDocuments({}, { readConcern: { level: 'majority' } })).to.equal(2);
  });

  it('when w:0 is used, then the write is unacknowledged but still applied', async () => {
    const c = t().db.collection('wc0');
    const r = await c.insertOne({ a: 1 }, { writeConcern: { w: 0 } });
    expect(r.acknowledged).to.equal(false);
    let n = 0;
    for (let i = 0; i < 50 && n === 0; i++) {
      n = await c.countDocuments({});
      if (n === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(n).to.equal(1);
  });

  it('when $in runs on an indexed field, then explain shows IXSCAN and only the matches are examined', async () => {
    const c = t().db.collection('inidx');
    await c.insertMany(Array.from({ length: 500 }, (_, i) => ({ k: i })));
    await c.createIndex({ k: 1 });
    const ex = await c.find({ k: { $in: [3, 77, 401] } }).explain('executionStats');
    expect(JSON.stringify(ex.queryPlanner?.winningPlan)).to.include('IXSCAN');
    expect(ex.executionStats?.nReturned).to.equal(3);
    expect(ex.executionStats?.totalDocsExamined).to.be.at.most(3);
  });

  it('when findOneAndUpdate uses arrayFilters, then only the filtered elements change in the returned doc', async () => {
    const c = t().db.collection('famaf');
    await c.insertOne({ _id: 1, probes: [{ kind: 'tcp', ok: false }, { kind: 'rtsp', ok: false }] } as Document);
    const d = await c.findOneAndUpdate({ _id: 1 } as Document, { $set: { 'probes.$[p].ok': true } }, { arrayFilters: [{ 'p.kind': 'rtsp' }], returnDocument: 'after' });
    expect(d?.probes).to.deep.equal([
      { kind: 'tcp', ok: false },
      { kind: 'rtsp', ok: true },
    ]);
  });

  it('when distinct runs on a missing collection, then values is empty', async () => {
    const reply = await t().db.command({ distinct: 'no_coll_here', key: 'a' });
    expect(reply.ok).to.equal(1);
    expect(reply.values).to.deep.equal([]);
  });

  it('when a document has a field named with Chinese characters and dots in values, then it round-trips and is queryable', async () => {
    const c = t().db.collection('cn');
    await c.insertOne({ 名称: '中山区 1号', addr: 'a.b.c' });
    const d = await c.findOne({ 名称: '中山区 1号' }, { projection: { _id: 0 } });
    expect(d).to.deep.equal({ 名称: '中山区 1号', addr: 'a.b.c' });
  });
});
