import { expect } from 'chai';
import { Long, type Document } from 'mongodb';
import { useTarget } from './target';

/** A top-level `$and` of field conditions (the registry's list filters) must match exactly like MongoDB. */
describe('embedded-mongo conformance: top-level $and of field conditions', () => {
  const t = useTarget('and');
  const c = () => t().db.collection('andf');

  before(async () => {
    await c().insertMany([
      { _id: 1, v: '大华', m: { org: 'A' }, on: true, n: 1, tags: ['x', 'y'] },
      { _id: 2, v: '大华', m: { org: 'B' }, on: false, n: 2.5, tags: ['y'] },
      { _id: 3, v: '宇视', m: { org: 'A' }, on: false, n: new Long(3), tags: [] },
      { _id: 4, v: '大华', on: false, n: 4 },
      { _id: 5, v: ['大华', '宇视'], m: [{ org: 'A' }, { org: 'C' }], on: false, n: '5' },
    ] as Document[]);
  });

  const ids = async (filter: Document): Promise<unknown[]> => (await c().find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id as unknown);

  it('when $and combines $in, equality on a dotted path and a boolean, then only documents meeting all of them match', async () => {
    expect(await ids({ $and: [{ 'm.org': { $in: ['A'] } }, { on: false }] })).to.deep.equal([3, 5]);
    expect(await ids({ $and: [{ v: { $in: ['大华'] } }, { on: false }] })).to.deep.equal([2, 4, 5]);
  });

  it('when $and nests $and and ranges across numeric types, then numbers compare by value and strings never match a number range', async () => {
    expect(await ids({ $and: [{ $and: [{ n: { $gte: 1 } }] }, { n: { $lt: 4 } }] })).to.deep.equal([1, 2, 3]);
    expect(await ids({ $and: [{ n: 3 }, { v: '宇视' }] })).to.deep.equal([3]);
  });

  it('when $and names the same field twice, then both conditions apply', async () => {
    expect(await ids({ $and: [{ n: { $gt: 1 } }, { n: { $lt: 4 } }, { tags: 'y' }] })).to.deep.equal([2]);
  });

  it('when $and mixes field conditions with an $or, then the $or applies too', async () => {
    expect(await ids({ $and: [{ on: false }, { $or: [{ v: '宇视' }, { n: 4 }] }] })).to.deep.equal([3, 4, 5]);
  });
});
