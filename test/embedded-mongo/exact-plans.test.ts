import { expect } from 'chai';
import type { Collection, Document } from 'mongodb';
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
});
