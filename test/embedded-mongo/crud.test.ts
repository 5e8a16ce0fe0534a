import { expect } from 'chai';
import { MongoBulkWriteError, type Collection, type Document } from 'mongodb';
import { asLong, serverError, useTarget } from './target';

describe('embedded-mongo conformance: insert, find, cursors, delete, count, distinct', () => {
  const t = useTarget('crud');

  describe('insert', () => {
    it('when documents without _id are inserted, then each gets an ObjectId and the reply counts them', async () => {
      const res = await t().db.collection('ins1').insertMany([{ a: 1 }, { a: 2 }, { a: 3 }]);
      expect(res.insertedCount).to.equal(3);
      const docs = await t().db.collection('ins1').find({}).toArray();
      expect(docs).to.have.length(3);
      for (const d of docs) expect(d._id.constructor.name).to.equal('ObjectId');
    });

    it('when the raw insert command is sent, then the reply is { n, ok: 1 }', async () => {
      const reply = await t().db.command({ insert: 'ins2', documents: [{ _id: 1 }, { _id: 2 }] });
      expect(reply.ok).to.equal(1);
      expect(reply.n).to.equal(2);
      expect(reply).not.to.have.property('writeErrors');
    });

    it('when an ordered insert hits a duplicate _id, then it stops there and reports the writeError index', async () => {
      const c = t().db.collection('ins3');
      const err = await c.insertMany([{ _id: 1 }, { _id: 1 }, { _id: 2 }] as Document[], { ordered: true }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MongoBulkWriteError);
      const bulk = err as MongoBulkWriteError;
      expect(bulk.code).to.equal(11000);
      expect(bulk.insertedCount).to.equal(1);
      expect(bulk.writeErrors).to.have.length(1);
      expect((bulk.writeErrors as unknown as { index: number }[])[0].index).to.equal(1);
      expect(await c.countDocuments({})).to.equal(1);
    });

    it('when an unordered insert hits duplicates, then every other document is written and each duplicate is reported', async () => {
      const reply = await t().db.command({
        insert: 'ins4',
        documents: [{ _id: 1 }, { _id: 1 }, { _id: 2 }, { _id: 2 }, { _id: 3 }],
        ordered: false,
      });
      expect(reply.ok).to.equal(1);
      expect(reply.n).to.equal(3);
      const errs = reply.writeErrors as { index: number; code: number; errmsg: string }[];
      expect(errs.map((e) => e.index)).to.deep.equal([1, 3]);
      for (const e of errs) {
        expect(e.code).to.equal(11000);
        expect(e.errmsg).to.match(/E11000 duplicate key error/);
      }
    });

    it('when a duplicate _id is inserted, then the write error carries keyPattern and keyValue', async () => {
      const reply = await t().db.command({ insert: 'ins5', documents: [{ _id: 'k' }, { _id: 'k' }] });
      const e = (reply.writeErrors as Document[])[0];
      expect(e.code).to.equal(11000);
      expect(e.keyPattern).to.deep.equal({ _id: 1 });
      expect(e.keyValue).to.deep.equal({ _id: 'k' });
    });
  });

  describe('find filters', () => {
    let c: Collection;
    before(async () => {
      c = t().db.collection('people');
      await c.insertMany([
        { _id: 1, name: 'ann', age: 30, tags: ['a', 'b'], addr: { city: 'dalian', zip: '116000' }, scores: [80, 95] },
        { _id: 2, name: 'bob', age: 25, tags: ['b'], addr: { city: 'shenyang' }, scores: [60] },
        { _id: 3, name: 'cat', age: 35, tags: ['a', 'b', 'c'], addr: { city: 'dalian' }, scores: [] },
        { _id: 4, name: 'dan', age: null, tags: [], scores: [70, 71, 72] },
        { _id: 5, name: 'Eve', tags: ['c'], items: [{ sku: 'x', qty: 5 }, { sku: 'y', qty: 1 }] },
      ] as Document[]);
    });
    const ids = async (filter: Document) => (await c.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id as unknown as number);

    it('when filtering with implicit and explicit $eq, then both match the same documents', async () => {
      expect(await ids({ name: 'bob' })).to.deep.equal([2]);
      expect(await ids({ name: { $eq: 'bob' } })).to.deep.equal([2]);
    });

    it('when filtering with $ne, then documents missing the field also match', async () => {
      expect(await ids({ age: { $ne: 30 } })).to.deep.equal([2, 3, 4, 5]);
    });

    it('when filtering with $gt/$gte/$lt/$lte, then comparisons skip null and missing values', async () => {
      expect(await ids({ age: { $gt: 25 } })).to.deep.equal([1, 3]);
      expect(await ids({ age: { $gte: 25 } })).to.deep.equal([1, 2, 3]);
      expect(await ids({ age: { $lt: 30 } })).to.deep.equal([2]);
      expect(await ids({ age: { $lte: 30, $gt: 20 } })).to.deep.equal([1, 2]);
    });

    it('when filtering with $in and $nin, then $in matches array elements and $nin includes missing fields', async () => {
      expect(await ids({ name: { $in: ['ann', 'cat', 'zed'] } })).to.deep.equal([1, 3]);
      expect(await ids({ tags: { $in: ['c'] } })).to.deep.equal([3, 5]);
      expect(await ids({ age: { $nin: [30, 25] } })).to.deep.equal([3, 4, 5]);
    });

    it('when filtering with $exists, then null counts as existing and missing does not', async () => {
      expect(await ids({ age: { $exists: true } })).to.deep.equal([1, 2, 3, 4]);
      expect(await ids({ age: { $exists: false } })).to.deep.equal([5]);
    });

    it('when filtering by null, then both null and missing fields match', async () => {
      expect(await ids({ age: null })).to.deep.equal([4, 5]);
    });

    it('when filtering with $regex (string and options, and a BSON regex), then matching is as documented', async () => {
      expect(await ids({ name: { $regex: '^e', $options: 'i' } })).to.deep.equal([5]);
      expect(await ids({ name: /^[ab]/ })).to.deep.equal([1, 2]);
    });

    it('when combining with $and, $or and $nor, then the boolean logic holds', async () => {
      expect(await ids({ $and: [{ age: { $gte: 25 } }, { tags: 'a' }] })).to.deep.equal([1, 3]);
      expect(await ids({ $or: [{ name: 'bob' }, { age: 35 }] })).to.deep.equal([2, 3]);
      expect(await ids({ $nor: [{ tags: 'a' }, { age: null }] })).to.deep.equal([2]);
    });

    it('when using $not with an operator expression, then documents missing the field match too', async () => {
      expect(await ids({ age: { $not: { $gt: 28 } } })).to.deep.equal([2, 4, 5]);
    });

    it('when using $elemMatch, then one array element must satisfy all conditions', async () => {
      expect(await ids({ scores: { $elemMatch: { $gte: 90, $lt: 100 } } })).to.deep.equal([1]);
      expect(await ids({ items: { $elemMatch: { sku: 'y', qty: { $gte: 1 } } } })).to.deep.equal([5]);
      expect(await ids({ items: { $elemMatch: { sku: 'y', qty: { $gte: 2 } } } })).to.deep.equal([]);
    });

    it('when using $size and $all, then array length and containment match', async () => {
      expect(await ids({ tags: { $size: 0 } })).to.deep.equal([4]);
      expect(await ids({ scores: { $size: 3 } })).to.deep.equal([4]);
      expect(await ids({ tags: { $all: ['a', 'b'] } })).to.deep.equal([1, 3]);
    });

    it('when filtering on dotted paths, then nested fields and fields inside array elements match', async () => {
      expect(await ids({ 'addr.city': 'dalian' })).to.deep.equal([1, 3]);
      expect(await ids({ 'items.sku': 'x' })).to.deep.equal([5]);
      expect(await ids({ 'scores.0': { $gte: 70 } })).to.deep.equal([1, 4]);
    });

    it('when filtering an array field by a scalar, then any element matches; by an array, then the whole array must equal', async () => {
      expect(await ids({ tags: 'b' })).to.deep.equal([1, 2, 3]);
      expect(await ids({ tags: ['a', 'b'] })).to.deep.equal([1]);
      expect(await ids({ scores: { $gt: 90 } })).to.deep.equal([1]);
    });

    it('when an unknown query operator is used, then the query fails with BadValue (2)', async () => {
      const err = await serverError(() => c.find({ age: { $bogus: 1 } }).toArray());
      expect(err.code).to.equal(2);
    });
  });

  describe('projection, sort, skip, limit', () => {
    let c: Collection;
    before(async () => {
      c = t().db.collection('proj');
      await c.insertMany([
        { _id: 1, a: 1, b: 'x', n: { p: 1, q: 2 } },
        { _id: 2, a: 2, b: 'y', n: { p: 3, q: 4 } },
        { _id: 3, a: 2, b: 'x', n: { p: 5, q: 6 } },
        { _id: 4, a: 3, b: 'z', n: { p: 7, q: 8 } },
      ] as Document[]);
    });

    it('when projecting by inclusion, then only those fields and _id come back', async () => {
      const d = await c.findOne({ _id: 1 } as Document, { projection: { a: 1, 'n.p': 1 } });
      expect(d).to.deep.equal({ _id: 1, a: 1, n: { p: 1 } });
    });

    it('when projecting by inclusion with _id: 0, then _id is left out', async () => {
      const d = await c.findOne({ _id: 2 } as Document, { projection: { b: 1, _id: 0 } });
      expect(d).to.deep.equal({ b: 'y' });
    });

    it('when projecting by exclusion, then every other field comes back', async () => {
      const d = await c.findOne({ _id: 3 } as Document, { projection: { b: 0, 'n.q': 0 } });
      expect(d).to.deep.equal({ _id: 3, a: 2, n: { p: 5 } });
    });

    it('when a projection mixes inclusion and exclusion, then it fails with code 31254', async () => {
      const err = await serverError(() => c.find({}, { projection: { a: 1, b: 0 } }).toArray());
      expect(err.code).to.equal(31254);
    });

    it('when sorting on two keys in mixed directions, then ties on the first are broken by the second', async () => {
      const docs = await c.find({}).sort({ a: -1, b: 1 }).toArray();
      expect(docs.map((d) => d._id)).to.deep.equal([4, 3, 2, 1]);
      const docs2 = await c.find({}).sort({ b: 1, _id: -1 }).toArray();
      expect(docs2.map((d) => d._id)).to.deep.equal([3, 1, 2, 4]);
    });

    it('when skip and limit are given, then the window applies after the sort', async () => {
      const docs = await c.find({}).sort({ _id: -1 }).skip(1).limit(2).toArray();
      expect(docs.map((d) => d._id)).to.deep.equal([3, 2]);
    });

    it('when batchSize is given to the raw find, then the first batch holds that many and the cursor stays open', async () => {
      const reply = await t().db.command({ find: 'proj', filter: {}, sort: { _id: 1 }, batchSize: 3 });
      expect((reply.cursor.firstBatch as Document[]).map((d): unknown => d._id)).to.deep.equal([1, 2, 3]);
      expect(reply.cursor.ns).to.equal(`${t().dbName}.proj`);
      expect(Number(reply.cursor.id)).to.not.equal(0);
      const more = await t().db.command({ getMore: asLong(reply.cursor.id), collection: 'proj', batchSize: 3 });
      expect((more.cursor.nextBatch as Document[]).map((d): unknown => d._id)).to.deep.equal([4]);
      expect(Number(more.cursor.id)).to.equal(0);
    });
  });

  describe('cursor batching', () => {
    before(async () => {
      const docs = Array.from({ length: 250 }, (_, i) => ({ _id: i, v: i % 7 }));
      await t().db.collection('many').insertMany(docs as Document[]);
    });

    it('when a find matches 250 documents without batchSize, then the first batch is 101 and one getMore returns the rest', async () => {
      const reply = await t().db.command({ find: 'many', filter: {}, sort: { _id: 1 } });
      expect(reply.cursor.firstBatch).to.have.length(101);
      expect(Number(reply.cursor.id)).to.not.equal(0);
      const more = await t().db.command({ getMore: asLong(reply.cursor.id), collection: 'many' });
      expect(more.cursor.nextBatch).to.have.length(149);
      expect(more.cursor.nextBatch[0]._id).to.equal(101);
      expect(Number(more.cursor.id)).to.equal(0);
    });

    it('when the driver iterates a 250-document cursor, then it receives every document once, in order', async () => {
      const docs = await t().db.collection('many').find({}).sort({ _id: 1 }).toArray();
      expect(docs.map((d) => d._id)).to.deep.equal(Array.from({ length: 250 }, (_, i) => i));
    });

    it('when an aggregate returns 250 documents, then it batches like find (101 first)', async () => {
      const reply = await t().db.command({ aggregate: 'many', pipeline: [{ $sort: { _id: 1 } }], cursor: {} });
      expect(reply.cursor.firstBatch).to.have.length(101);
      const more = await t().db.command({ getMore: asLong(reply.cursor.id), collection: 'many' });
      expect(more.cursor.nextBatch).to.have.length(149);
    });

    it('when a limit fits in one batch, then the cursor is closed at once (id 0)', async () => {
      const reply = await t().db.command({ find: 'many', filter: {}, limit: 5 });
      expect(reply.cursor.firstBatch).to.have.length(5);
      expect(Number(reply.cursor.id)).to.equal(0);
    });

    it('when killCursors is sent for an open cursor, then it is reported killed and a later getMore fails with 43 CursorNotFound', async () => {
      const reply = await t().db.command({ find: 'many', filter: {}, batchSize: 2 });
      const id = asLong(reply.cursor.id);
      const killed = await t().db.command({ killCursors: 'many', cursors: [id] });
      expect(killed.ok).to.equal(1);
      expect((killed.cursorsKilled as unknown[]).map((x) => asLong(x).toString())).to.deep.equal([id.toString()]);
      expect(killed.cursorsNotFound).to.deep.equal([]);
      const err = await serverError(() => t().db.command({ getMore: id, collection: 'many' }));
      expect(err.code).to.equal(43);
    });

    it('when the driver closes a cursor early, then the server cursor is released (a getMore on it fails)', async () => {
      const cursor = t().db.collection('many').find({}, { batchSize: 5 });
      await cursor.next();
      const id = cursor.id;
      await cursor.close();
      expect(id).to.not.equal(undefined);
      const err = await serverError(() => t().db.command({ getMore: asLong(id), collection: 'many' }));
      expect(err.code).to.equal(43);
    });
  });

  describe('delete', () => {
    it('when deleteOne matches several documents, then exactly one is removed', async () => {
      const c = t().db.collection('del1');
      await c.insertMany([{ k: 1 }, { k: 1 }, { k: 2 }]);
      const res = await c.deleteOne({ k: 1 });
      expect(res.deletedCount).to.equal(1);
      expect(await c.countDocuments({ k: 1 })).to.equal(1);
    });

    it('when deleteMany matches several documents, then all of them are removed', async () => {
      const c = t().db.collection('del2');
      await c.insertMany([{ k: 1 }, { k: 1 }, { k: 2 }]);
      const res = await c.deleteMany({ k: 1 });
      expect(res.deletedCount).to.equal(2);
      expect(await c.find({}).toArray()).to.have.length(1);
    });

    it('when the raw delete command has several statements, then n totals the removed documents', async () => {
      await t().db.collection('del3').insertMany([{ k: 1 }, { k: 2 }, { k: 2 }, { k: 3 }]);
      const reply = await t().db.command({
        delete: 'del3',
        deletes: [
          { q: { k: 1 }, limit: 1 },
          { q: { k: 2 }, limit: 0 },
          { q: { k: 99 }, limit: 0 },
        ],
      });
      expect(reply.ok).to.equal(1);
      expect(reply.n).to.equal(3);
    });
  });

  describe('count and distinct', () => {
    before(async () => {
      await t().db.collection('cd').insertMany([
        { g: 'a', v: 1, arr: [1, 2], sub: { s: 'x' } },
        { g: 'b', v: 2, arr: [2, 3], sub: { s: 'y' } },
        { g: 'a', v: 3, arr: [], sub: { s: 'x' } },
        { g: 'c', v: 4 },
      ]);
    });

    it('when the count command is sent with a query, then n is the number of matches', async () => {
      const reply = await t().db.command({ count: 'cd', query: { g: 'a' } });
      expect(reply).to.deep.include({ n: 2, ok: 1 });
    });

    it('when count has skip and limit, then they are applied', async () => {
      const reply = await t().db.command({ count: 'cd', query: {}, skip: 1, limit: 2 });
      expect(reply.n).to.equal(2);
    });

    it('when countDocuments and estimatedDocumentCount are used, then they agree with the data', async () => {
      const c = t().db.collection('cd');
      expect(await c.countDocuments({ v: { $gte: 2 } })).to.equal(3);
      expect(await c.estimatedDocumentCount()).to.equal(4);
    });

    it('when counting a missing collection, then n is 0', async () => {
      const reply = await t().db.command({ count: 'cd_nope', query: {} });
      expect(reply.n).to.equal(0);
    });

    it('when distinct is asked on a field, then each value appears once', async () => {
      const values = await t().db.collection('cd').distinct('g');
      expect([...values].sort()).to.deep.equal(['a', 'b', 'c']);
    });

    it('when distinct is asked on an array field, then the arrays are unwound', async () => {
      const values = (await t().db.collection('cd').distinct('arr')) as number[];
      expect([...values].sort()).to.deep.equal([1, 2, 3]);
    });

    it('when distinct has a dotted path and a query, then it applies both', async () => {
      const reply = await t().db.command({ distinct: 'cd', key: 'sub.s', query: { v: { $lt: 3 } } });
      expect(reply.ok).to.equal(1);
      expect([...(reply.values as string[])].sort()).to.deep.equal(['x', 'y']);
    });
  });
});
