import { expect } from 'chai';
import type { Collection, Document } from 'mongodb';
import { useTarget } from './target';

/**
 * `{ a: { $in: [...] } }` sorted on the field after `a` in a compound index: mongod merges one ordered
 * index scan per value (SORT_MERGE) and the embedded store does the same. The results must be exactly
 * those of a plain sort, whatever the page, direction or duplicates across scans.
 */
describe('embedded-mongo conformance: sorted $in (merged index scans)', () => {
  const t = useTarget('merge');
  let c: Collection;
  const docs: Document[] = [];

  before(async function () {
    this.timeout(20_000);
    c = t().db.collection('merge');
    for (let i = 0; i < 3000; i++) {
      // codes interleave across regions, so a correct page needs documents from several scans
      docs.push({ _id: i, region: `r${(i * 7) % 30}`, code: `c${String((i * 7919) % 3000).padStart(5, '0')}`, tags: [`t${i % 5}`, `t${(i + 1) % 5}`], seq: i % 10 });
    }
    await c.insertMany(docs);
    await c.createIndex({ region: 1, code: 1 });
    await c.createIndex({ tags: 1, code: 1 });
    await c.createIndex({ seq: 1, _id: 1 });
  });

  const ref = (pred: (d: Document) => boolean, key: (d: Document) => string | number, dir: 1 | -1): unknown[] =>
    docs
      .filter(pred)
      .sort((a, b) => dir * (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) || (a._id as number) - (b._id as number))
      .map((d) => d._id as unknown);

  it('when $in on an index prefix is sorted on the next field with a limit, then the page is the first of the sorted matches', async () => {
    const regions = ['r1', 'r4', 'r9', 'r17', 'r29'];
    const got = await c.find({ region: { $in: regions } }).sort({ code: 1 }).limit(51).toArray();
    expect(got.map((d) => d._id as unknown)).to.deep.equal(ref((d) => regions.includes(d.region as string), (d) => d.code as string, 1).slice(0, 51));
  });

  it('when the sort is descending and the page starts after a cursor value, then the next page follows exactly', async () => {
    const regions = ['r2', 'r3', 'r5'];
    const first = await c.find({ region: { $in: regions } }).sort({ code: -1 }).limit(20).toArray();
    const last = first[first.length - 1].code as string;
    const next = await c.find({ $and: [{ code: { $lt: last } }, { region: { $in: regions } }] }).sort({ code: -1 }).limit(20).toArray();
    const all = ref((d) => regions.includes(d.region as string), (d) => d.code as string, -1);
    expect(first.map((d) => d._id as unknown)).to.deep.equal(all.slice(0, 20));
    expect(next.map((d) => d._id as unknown)).to.deep.equal(all.slice(20, 40));
  });

  it('when a document matches several $in values of a multikey index, then it is returned once, in order', async () => {
    const got = await c.find({ tags: { $in: ['t1', 't2', 't3'] } }).sort({ code: 1 }).limit(100).toArray();
    const want = ref((d) => (d.tags as string[]).some((x) => ['t1', 't2', 't3'].includes(x)), (d) => d.code as string, 1).slice(0, 100);
    expect(got.map((d) => d._id as unknown)).to.deep.equal(want);
    expect(new Set(got.map((d) => d._id as unknown)).size).to.equal(got.length);
  });

  it('when equal sort values are tie-broken by _id, then the merged order is the _id order', async () => {
    const got = await c.find({ seq: { $in: [3, 7, 1] } }).sort({ seq: 1, _id: 1 }).skip(290).limit(40).toArray();
    const want = ref((d) => [3, 7, 1].includes(d.seq as number), (d) => d.seq as number, 1).slice(290, 330);
    expect(got.map((d) => d._id as unknown)).to.deep.equal(want);
  });

  it('when a sorted $in is explained, then the plan merges index scans and has no blocking SORT stage', async () => {
    const ex = await c.find({ region: { $in: ['r1', 'r2', 'r3'] } }).sort({ code: 1 }).limit(5).explain('executionStats');
    const stages = JSON.stringify(ex.queryPlanner?.winningPlan);
    expect(stages).to.include('SORT_MERGE');
    expect(stages).to.include('IXSCAN');
    expect(stages).not.to.match(/"stage":"SORT"/);
  });

  it('when documents are counted through a compound multikey index, then each is counted once', async () => {
    const has = (d: Document, v: string): boolean => (d.tags as string[]).includes(v);
    expect(await c.countDocuments({ tags: 't1' })).to.equal(docs.filter((d) => has(d, 't1')).length);
    expect(await c.countDocuments({ tags: { $in: ['t1', 't2'] } })).to.equal(docs.filter((d) => has(d, 't1') || has(d, 't2')).length);
    expect(await c.countDocuments({ region: { $in: ['r1', 'r2'] } })).to.equal(docs.filter((d) => ['r1', 'r2'].includes(d.region as string)).length);
    expect(await c.countDocuments({ region: 'r3', code: docs.find((d) => d.region === 'r3')?.code as string })).to.equal(1);
  });

  it('when the embedded store answers a limited sorted $in, then it reads about one page of documents, not every match', async function () {
    const store = t().embedded;
    if (!store) this.skip();
    const regions = Array.from({ length: 30 }, (_, i) => `r${i}`);
    const before = store.stats(t().dbName, 'merge');
    await c.find({ region: { $in: regions } }).sort({ code: 1 }).limit(10).toArray();
    const after = store.stats(t().dbName, 'merge');
    // one head per scan plus the page, where gathering would read all 3,000
    expect((after?.docsExamined ?? 0) - (before?.docsExamined ?? 0)).to.be.at.most(10);
    expect((after?.collscans ?? 0) - (before?.collscans ?? 0)).to.equal(0);
  });
});

describe('embedded-mongo conformance: counts through compound indexes', () => {
  const t = useTarget('countix');

  it('when a field after the counted prefix holds an array in one document, then that document is still counted once', async () => {
    const c = t().db.collection('cnt');
    await c.createIndex({ t: 1, c: 1 });
    await c.createIndex({ c: 1 });
    await c.insertMany([
      { _id: 1, t: ['x', 'y'], c: 'a' },
      { _id: 2, t: 'x', c: 'b' },
      { _id: 3, t: 'y', c: 'c' },
    ] as Document[]);
    // every c single-valued: the count may come from the entries alone
    expect(await c.countDocuments({ t: 'x' })).to.equal(2);
    expect(await c.countDocuments({ t: { $in: ['x', 'y'] } })).to.equal(3);
    await c.insertOne({ _id: 4, t: 'x', c: ['d', 'e', 'f'] } as Document);
    // a multikey field after the scanned point: a find must not return the document twice either
    expect((await c.find({ t: 'x' }).toArray()).map((d) => d._id as unknown).sort()).to.deep.equal([1, 2, 4]);
    expect(await c.countDocuments({ t: 'x' })).to.equal(3);
    expect(await c.countDocuments({ t: 'x', c: 'e' })).to.equal(1);
    await c.deleteOne({ _id: 4 } as Document);
    expect(await c.countDocuments({ t: 'x' })).to.equal(2);
  });
});
