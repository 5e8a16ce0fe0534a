import { expect } from 'chai';
import { ObjectId, type Collection, type Document } from 'mongodb';
import { useTarget } from './target';

/**
 * Index plans that skip re-testing fetched documents must be exact. These shapes are not: two operators on
 * one field, null (it also matches missing fields), a repeated `$in` value. And a command field named
 * `documents` anywhere but an insert's top level is an ordinary field.
 */
describe('embedded-mongo conformance: exact index plans and the documents field', () => {
  const t = useTarget('exactplans');
  let ix: Collection;
  let plain: Collection;
  const docs: Document[] = [
    { _id: 1, a: 1, n: { b: null } },
    { _id: 2, a: 2, n: { b: 1 } },
    { _id: 3, a: 3, n: {} },
    { _id: 4, a: 1, n: [{ b: 2 }, { c: 1 }] },
    { _id: 5, n: null },
    { _id: 6, a: null },
    { _id: 7, a: 2, n: [{ b: null }] },
  ];

  before(async () => {
    ix = t().db.collection('exactplans_ix');
    plain = t().db.collection('exactplans_plain');
    await ix.insertMany(docs.map((d) => ({ ...d })));
    await plain.insertMany(docs.map((d) => ({ ...d })));
    await ix.createIndex({ a: 1 });
    await ix.createIndex({ 'n.b': 1 });
  });

  const same = async (filter: Document): Promise<unknown[]> => {
    const want = (await plain.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id as unknown);
    const got = (await ix.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id as unknown);
    expect(got, JSON.stringify(filter)).to.deep.equal(want);
    expect(await ix.countDocuments(filter), `count ${JSON.stringify(filter)}`).to.equal(want.length);
    return got;
  };

  it('when one field has both $eq and $in, then only documents meeting both are returned', async () => {
    expect(await same({ a: { $eq: 1, $in: [2] } })).to.deep.equal([]);
    expect(await same({ a: { $eq: 1, $in: [1, 2] } })).to.deep.equal([1, 4]);
  });

  it('when an indexed dotted path is compared with null, then the answer equals the unindexed one', async () => {
    await same({ 'n.b': null });
    await same({ 'n.b': { $in: [null, 1] } });
    await same({ a: null });
  });

  it('when an $in list repeats a value, then each document comes once', async () => {
    expect(await same({ a: { $in: [1, 1, 2] } })).to.deep.equal([1, 2, 4, 7]);
    expect(await same({ _id: { $in: [3, 3] } })).to.deep.equal([3]);
  });

  it('when an update sets a field named documents, then it is stored as given', async () => {
    await ix.updateOne({ _id: 1 } as Document, { $set: { documents: [{ x: 1 }, { y: 'z' }] } });
    const d = await ix.findOne({ documents: { $elemMatch: { x: 1 } } });
    expect(d?.documents).to.deep.equal([{ x: 1 }, { y: 'z' }]);
  });
  it('when `_id` is asked for a range of strings, then exactly the string ids in it come back, bounds as given, other types never', async () => {
    const c = t().db.collection('exactplans_idrange');
    const oid = new ObjectId();
    await c.insertMany(
      ['202605:a', '202606:', '202606:a', '202606:b', '202606;', '202607:a', '2026', '202606:\u5149'].map((_id) => ({ _id, v: 1 })) as unknown as Document[],
    );
    await c.insertMany([{ _id: 202606, v: 1 }, { _id: oid, v: 1 }, { _id: { k: '202606:c' }, v: 1 }] as unknown as Document[]);
    const ids = async (filter: Document): Promise<unknown[]> => (await c.find(filter).toArray()).map((d) => d._id as unknown).sort();
    expect(await ids({ _id: { $gte: '202606:', $lt: '202606;' } })).to.deep.equal(['202606:', '202606:a', '202606:b', '202606:\u5149']);
    expect(await ids({ _id: { $gt: '202606:', $lte: '202606;' } })).to.deep.equal(['202606:a', '202606:b', '202606:\u5149', '202606;']);
    expect(await ids({ _id: { $gt: '202606;' } })).to.deep.equal(['202607:a']);
    expect(await ids({ _id: { $lt: '202605:a' } })).to.deep.equal(['2026']);
    expect(await c.countDocuments({ _id: { $gte: '202606:', $lt: '202606;' } } as Document)).to.equal(4);
    // the same range with a second condition is tested document by document
    expect(await ids({ _id: { $gte: '202606:', $lt: '202606;' }, v: 2 })).to.deep.equal([]);
  });
});
