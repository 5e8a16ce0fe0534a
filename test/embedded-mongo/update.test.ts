import { expect } from 'chai';
import type { Collection, Document, UpdateOptions } from 'mongodb';
import { serverError, useTarget } from './target';

describe('embedded-mongo conformance: update and findAndModify', () => {
  const t = useTarget('update');
  let n = 0;
  /** A fresh collection holding one document, for the operator cases. */
  async function one(doc: Document): Promise<Collection> {
    const c = t().db.collection(`u${++n}`);
    await c.insertOne({ _id: 1, ...doc } as Document);
    return c;
  }
  const get = async (c: Collection) => c.findOne({ _id: 1 } as Document);
  /** Update documents are passed as plain Documents: the driver's typed UpdateFilter cannot describe an untyped collection. */
  const upd = (c: Collection, update: Document, opts?: UpdateOptions) => c.updateOne({ _id: 1 } as Document, update, opts);

  describe('operators', () => {
    it('when $set targets top-level and dotted paths, then fields and missing parents are created', async () => {
      const c = await one({ a: 1 });
      await upd(c, { $set: { a: 2, 'b.c.d': 'x' } });
      expect(await get(c)).to.deep.equal({ _id: 1, a: 2, b: { c: { d: 'x' } } });
    });

    it('when $unset names present and absent fields, then present ones are removed and nothing else changes', async () => {
      const c = await one({ a: 1, b: { c: 1, d: 2 } });
      await upd(c, { $unset: { a: '', 'b.c': '', zz: '' } });
      expect(await get(c)).to.deep.equal({ _id: 1, b: { d: 2 } });
    });

    it('when $inc is applied, then it adds (negative too) and creates a missing field with the increment', async () => {
      const c = await one({ a: 5, n: { x: 1 } });
      await upd(c, { $inc: { a: -2, 'n.x': 10, fresh: 3 } });
      expect(await get(c)).to.deep.equal({ _id: 1, a: 3, n: { x: 11 }, fresh: 3 });
    });

    it('when $inc targets a string, then it fails with 14 TypeMismatch and the document is unchanged', async () => {
      const c = await one({ s: 'text' });
      const err = await serverError(() => upd(c, { $inc: { s: 1 } }));
      expect(err.code).to.equal(14);
      expect(await get(c)).to.deep.equal({ _id: 1, s: 'text' });
    });

    it('when $mul is applied, then it multiplies and a missing field becomes 0', async () => {
      const c = await one({ p: 2.5 });
      await upd(c, { $mul: { p: 4, missing: 7 } });
      expect(await get(c)).to.deep.equal({ _id: 1, p: 10, missing: 0 });
    });

    it('when $min and $max are applied, then they only change the field when the new value is lower/higher', async () => {
      const c = await one({ lo: 10, hi: 10, lo2: 1, hi2: 100 });
      await upd(c, { $min: { lo: 5, lo2: 9 }, $max: { hi: 20, hi2: 50 } });
      expect(await get(c)).to.deep.equal({ _id: 1, lo: 5, hi: 20, lo2: 1, hi2: 100 });
    });

    it('when $push is applied plain and with $each/$slice/$sort, then arrays grow as documented', async () => {
      const c = await one({ a: [3] });
      await upd(c, { $push: { a: 1, b: 'new' } });
      expect(await get(c)).to.deep.equal({ _id: 1, a: [3, 1], b: ['new'] });
      await upd(c, { $push: { a: { $each: [5, 2], $sort: 1, $slice: -3 } } });
      expect((await get(c))?.a).to.deep.equal([2, 3, 5]);
    });

    it('when $push targets a non-array, then it fails with 2 BadValue', async () => {
      const c = await one({ a: 'scalar' });
      const err = await serverError(() => upd(c, { $push: { a: 1 } }));
      expect(err.code).to.equal(2);
    });

    it('when $pull is applied with a value and with a condition, then matching elements are removed', async () => {
      const c = await one({ a: [1, 2, 3, 2, 5], objs: [{ k: 1 }, { k: 2 }, { k: 3 }] });
      await upd(c, { $pull: { a: 2, objs: { k: { $gte: 2 } } } });
      expect(await get(c)).to.deep.equal({ _id: 1, a: [1, 3, 5], objs: [{ k: 1 }] });
    });

    it('when $addToSet is applied with a present value and with $each, then only absent values are added', async () => {
      const c = await one({ s: ['a', 'b'] });
      await upd(c, { $addToSet: { s: 'a' } });
      expect((await get(c))?.s).to.deep.equal(['a', 'b']);
      await upd(c, { $addToSet: { s: { $each: ['b', 'c', 'c'] } } });
      expect((await get(c))?.s).to.deep.equal(['a', 'b', 'c']);
    });

    it('when $pop is 1 or -1, then the last or first element is removed', async () => {
      const c = await one({ a: [1, 2, 3], b: [1, 2, 3] });
      await upd(c, { $pop: { a: 1, b: -1 } });
      expect(await get(c)).to.deep.equal({ _id: 1, a: [1, 2], b: [2, 3] });
    });

    it('when $rename is applied, then the value moves (also into a nested path) and the old field is gone', async () => {
      const c = await one({ old: 1, x: { y: 2 } });
      await upd(c, { $rename: { old: 'renamed', 'x.y': 'z.w' } });
      expect(await get(c)).to.deep.equal({ _id: 1, renamed: 1, x: {}, z: { w: 2 } });
    });

    it('when $currentDate is applied, then the field holds the server time as a Date', async () => {
      const c = await one({});
      const before = Date.now();
      await upd(c, { $currentDate: { at: true, at2: { $type: 'date' } } });
      const d = await get(c);
      expect(d?.at).to.be.instanceOf(Date);
      expect(d?.at2).to.be.instanceOf(Date);
      expect((d?.at as Date).getTime()).to.be.within(before - 5000, Date.now() + 5000);
    });

    it('when an update modifies _id, then it fails with 66 ImmutableField', async () => {
      const c = await one({ a: 1 });
      const err = await serverError(() => upd(c, { $set: { _id: 2 } }));
      expect(err.code).to.equal(66);
    });

    it('when two operators touch the same path, then it fails with 40 ConflictingUpdateOperators', async () => {
      const c = await one({ a: 1 });
      const err = await serverError(() => upd(c, { $set: { a: 2 }, $inc: { a: 1 } }));
      expect(err.code).to.equal(40);
    });
  });

  describe('update command shapes', () => {
    it('when multi is false, then one document changes; when true, then all matches change', async () => {
      const c = t().db.collection('multi');
      await c.insertMany([{ g: 1, v: 0 }, { g: 1, v: 0 }, { g: 2, v: 0 }]);
      const r1 = await c.updateOne({ g: 1 }, { $set: { v: 1 } });
      expect([r1.matchedCount, r1.modifiedCount]).to.deep.equal([1, 1]);
      const r2 = await c.updateMany({ g: 1 }, { $set: { v: 2 } });
      expect([r2.matchedCount, r2.modifiedCount]).to.deep.equal([2, 2]);
      expect(await c.countDocuments({ v: 2 })).to.equal(2);
      expect(await c.countDocuments({ g: 2, v: 0 })).to.equal(1);
    });

    it('when the new value equals the old, then n counts the match but nModified is 0', async () => {
      const c = t().db.collection('nomod');
      await c.insertOne({ a: 1 });
      const reply = await t().db.command({ update: 'nomod', updates: [{ q: { a: 1 }, u: { $set: { a: 1 } } }] });
      expect(reply).to.deep.include({ n: 1, nModified: 0, ok: 1 });
    });

    it('when upsert matches nothing, then the equality fields of the query, the update and $setOnInsert form the new document', async () => {
      const c = t().db.collection('ups');
      const res = await c.updateOne({ code: 'A1', kind: 'cam' }, { $set: { name: 'n1' }, $setOnInsert: { created: 1 }, $inc: { hits: 1 } }, { upsert: true });
      expect(res.upsertedCount).to.equal(1);
      expect(res.upsertedId).to.not.equal(null);
      const d = await c.findOne({ code: 'A1' }, { projection: { _id: 0 } });
      expect(d).to.deep.equal({ code: 'A1', kind: 'cam', name: 'n1', created: 1, hits: 1 });
    });

    it('when upsert matches an existing document, then $setOnInsert is not applied', async () => {
      const c = t().db.collection('ups2');
      await c.insertOne({ code: 'B', hits: 1 });
      const res = await c.updateOne({ code: 'B' }, { $setOnInsert: { created: 1 }, $inc: { hits: 1 } }, { upsert: true });
      expect(res.upsertedCount).to.equal(0);
      expect(res.matchedCount).to.equal(1);
      const d = await c.findOne({ code: 'B' }, { projection: { _id: 0 } });
      expect(d).to.deep.equal({ code: 'B', hits: 2 });
    });

    it('when the raw update command upserts, then the reply lists upserted [{ index, _id }]', async () => {
      const reply = await t().db.command({
        update: 'ups3',
        updates: [
          { q: { _id: 'x' }, u: { $set: { v: 1 } }, upsert: true },
          { q: { _id: 'y' }, u: { $set: { v: 2 } }, upsert: true },
        ],
      });
      expect(reply.ok).to.equal(1);
      expect(reply.n).to.equal(2);
      expect(reply.nModified).to.equal(0);
      expect(reply.upserted).to.deep.equal([
        { index: 0, _id: 'x' },
        { index: 1, _id: 'y' },
      ]);
    });

    it('when arrayFilters are given, then only the matching array elements are updated', async () => {
      const c = await one({ grades: [95, 80, 100, 70], items: [{ k: 'a', q: 1 }, { k: 'b', q: 2 }] });
      await upd(c, { $set: { 'grades.$[g]': 90, 'items.$[it].q': 9 } }, { arrayFilters: [{ g: { $gte: 95 } }, { 'it.k': 'b' }] });
      expect(await get(c)).to.deep.equal({ _id: 1, grades: [90, 80, 90, 70], items: [{ k: 'a', q: 1 }, { k: 'b', q: 9 }] });
    });

    it('when the positional $ operator is used, then the first matched array element is updated', async () => {
      const c = await one({ items: [{ k: 'a', q: 1 }, { k: 'b', q: 2 }] });
      await c.updateOne({ _id: 1, 'items.k': 'b' } as Document, { $inc: { 'items.$.q': 5 } });
      expect((await get(c))?.items).to.deep.equal([{ k: 'a', q: 1 }, { k: 'b', q: 7 }]);
    });

    it('when a replacement document is given, then every other field is dropped but _id is kept', async () => {
      const c = await one({ a: 1, b: 2 });
      await c.replaceOne({ _id: 1 } as Document, { c: 3 });
      expect(await get(c)).to.deep.equal({ _id: 1, c: 3 });
    });

    it('when an update violates a unique index, then it fails with 11000 and the document is unchanged', async () => {
      const c = t().db.collection('uupd');
      await c.createIndex({ k: 1 }, { unique: true });
      await c.insertMany([{ _id: 1, k: 'a' }, { _id: 2, k: 'b' }] as Document[]);
      const err = await serverError(() => c.updateOne({ _id: 2 } as Document, { $set: { k: 'a' } }));
      expect(err.code).to.equal(11000);
      expect((await c.findOne({ _id: 2 } as Document))?.k).to.equal('b');
    });
  });

  describe('findAndModify', () => {
    let c: Collection;
    beforeEach(async () => {
      c = t().db.collection(`fam${++n}`);
      await c.insertMany([
        { _id: 1, q: 'job', pri: 2, state: 'new' },
        { _id: 2, q: 'job', pri: 5, state: 'new' },
        { _id: 3, q: 'job', pri: 1, state: 'new' },
      ] as Document[]);
    });

    it('when findOneAndUpdate has no returnDocument, then the document before the update comes back', async () => {
      const d = await c.findOneAndUpdate({ _id: 1 } as Document, { $set: { state: 'taken' } });
      expect(d?.state).to.equal('new');
      expect((await c.findOne({ _id: 1 } as Document))?.state).to.equal('taken');
    });

    it('when new: true (returnDocument after) and a sort are given, then the first doc in sort order is updated and returned', async () => {
      const d = await c.findOneAndUpdate({ q: 'job', state: 'new' }, { $set: { state: 'taken' } }, { sort: { pri: -1 }, returnDocument: 'after' });
      expect(d).to.deep.equal({ _id: 2, q: 'job', pri: 5, state: 'taken' });
    });

    it('when upsert and new are given and nothing matches, then the inserted document is returned', async () => {
      const d = await c.findOneAndUpdate({ q: 'other' }, { $set: { state: 'new' }, $setOnInsert: { pri: 0 } }, { upsert: true, returnDocument: 'after', projection: { _id: 0 } });
      expect(d).to.deep.equal({ q: 'other', state: 'new', pri: 0 });
    });

    it('when remove: true with a sort is given, then the first doc in sort order is deleted and returned', async () => {
      const d = await c.findOneAndDelete({ q: 'job' }, { sort: { pri: 1 } });
      expect(d?._id).to.equal(3);
      expect(await c.countDocuments({})).to.equal(2);
    });

    it('when the raw findAndModify is sent, then lastErrorObject reports n, updatedExisting and upserted', async () => {
      const r1 = await t().db.command({ findAndModify: c.collectionName, query: { _id: 1 }, update: { $inc: { pri: 1 } }, new: true });
      expect(r1.ok).to.equal(1);
      expect(r1.value).to.deep.equal({ _id: 1, q: 'job', pri: 3, state: 'new' });
      expect(r1.lastErrorObject).to.deep.include({ n: 1, updatedExisting: true });
      const r2 = await t().db.command({ findAndModify: c.collectionName, query: { _id: 42 }, update: { $set: { x: 1 } }, upsert: true, new: true });
      expect(r2.lastErrorObject).to.deep.include({ n: 1, updatedExisting: false, upserted: 42 });
      expect(r2.value).to.deep.equal({ _id: 42, x: 1 });
    });

    it('when nothing matches and there is no upsert, then value is null', async () => {
      const r = await t().db.command({ findAndModify: c.collectionName, query: { _id: 999 }, update: { $set: { x: 1 } } });
      expect(r.value).to.equal(null);
      expect(r.lastErrorObject).to.deep.include({ n: 0, updatedExisting: false });
    });

    it('when findOneAndReplace is used, then the document is replaced, keeping its _id', async () => {
      const d = await c.findOneAndReplace({ _id: 3 } as Document, { only: true }, { returnDocument: 'after' });
      expect(d).to.deep.equal({ _id: 3, only: true });
    });
  });
});
