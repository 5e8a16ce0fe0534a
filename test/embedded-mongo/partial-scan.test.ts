import { expect } from 'chai';
import { Collection, WriteTx } from '../../server/src/embedded-mongo/collection';
import type { Doc, SortSpec } from '../../server/src/embedded-mongo/compare';
import { countQuery, filterFields, runQuery } from '../../server/src/embedded-mongo/query';
import { decodeBson } from '../../server/src/embedded-mongo/wire';

const N = 60;

function point(i: number): Doc {
  const d: Doc = {
    _id: i,
    name: `cam-${i}`,
    loc: { city: i % 3 ? 'A' : 'B', zip: i },
    tags: i % 2 ? ['x', 'y'] : ['z'],
    readings: [
      { k: 't', v: i },
      { k: 'h', v: i * 2 },
    ],
    status: { state: ['UP', 'DOWN', 'UNKNOWN'][i % 3] },
    n: (i * 7) % 13,
  };
  if (i % 4 === 0) d.opt = i % 8 === 0 ? null : 'set';
  return d;
}

/** Same documents and indexes; `docCache` below N makes scans test only the filter's fields. */
function collection(docCache?: number): Collection {
  const specs = [
    { v: 2, key: { 'loc.city': 1 }, name: 'city' },
    { v: 2, key: { 'status.state': 1, n: 1 }, name: 'state_n' },
  ];
  const coll = new Collection('db', 'points', {}, specs, docCache);
  for (let i = 0; i < N; i++) coll.insert(point(i), new WriteTx());
  return coll;
}

const filters: Doc[] = [
  { 'loc.city': 'A' },
  { 'loc.city': 'A', n: { $gt: 3 } },
  { $or: [{ 'loc.zip': { $lt: 10 } }, { tags: 'z' }] },
  { readings: { $elemMatch: { k: 'h', v: { $gt: 50 } } } },
  { 'readings.v': { $gt: 100 } },
  { tags: { $all: ['x', 'y'] } },
  { opt: { $exists: false } },
  { opt: null },
  { name: /cam-1/ },
  { $nor: [{ 'loc.city': 'B' }], n: { $gte: 5 } },
  { $and: [{ 'status.state': { $in: ['UP', 'DOWN'] } }, { tags: { $size: 1 } }] },
  { 'status.state': { $in: ['UP', 'UNKNOWN'] }, name: { $ne: 'cam-4' } },
  { $expr: { $gt: ['$n', 8] } },
];
const sorts: { sort?: SortSpec; skip?: number; limit?: number }[] = [
  {},
  { sort: [['name', 1]] },
  { sort: [['loc.zip', -1]], skip: 2, limit: 5 },
  { sort: [['n', 1]], limit: 4 },
  { limit: 3, skip: 1 },
];

describe('embedded-mongo: scans of a collection larger than the document cache test only the filter fields', () => {
  it("when a filter reads dotted paths, $or/$nor/$and branches or an $elemMatch, then its fields are those paths' top-level fields, and $expr has none known", () => {
    expect([...filterFields({ 'loc.city': 'A', $or: [{ tags: 'z' }, { $nor: [{ 'readings.v': 1 }] }] })!]).to.have.members(['loc', 'tags', 'readings']);
    expect([...filterFields({ readings: { $elemMatch: { k: 'h' } } })!]).to.deep.equal(['readings']);
    expect(filterFields({ n: 1, $expr: { $gt: ['$a', 1] } })).to.equal(undefined);
    expect(filterFields({ $text: { $search: 'x' } })).to.equal(undefined);
  });

  it('when the same queries run on both, then finds (sorted, skipped, limited, raw) and counts give exactly what the whole-document path gives', () => {
    const big = collection(4);
    const small = collection();
    for (const f of filters) {
      expect(countQuery(big, f), JSON.stringify(f)).to.equal(countQuery(small, f));
      for (const o of sorts) {
        const want = runQuery(small, f, o).docs;
        const label = `${JSON.stringify(f)} ${JSON.stringify(o)}`;
        expect(runQuery(big, f, o).docs, label).to.deep.equal(want);
        const raw = runQuery(big, f, { ...o, raw: true }).docs.map((d) => (d instanceof Uint8Array ? decodeBson(d as unknown as Buffer) : d));
        expect(raw, `raw ${label}`).to.deep.equal(want);
      }
    }
    expect(runQuery(small, filters[0]).docs.length, 'the filters do select something').to.be.greaterThan(0);
  });

  it('when documents are counted, then no document is decoded whole and nothing is cached', () => {
    const big = collection(4);
    const before = big.docs.fullDecodes;
    expect(countQuery(big, { $or: [{ 'loc.zip': { $lt: 10 } }, { tags: 'z' }] })).to.equal(35);
    expect(countQuery(big, { 'loc.city': 'A', n: { $gt: 3 } })).to.be.greaterThan(0);
    expect(big.docs.fullDecodes).to.equal(before);
    expect(big.docs.cached).to.equal(0);
  });

  it('when a count has a limit, then it stops testing documents at the limit and counts as the whole count capped', () => {
    const big = collection(4);
    const f = { tags: 'z', n: { $gte: 0 } };
    const all = countQuery(big, f);
    expect(all).to.equal(30);
    const before = big.stats.docsExamined;
    expect(countQuery(big, f, 5)).to.equal(5);
    expect(big.stats.docsExamined - before, 'examined').to.be.at.most(10);
    expect(countQuery(big, f, 1000)).to.equal(all);
    expect(countQuery(big, { 'loc.city': 'B' }, 3), 'an exact index count is capped too').to.equal(3);
  });

  it('when the same few documents are tested request after request, then they end up cached (a scan over more than the cache still decodes none whole)', () => {
    const big = collection(8);
    const f = { 'loc.city': 'B', n: { $gte: 0 } };
    for (let r = 0; r < 3; r++) expect(countQuery(big, f, 4)).to.equal(4);
    expect(big.docs.cached, 'the 4 documents a capped count tests').to.equal(4);
    const before = big.docs.fullDecodes;
    for (let r = 0; r < 3; r++) countQuery(big, { tags: { $size: 1 } });
    expect(big.docs.fullDecodes, 'a count over all 60 documents, three times').to.equal(before);
  });

  it('when a limited page is found, then only the documents of the page are decoded whole', () => {
    const big = collection(4);
    const before = big.docs.fullDecodes;
    const docs = runQuery(big, { tags: 'z' }, { sort: [['name', -1]], skip: 2, limit: 3 }).docs;
    expect(docs.map((d) => d.name)).to.deep.equal(['cam-58', 'cam-56', 'cam-54']);
    expect(big.docs.fullDecodes - before).to.equal(3);
  });
});
