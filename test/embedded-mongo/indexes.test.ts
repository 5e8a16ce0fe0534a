import { expect } from 'chai';
import { ObjectId, type Collection, type Document, type MongoClient } from 'mongodb';
import { realMongo, serverError, sleep, useTarget } from './target';

/** Every stage name in an explain plan tree (winningPlan nests them under inputStage(s) / queryPlan). */
function stagesOf(plan: unknown, out: string[] = []): string[] {
  if (Array.isArray(plan)) for (const p of plan) stagesOf(p, out);
  else if (plan && typeof plan === 'object') {
    for (const [k, v] of Object.entries(plan as Record<string, unknown>)) {
      if (k === 'stage' && typeof v === 'string') out.push(v);
      else if (k === 'rejectedPlans') continue;
      else stagesOf(v, out);
    }
  }
  return out;
}

describe('embedded-mongo conformance: indexes', () => {
  const t = useTarget('idx');
  let n = 0;
  const fresh = () => t().db.collection(`ix${++n}`);
  const names = async (c: Collection) => (await c.listIndexes().toArray()).map((i) => i.name as string).sort();

  describe('createIndexes / listIndexes / dropIndexes', () => {
    it('when a single-field index is created, then its name is field_1 and listIndexes shows its key', async () => {
      const c = fresh();
      const name = await c.createIndex({ gbCode: 1 });
      expect(name).to.equal('gbCode_1');
      const idx = (await c.listIndexes().toArray()).find((i) => i.name === 'gbCode_1');
      expect(idx?.key).to.deep.equal({ gbCode: 1 });
      expect(idx?.v).to.equal(2);
    });

    it('when a compound index is created, then its name joins fields and directions', async () => {
      const c = fresh();
      expect(await c.createIndex({ regionId: 1, gbCode: -1 })).to.equal('regionId_1_gbCode_-1');
      const idx = (await c.listIndexes().toArray()).find((i) => i.name === 'regionId_1_gbCode_-1');
      expect(idx?.key).to.deep.equal({ regionId: 1, gbCode: -1 });
    });

    it('when the raw createIndexes is sent on a new collection, then it reports the counts and the implicit creation', async () => {
      const reply = await t().db.command({ createIndexes: 'ix_raw', indexes: [{ key: { a: 1 }, name: 'a_1' }, { key: { b: 1 }, name: 'b_1' }] });
      expect(reply.ok).to.equal(1);
      expect(reply.numIndexesBefore).to.equal(1);
      expect(reply.numIndexesAfter).to.equal(3);
      expect(reply.createdCollectionAutomatically).to.equal(true);
    });

    it('when the same index is created twice, then the second call succeeds without adding one', async () => {
      const c = fresh();
      await c.createIndex({ a: 1 });
      const reply = await t().db.command({ createIndexes: c.collectionName, indexes: [{ key: { a: 1 }, name: 'a_1' }] });
      expect(reply.ok).to.equal(1);
      expect(reply.numIndexesBefore).to.equal(reply.numIndexesAfter);
      expect(await names(c)).to.deep.equal(['_id_', 'a_1']);
    });

    it('when an index of the same name but other options is created, then it fails with 85 or 86', async () => {
      const c = fresh();
      await c.createIndex({ a: 1 });
      const err = await serverError(() => c.createIndex({ a: 1 }, { unique: true }));
      expect(err.code).to.be.oneOf([85, 86]);
    });

    it('when an index is dropped by name and by key pattern, then listIndexes no longer shows it', async () => {
      const c = fresh();
      await c.createIndex({ a: 1 });
      await c.createIndex({ b: 1 });
      await c.dropIndex('a_1');
      await t().db.command({ dropIndexes: c.collectionName, index: { b: 1 } });
      expect(await names(c)).to.deep.equal(['_id_']);
    });

    it('when dropIndexes is sent with "*", then every index but _id_ is dropped', async () => {
      const c = fresh();
      await c.createIndexes([{ key: { a: 1 } }, { key: { b: 1 } }]);
      await c.dropIndexes();
      expect(await names(c)).to.deep.equal(['_id_']);
    });

    it('when an unknown index is dropped, then it fails with 27 IndexNotFound', async () => {
      const c = fresh();
      await c.insertOne({ a: 1 });
      const err = await serverError(() => c.dropIndex('nope_1'));
      expect(err.code).to.equal(27);
    });

    it('when the _id index is dropped, then it fails with 72 InvalidOptions', async () => {
      const c = fresh();
      await c.insertOne({ a: 1 });
      const err = await serverError(() => c.dropIndex('_id_'));
      expect(err.code).to.equal(72);
    });

    it('when listIndexes names a missing collection, then it fails with 26 NamespaceNotFound', async () => {
      const err = await serverError(() => t().db.command({ listIndexes: 'no_such_coll' }));
      expect(err.code).to.equal(26);
    });
  });

  describe('unique, sparse, partial', () => {
    it('when a unique index is violated, then the error is 11000 with keyPattern and keyValue', async () => {
      const c = fresh();
      await c.createIndex({ gbCode: 1 }, { unique: true });
      await c.insertOne({ gbCode: '21030200001320000001' });
      const reply = await t().db.command({ insert: c.collectionName, documents: [{ gbCode: '21030200001320000001' }] });
      const e = (reply.writeErrors as Document[])[0];
      expect(e.code).to.equal(11000);
      expect(e.keyPattern).to.deep.equal({ gbCode: 1 });
      expect(e.keyValue).to.deep.equal({ gbCode: '21030200001320000001' });
      expect(e.errmsg).to.match(/E11000 duplicate key error collection: .*index: gbCode_1 dup key/);
    });

    it('when the driver hits the duplicate, then MongoServerError carries code, keyPattern and keyValue', async () => {
      const c = fresh();
      await c.createIndex({ a: 1, b: 1 }, { unique: true });
      await c.insertOne({ a: 1, b: 'x' });
      await c.insertOne({ a: 1, b: 'y' });
      const err = await serverError(() => c.insertOne({ a: 1, b: 'x' }));
      expect(err.code).to.equal(11000);
      expect(err.keyPattern).to.deep.equal({ a: 1, b: 1 });
      expect(err.keyValue).to.deep.equal({ a: 1, b: 'x' });
    });

    it('when a unique index is built over existing duplicates, then it fails with 11000 and is not created', async () => {
      const c = fresh();
      await c.insertMany([{ k: 1 }, { k: 1 }]);
      const err = await serverError(() => c.createIndex({ k: 1 }, { unique: true }));
      expect(err.code).to.equal(11000);
      expect(await names(c)).to.deep.equal(['_id_']);
    });

    it('when two documents both miss a uniquely indexed field, then the second is a duplicate (missing indexes as null)', async () => {
      const c = fresh();
      await c.createIndex({ k: 1 }, { unique: true });
      await c.insertOne({ other: 1 });
      const err = await serverError(() => c.insertOne({ other: 2 }));
      expect(err.code).to.equal(11000);
      expect(err.keyValue).to.deep.equal({ k: null });
    });

    it('when a unique index is sparse, then many documents may miss the field but present values stay unique', async () => {
      const c = fresh();
      await c.createIndex({ k: 1 }, { unique: true, sparse: true });
      await c.insertMany([{ other: 1 }, { other: 2 }, { k: 'a' }]);
      const err = await serverError(() => c.insertOne({ k: 'a' }));
      expect(err.code).to.equal(11000);
      const idx = (await c.listIndexes().toArray()).find((i) => i.name === 'k_1');
      expect(idx).to.deep.include({ unique: true, sparse: true });
    });

    it('when a unique index has a partialFilterExpression, then uniqueness only applies to matching documents', async () => {
      const c = fresh();
      const pfe = { enabled: { $eq: true } };
      await c.createIndex({ host: 1 }, { unique: true, partialFilterExpression: pfe });
      await c.insertMany([{ host: 'h1', enabled: false }, { host: 'h1', enabled: false }, { host: 'h1', enabled: true }]);
      const err = await serverError(() => c.insertOne({ host: 'h1', enabled: true }));
      expect(err.code).to.equal(11000);
      const idx = (await c.listIndexes().toArray()).find((i) => i.name === 'host_1');
      expect(idx?.partialFilterExpression).to.deep.equal(pfe);
    });

    it('when a document is updated into a unique conflict via upsert, then 11000 is raised and nothing is inserted', async () => {
      const c = fresh();
      await c.createIndex({ k: 1 }, { unique: true });
      await c.insertOne({ k: 1, tag: 'a' });
      const err = await serverError(() => c.updateOne({ tag: 'b' }, { $set: { k: 1 } }, { upsert: true }));
      expect(err.code).to.equal(11000);
      expect(await c.countDocuments({})).to.equal(1);
    });

    it('when 50 parallel inserts of the same key race from 5 clients, then exactly one wins and 49 get 11000', async function () {
      this.timeout(20_000);
      const c = fresh();
      await c.createIndex({ gbCode: 1 }, { unique: true });
      const clients: MongoClient[] = [];
      for (let i = 0; i < 5; i++) clients.push(await t().newClient({ maxPoolSize: 10 }));
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => clients[i % 5].db(t().dbName).collection(c.collectionName).insertOne({ gbCode: 'same', writer: i })),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const codes = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as { code?: number }).code);
      expect(ok).to.have.length(1);
      expect(codes).to.have.length(49);
      expect(new Set(codes)).to.deep.equal(new Set([11000]));
      expect(await c.countDocuments({ gbCode: 'same' })).to.equal(1);
    });

    it('when parallel upserts race on a unique key, then one document exists and every upsert either won or got 11000', async function () {
      this.timeout(20_000);
      const c = fresh();
      await c.createIndex({ key: 1 }, { unique: true });
      const clients: MongoClient[] = [];
      for (let i = 0; i < 3; i++) clients.push(await t().newClient());
      const results = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) => clients[i % 3].db(t().dbName).collection(c.collectionName).updateOne({ key: 'k' }, { $inc: { n: 1 } }, { upsert: true })),
      );
      const docs = await c.find({ key: 'k' }).toArray();
      expect(docs).to.have.length(1);
      const fulfilled = results.filter((r) => r.status === 'fulfilled').length;
      for (const r of results) if (r.status === 'rejected') expect((r.reason as { code?: number }).code).to.equal(11000);
      expect(docs[0].n).to.equal(fulfilled);
    });
  });

  describe('TTL', () => {
    it('when a TTL index is created, then listIndexes shows expireAfterSeconds', async () => {
      const c = fresh();
      await c.createIndex({ at: 1 }, { expireAfterSeconds: 3600 });
      const idx = (await c.listIndexes().toArray()).find((i) => i.name === 'at_1');
      expect(idx?.expireAfterSeconds).to.equal(3600);
    });

    it('when documents pass their TTL, then the monitor deletes them and keeps fresh and non-date ones', async function () {
      this.timeout(realMongo ? 90_000 : 15_000);
      const c = fresh();
      await c.createIndex({ at: 1 }, { expireAfterSeconds: 1 });
      const now = Date.now();
      await c.insertMany([
        { _id: 'old', at: new Date(now - 60_000) },
        { _id: 'oldArr', at: [new Date(now + 3_600_000), new Date(now - 60_000)] },
        { _id: 'fresh', at: new Date(now + 3_600_000) },
        { _id: 'notDate', at: 'yesterday' },
        { _id: 'missing' },
      ] as Document[]);
      const deadline = Date.now() + (realMongo ? 80_000 : 10_000);
      let left: string[] = [];
      while (Date.now() < deadline) {
        left = (await c.find({}).sort({ _id: 1 }).toArray()).map((d) => d._id as unknown as string);
        if (!left.includes('old') && !left.includes('oldArr')) break;
        await sleep(realMongo ? 2000 : 100);
      }
      // an array expires on its earliest date, per the TTL docs
      expect(left).to.deep.equal(['fresh', 'missing', 'notDate']);
    });
  });

  describe('index use', () => {
    let c: Collection;
    before(async function () {
      this.timeout(20_000);
      c = t().db.collection('ixuse');
      await c.insertMany(Array.from({ length: 2000 }, (_, i) => ({ gbCode: `2103020000132${String(i).padStart(7, '0')}`, regionId: `r${i % 20}`, seq: i })));
      await c.createIndex({ gbCode: 1 }, { unique: true });
      await c.createIndex({ regionId: 1, gbCode: 1 });
      await c.createIndex({ seq: 1 });
    });

    it('when querying equality on a unique indexed field, then explain shows IXSCAN and one document examined', async () => {
      const code = (await c.findOne({ seq: 77 }))?.gbCode as string;
      const ex = await c.find({ gbCode: code }).explain('executionStats');
      expect(stagesOf(ex.queryPlanner?.winningPlan)).to.include('IXSCAN');
      expect(stagesOf(ex.queryPlanner?.winningPlan)).not.to.include('COLLSCAN');
      expect(ex.executionStats?.nReturned).to.equal(1);
      expect(ex.executionStats?.totalDocsExamined).to.be.at.most(1);
    });

    it('when querying a range on an indexed field, then explain shows IXSCAN and only the range is examined', async () => {
      const ex = await c.find({ seq: { $gte: 100, $lt: 110 } }).explain('executionStats');
      expect(stagesOf(ex.queryPlanner?.winningPlan)).to.include('IXSCAN');
      expect(ex.executionStats?.nReturned).to.equal(10);
      expect(ex.executionStats?.totalDocsExamined).to.be.at.most(10);
    });

    it('when filtering on the prefix of a compound index and sorting on the next field, then no blocking sort is needed', async () => {
      const ex = await c.find({ regionId: 'r3' }).sort({ gbCode: 1 }).limit(50).explain('executionStats');
      const stages = stagesOf(ex.queryPlanner?.winningPlan);
      expect(stages).to.include('IXSCAN');
      expect(stages).not.to.include('SORT');
      expect(ex.executionStats?.nReturned).to.equal(50);
      expect(ex.executionStats?.totalDocsExamined).to.be.at.most(50);
    });

    it('when the embedded store answers an indexed equality query, then its counters record an index scan, not a collection scan', async function () {
      const store = t().embedded;
      if (!store) this.skip();
      const before = store.stats(t().dbName, 'ixuse');
      await c.find({ seq: 1234 }).toArray();
      await c.find({ gbCode: '21030200001320001234' }).toArray();
      const after = store.stats(t().dbName, 'ixuse');
      expect(before && after, 'stats exposed').to.not.equal(undefined);
      expect((after?.ixscans ?? 0) - (before?.ixscans ?? 0)).to.equal(2);
      expect((after?.collscans ?? 0) - (before?.collscans ?? 0)).to.equal(0);
      expect((after?.docsExamined ?? 0) - (before?.docsExamined ?? 0)).to.equal(2);
    });

    it('when querying a field with no index, then explain shows COLLSCAN over every document', async () => {
      const ex = await c.find({ nothere: 1 }).explain('executionStats');
      expect(stagesOf(ex.queryPlanner?.winningPlan)).to.include('COLLSCAN');
      expect(ex.executionStats?.totalDocsExamined).to.equal(2000);
    });

    it('when an indexed range query runs, then the results are the same as without the index', async () => {
      const viaIndex = await c.find({ seq: { $gt: 1990 } }).sort({ seq: 1 }).toArray();
      const viaScan = await c.find({ seq: { $gt: 1990 } }).hint({ $natural: 1 }).toArray();
      expect(viaIndex.map((d): unknown => d.seq)).to.deep.equal([1991, 1992, 1993, 1994, 1995, 1996, 1997, 1998, 1999]);
      expect(viaScan.map((d) => d.seq as number).sort((a, b) => a - b)).to.deep.equal(viaIndex.map((d): unknown => d.seq));
    });
  });

  describe('bulk writes and later reads', () => {
    // the embedded store merges a non-unique index's new entries lazily, in key order, at the next read
    const tokens = (i: number): string[] => Array.from({ length: 30 }, (_, k) => `${'路口广场公园学校'[(i + k) % 8]}${k % 7}`);

    interface Tokened {
      _id: ObjectId | number;
      code: string;
      group: number;
      tokens: string[];
    }
    // numbers as _id give index entries of several _id lengths, ObjectIds all of one
    for (const idKind of ['ObjectId', 'number'] as const) {
      it(`when many multikey documents (${idKind} _id) are inserted, updated and deleted without a read in between, then index equality, order and counts are exact`, async () => {
        const c = t().db.collection<Tokened>(`ixbulk_${idKind}`);
        await c.createIndex({ tokens: 1, code: 1 });
        await c.createIndex({ group: 1, code: -1 });
        const docs: Tokened[] = Array.from({ length: 3000 }, (_, i) => ({ _id: idKind === 'number' ? i : new ObjectId(), code: `c${String(i).padStart(5, '0')}`, group: i % 7, tokens: tokens(i) }));
        for (let b = 0; b < docs.length; b += 1000) await c.insertMany(docs.slice(b, b + 1000));
        // 90,000 multikey entries: more than one pending run; then writes that must see every entry
        const gone = [5, 6, 7, 2999, 10];
        await c.deleteMany({ _id: { $in: gone.slice(0, 4).map((i) => docs[i]._id) } });
        await c.updateOne({ _id: docs[10]._id }, { $set: { tokens: ['独有'], group: 99 } });
        await c.insertOne({ _id: idKind === 'number' ? 5000 : new ObjectId(), code: 'c00000a', group: 3, tokens: ['路0', '独有'] });
        const live = docs.filter((_d, i) => !gone.includes(i));
        const want = live.filter((d) => d.tokens.includes('路0')).map((d) => d.code);
        want.push('c00000a');
        want.sort();
        const got = await c.find({ tokens: '路0' }).sort({ code: 1 }).toArray();
        expect(got.map((d) => d.code)).to.deep.equal(want);
        expect(await c.countDocuments({ tokens: '独有' })).to.equal(2);
        const g3 = await c.find({ group: 3 }).sort({ code: -1 }).limit(3).toArray();
        const want3 = [...live.filter((d) => d.group === 3).map((d) => d.code), 'c00000a'].sort().reverse().slice(0, 3);
        expect(g3.map((d) => d.code)).to.deep.equal(want3);
        expect(await c.countDocuments({ group: 99 })).to.equal(1);
        expect(await c.countDocuments({ tokens: { $in: ['路0', '场1'] } })).to.equal(live.filter((d) => d.tokens.includes('路0') || d.tokens.includes('场1')).length + 1);
      });
    }

    it('when a bulk insert repeats a value of a unique index inside one batch, then the later document is refused', async () => {
      const c = fresh();
      await c.createIndex({ code: 1 }, { unique: true });
      await c.createIndex({ tags: 1 });
      const err = await c.insertMany([{ code: 'a', tags: ['x'] }, { code: 'b', tags: ['x'] }, { code: 'a', tags: ['y'] }], { ordered: false }).then(
        () => null,
        (e: { writeErrors?: unknown }) => e,
      );
      expect(err).to.not.equal(null);
      expect(await c.countDocuments({})).to.equal(2);
      expect(await c.countDocuments({ tags: 'y' })).to.equal(0);
      expect(await c.countDocuments({ tags: 'x' })).to.equal(2);
    });
  });
});
