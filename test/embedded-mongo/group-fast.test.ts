import { expect } from 'chai';
import { ObjectId, type Collection, type Document } from 'mongodb';
import { useTarget } from './target';

/**
 * `$group` by field paths with `$sum` accumulators (the registry's point counts) is answered by the
 * embedded store from stored bytes. Its answers must equal the general aggregation path's (forced here by a
 * trailing no-op stage) and MongoDB's rules: a missing field leaves its key out of an `_id` document and is
 * its own group, apart from null; `$cond` on a field follows aggregation truthiness.
 */
describe('embedded-mongo conformance: $group with $sum accumulators', () => {
  const t = useTarget('groupfast');
  let c: Collection;
  const regions = [new ObjectId(), new ObjectId(), new ObjectId()];
  const grids = [new ObjectId(), new ObjectId()];

  before(async function () {
    this.timeout(20_000);
    c = t().db.collection('groupfast');
    for (let i = 0; i < 2000; i++) {
      const d: Document = { _id: i, regionId: regions[i % 3], sharing: ['own', 'up', 'all'][i % 3 === 0 ? 0 : (i >> 2) % 3], n: i % 7 };
      if (i % 5 === 1) d.gridId = null;
      else if (i % 5 > 1) d.gridId = grids[i % 2];
      if (i % 4 !== 0) d.maintainer = { org: `org${i % 4}`, phone: '1' };
      if (i % 6 !== 5) d.enabled = [true, false, 0, 1, 'yes'][i % 5];
      if (i % 9 === 0) d.vendor = null;
      else if (i % 9 !== 1) d.vendor = `v${i % 3}`;
      docs.push(d);
    }
    await c.insertMany(docs);
  });

  const docs: Document[] = [];
  const norm = (rows: Document[]): string[] => rows.map((r) => JSON.stringify(r)).sort();
  const both = async (group: Document): Promise<[string[], string[]]> => {
    const fast = await c.aggregate([{ $group: group }]).toArray();
    const general = await c.aggregate([{ $group: group }, { $match: {} }]).toArray();
    return [norm(fast), norm(general)];
  };

  it('when grouping by an object of field paths with $sum 1 and $sum of $cond, then each group is what MongoDB defines', async () => {
    const rows = await c.aggregate([{ $group: { _id: { r: '$regionId', g: '$gridId', s: '$sharing', o: '$maintainer.org', v: '$vendor' }, n: { $sum: 1 }, e: { $sum: { $cond: ['$enabled', 1, 0] } } } }]).toArray();
    // reference: keys of missing fields are left out; aggregation truthiness (false, null, 0, missing are false)
    const ref = new Map<string, { _id: Document; n: number; e: number }>();
    for (const d of docs) {
      const id: Document = { r: d.regionId };
      if (d.gridId !== undefined) id.g = d.gridId;
      id.s = d.sharing;
      const org = (d.maintainer as Document | undefined)?.org;
      if (org !== undefined) id.o = org;
      if (d.vendor !== undefined) id.v = d.vendor;
      const k = JSON.stringify(id);
      const g = ref.get(k) ?? { _id: id, n: 0, e: 0 };
      g.n += 1;
      g.e += d.enabled === undefined || d.enabled === null || d.enabled === false || d.enabled === 0 ? 0 : 1;
      ref.set(k, g);
    }
    expect(rows.length).to.be.above(20);
    expect(norm(rows)).to.deep.equal(norm([...ref.values()]));
  });

  it('when a field is missing, then its key is left out of _id and it groups apart from null', async () => {
    const rows = await c.aggregate([{ $group: { _id: { g: '$gridId' }, n: { $sum: 1 } } }]).toArray();
    const byKey = new Map(rows.map((r) => [JSON.stringify(r._id), r.n as number]));
    expect(byKey.get('{}')).to.equal(400);
    expect(byKey.get('{"g":null}')).to.equal(400);
    expect(rows).to.have.length(4);
  });

  it('when grouping by one path or a constant and summing a numeric field, then the answer equals the general path', async () => {
    for (const group of [
      { _id: '$sharing', total: { $sum: '$n' }, c: { $sum: 2 } },
      { _id: null, total: { $sum: '$n' }, e: { $sum: { $cond: { if: '$enabled', then: 1, else: 0 } } } },
      { _id: '$vendor', n: { $sum: 1 } },
    ]) {
      const [fast, general] = await both(group);
      expect(fast, JSON.stringify(group)).to.deep.equal(general);
    }
  });

  it('when a grouped value is a document or an array, then the general path answers (same result as with it forced)', async () => {
    const [fast, general] = await both({ _id: '$maintainer', n: { $sum: 1 } });
    expect(fast).to.deep.equal(general);
  });
});
