import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { MongoClient, MongoServerError } from 'mongodb';
import mongoose from 'mongoose';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../server/src/embedded-mongo';

describe('embedded store smoke', () => {
  let dir: string;
  let store: EmbeddedMongo;
  let client: MongoClient;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-em-smoke-'));
    store = await startEmbeddedMongo({ dbPath: dir });
    client = await MongoClient.connect(store.uri('smoke'), { serverSelectionTimeoutMS: 5000 });
  });

  after(async () => {
    await client?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when the driver inserts, finds, updates and deletes, then each step sees the previous one', async () => {
    const c = client.db('smoke').collection('points');
    await c.insertMany([{ code: 'a', n: 1 }, { code: 'b', n: 2 }]);
    expect(await c.countDocuments({ n: { $gte: 1 } })).to.equal(2);
    const upd = await c.updateOne({ code: 'a' }, { $inc: { n: 10 } });
    expect(upd.modifiedCount).to.equal(1);
    expect((await c.findOne({ code: 'a' }))?.n).to.equal(11);
    expect((await c.deleteOne({ code: 'b' })).deletedCount).to.equal(1);
    expect(await c.find({}).toArray()).to.have.length(1);
  });

  it('when a unique key is inserted twice, then the second insert fails with 11000 and keyValue', async () => {
    const c = client.db('smoke').collection('uniq');
    await c.createIndex({ code: 1 }, { unique: true });
    await c.insertOne({ code: 'x' });
    const err = await c.insertOne({ code: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(MongoServerError);
    expect((err as MongoServerError).code).to.equal(11000);
    expect((err as MongoServerError).keyValue).to.deep.equal({ code: 'x' });
  });

  it('when a mongoose model saves a document, then find returns it', async () => {
    const conn = mongoose.createConnection(store.uri('smoke_mongoose'));
    try {
      await conn.asPromise();
      const Point = conn.model('Point', new mongoose.Schema({ name: { type: String, unique: true }, at: Date }));
      await Point.init();
      const at = new Date('2026-01-01T00:00:00Z');
      await new Point({ name: 'north gate', at }).save();
      const found = await Point.find({ name: 'north gate' }).lean();
      expect(found).to.have.length(1);
      expect(found[0].at?.getTime()).to.equal(at.getTime());
    } finally {
      await conn.close();
    }
  });
});
