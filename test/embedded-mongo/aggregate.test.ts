import { expect } from 'chai';
import type { Collection, Document } from 'mongodb';
import { serverError, useTarget } from './target';

describe('embedded-mongo conformance: aggregate', () => {
  const t = useTarget('agg');
  let cams: Collection;
  let regions: Collection;
  const run = (pipeline: Document[]) => cams.aggregate(pipeline).toArray();

  before(async () => {
    cams = t().db.collection('cams');
    regions = t().db.collection('regions');
    await regions.insertMany([
      { _id: 'r1', name: '东区', tier: 'street' },
      { _id: 'r2', name: '西区', tier: 'street' },
      { _id: 'r3', name: '空区', tier: 'street' },
    ] as Document[]);
    await cams.insertMany([
      { _id: 1, region: 'r1', vendor: 'hik', rtt: 10, tags: ['a', 'b'], up: true },
      { _id: 2, region: 'r1', vendor: 'dahua', rtt: 30, tags: ['b'], up: false },
      { _id: 3, region: 'r2', vendor: 'hik', rtt: 20, tags: [], up: true },
      { _id: 4, region: 'r2', vendor: 'hik', rtt: 40, up: true },
      { _id: 5, region: 'r9', vendor: 'uniview', rtt: 50, tags: ['c'], up: false },
    ] as Document[]);
  });

  it('when countDocuments has a skip or a limit (no sort), then the count is windowed like mongod: min(max(n - skip, 0), limit)', async () => {
    expect(await cams.countDocuments({ vendor: 'hik' })).to.equal(3);
    expect(await cams.countDocuments({ vendor: 'hik' }, { limit: 2 })).to.equal(2);
    expect(await cams.countDocuments({ vendor: 'hik' }, { limit: 10 })).to.equal(3);
    expect(await cams.countDocuments({ vendor: 'hik' }, { skip: 1 })).to.equal(2);
    expect(await cams.countDocuments({ vendor: 'hik' }, { skip: 1, limit: 1 })).to.equal(1);
    expect(await cams.countDocuments({ vendor: 'hik' }, { skip: 5 })).to.equal(0);
    // a $limit before a $sort limits first, then sorts what is left
    const out = await run([{ $match: { up: true } }, { $limit: 2 }, { $sort: { rtt: -1 } }]);
    expect(out).to.have.length(2);
    expect(out[0].rtt).to.be.greaterThan(out[1].rtt as number);
  });

  it('when a count has a limit, then the embedded store stops testing documents once the limit is reached', async function () {
    const store = t().embedded;
    if (!store) this.skip();
    const before = store.stats(t().dbName, 'cams');
    expect(await cams.countDocuments({ vendor: 'hik' }, { limit: 1 })).to.equal(1);
    const after = store.stats(t().dbName, 'cams');
    expect((after?.docsExamined ?? 0) - (before?.docsExamined ?? 0)).to.equal(1);
  });

  it('when $match then $sort/$skip/$limit run, then the window is taken from the sorted matches', async () => {
    const out = await run([{ $match: { vendor: 'hik' } }, { $sort: { rtt: -1 } }, { $skip: 1 }, { $limit: 1 }]);
    expect(out.map((d): unknown => d._id)).to.deep.equal([3]);
  });

  it('when $project includes, renames and computes fields, then only those come back', async () => {
    const out = await run([{ $match: { _id: 1 } }, { $project: { _id: 0, vendor: 1, ms: '$rtt', double: { $multiply: ['$rtt', 2] } } }]);
    expect(out).to.deep.equal([{ vendor: 'hik', ms: 10, double: 20 }]);
  });

  it('when $project excludes fields, then the rest are kept', async () => {
    const out = await run([{ $match: { _id: 2 } }, { $project: { tags: 0, up: 0, region: 0 } }]);
    expect(out).to.deep.equal([{ _id: 2, vendor: 'dahua', rtt: 30 }]);
  });

  it('when $addFields and its alias $set add computed fields, then existing fields are kept', async () => {
    const out = await run([
      { $match: { _id: 3 } },
      { $addFields: { slow: { $gt: ['$rtt', 15] } } },
      { $set: { label: { $concat: ['$vendor', '-', '$region'] } } },
    ]);
    expect(out).to.deep.equal([{ _id: 3, region: 'r2', vendor: 'hik', rtt: 20, tags: [], up: true, slow: true, label: 'hik-r2' }]);
  });

  it('when $unset stage names fields, then they are removed', async () => {
    const out = await run([{ $match: { _id: 4 } }, { $unset: ['rtt', 'up'] }]);
    expect(out).to.deep.equal([{ _id: 4, region: 'r2', vendor: 'hik' }]);
  });

  it('when $group uses $sum/$avg/$min/$max, then each group gets the right figures', async () => {
    const out = await run([{ $group: { _id: '$vendor', n: { $sum: 1 }, total: { $sum: '$rtt' }, avg: { $avg: '$rtt' }, lo: { $min: '$rtt' }, hi: { $max: '$rtt' } } }, { $sort: { _id: 1 } }]);
    expect(out).to.deep.equal([
      { _id: 'dahua', n: 1, total: 30, avg: 30, lo: 30, hi: 30 },
      { _id: 'hik', n: 3, total: 70, avg: 70 / 3, lo: 10, hi: 40 },
      { _id: 'uniview', n: 1, total: 50, avg: 50, lo: 50, hi: 50 },
    ]);
  });

  it('when $group uses $push/$addToSet/$first/$last after a sort, then order-dependent accumulators follow the sort', async () => {
    const out = await run([
      { $sort: { _id: 1 } },
      { $group: { _id: '$region', ids: { $push: '$_id' }, vendors: { $addToSet: '$vendor' }, first: { $first: '$rtt' }, last: { $last: '$rtt' } } },
      { $match: { _id: { $in: ['r1', 'r2'] } } },
      { $sort: { _id: 1 } },
    ]);
    expect(out.map((g) => ({ ...g, vendors: [...(g.vendors as string[])].sort() }))).to.deep.equal([
      { _id: 'r1', ids: [1, 2], vendors: ['dahua', 'hik'], first: 10, last: 30 },
      { _id: 'r2', ids: [3, 4], vendors: ['hik'], first: 20, last: 40 },
    ]);
  });

  it('when $group has _id null or a compound key, then it groups over everything or by both fields', async () => {
    const all = await run([{ $group: { _id: null, n: { $sum: 1 } } }]);
    expect(all).to.deep.equal([{ _id: null, n: 5 }]);
    const byBoth = await run([{ $group: { _id: { r: '$region', up: '$up' }, n: { $sum: 1 } } }, { $match: { '_id.r': 'r2' } }]);
    expect(byBoth).to.deep.equal([{ _id: { r: 'r2', up: true }, n: 2 }]);
  });

  it('when $unwind runs, then empty and missing arrays are dropped by default', async () => {
    const out = await run([{ $unwind: '$tags' }, { $project: { _id: 1, tags: 1 } }, { $sort: { _id: 1, tags: 1 } }]);
    expect(out).to.deep.equal([
      { _id: 1, tags: 'a' },
      { _id: 1, tags: 'b' },
      { _id: 2, tags: 'b' },
      { _id: 5, tags: 'c' },
    ]);
  });

  it('when $unwind has preserveNullAndEmptyArrays and includeArrayIndex, then every doc stays and carries the index', async () => {
    const out = await run([
      { $match: { _id: { $in: [1, 3, 4] } } },
      { $unwind: { path: '$tags', preserveNullAndEmptyArrays: true, includeArrayIndex: 'i' } },
      { $project: { _id: 1, tags: 1, i: 1 } },
      { $sort: { _id: 1, i: 1 } },
    ]);
    expect(out).to.deep.equal([
      { _id: 1, tags: 'a', i: 0 },
      { _id: 1, tags: 'b', i: 1 },
      { _id: 3, i: null },
      { _id: 4, i: null },
    ]);
  });

  it('when $lookup joins on localField/foreignField, then matches land in an array (empty when none)', async () => {
    const out = await run([
      { $lookup: { from: 'regions', localField: 'region', foreignField: '_id', as: 'r' } },
      { $project: { _id: 1, names: '$r.name' } },
      { $sort: { _id: 1 } },
    ]);
    expect(out).to.deep.equal([
      { _id: 1, names: ['东区'] },
      { _id: 2, names: ['东区'] },
      { _id: 3, names: ['西区'] },
      { _id: 4, names: ['西区'] },
      { _id: 5, names: [] },
    ]);
  });

  it('when $lookup with let/pipeline is used from the region side, then the sub-pipeline filters the joined docs', async () => {
    const out = await regions
      .aggregate([
        { $lookup: { from: 'cams', let: { rid: '$_id' }, pipeline: [{ $match: { $expr: { $and: [{ $eq: ['$region', '$$rid'] }, { $eq: ['$up', true] }] } } }, { $count: 'n' }], as: 'upCount' } },
        { $project: { _id: 1, up: { $ifNull: [{ $arrayElemAt: ['$upCount.n', 0] }, 0] } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(out).to.deep.equal([
      { _id: 'r1', up: 1 },
      { _id: 'r2', up: 2 },
      { _id: 'r3', up: 0 },
    ]);
  });

  it('when $facet runs sub-pipelines, then each facet holds its own result over the same input', async () => {
    const out = await run([
      { $match: { vendor: 'hik' } },
      { $facet: { total: [{ $count: 'n' }], fastest: [{ $sort: { rtt: 1 } }, { $limit: 1 }, { $project: { _id: 1 } }], byRegion: [{ $group: { _id: '$region', n: { $sum: 1 } } }, { $sort: { _id: 1 } }] } },
    ]);
    expect(out).to.deep.equal([
      {
        total: [{ n: 3 }],
        fastest: [{ _id: 1 }],
        byRegion: [
          { _id: 'r1', n: 1 },
          { _id: 'r2', n: 2 },
        ],
      },
    ]);
  });

  it('when $count runs, then one document with the count comes back, and none when nothing matched', async () => {
    expect(await run([{ $match: { up: true } }, { $count: 'ups' }])).to.deep.equal([{ ups: 3 }]);
    expect(await run([{ $match: { vendor: 'nobody' } }, { $count: 'n' }])).to.deep.equal([]);
  });

  it('when $replaceRoot promotes a subdocument, then it becomes the whole document', async () => {
    const out = await run([{ $match: { _id: 1 } }, { $replaceRoot: { newRoot: { id: '$_id', info: { v: '$vendor' } } } }, { $replaceRoot: { newRoot: '$info' } }]);
    expect(out).to.deep.equal([{ v: 'hik' }]);
  });

  it('when $replaceRoot meets a missing newRoot, then the aggregate fails with 40228', async () => {
    const err = await serverError(() => run([{ $replaceRoot: { newRoot: '$nope' } }]));
    expect(err.code).to.equal(40228);
  });

  it('when $bucket groups by boundaries with a default, then counts and outputs are per bucket', async () => {
    const out = await run([{ $bucket: { groupBy: '$rtt', boundaries: [0, 25, 45], default: 'slow', output: { n: { $sum: 1 }, ids: { $push: '$_id' } } } }]);
    expect(out).to.deep.equal([
      { _id: 0, n: 2, ids: [1, 3] },
      { _id: 25, n: 2, ids: [2, 4] },
      { _id: 'slow', n: 1, ids: [5] },
    ]);
  });

  it('when $bucket meets a value outside the boundaries and no default, then it fails with 40066', async () => {
    const err = await serverError(() => run([{ $bucket: { groupBy: '$rtt', boundaries: [0, 25] } }]));
    expect(err.code).to.equal(40066);
  });

  it('when an unknown stage is used, then the aggregate fails with 40324', async () => {
    const err = await serverError(() => run([{ $noSuchStage: {} }]));
    expect(err.code).to.equal(40324);
  });

  it('when aggregate runs on a missing collection, then it returns no documents', async () => {
    const out = await t().db.collection('nothing_here').aggregate([{ $match: {} }]).toArray();
    expect(out).to.deep.equal([]);
  });
});
