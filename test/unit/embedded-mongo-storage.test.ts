import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BSON, ObjectId } from 'bson';
import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '../../server/src/embedded-mongo';
import { DocStore } from '../../server/src/embedded-mongo/docstore';
import { Storage } from '../../server/src/embedded-mongo/storage';
import { decodeFields } from '../../server/src/embedded-mongo/wire';

describe('embedded store storage layout', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-layout-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('when a new store is created, then documents live in a rowid table', () => {
    const s = new Storage(dir);
    expect(s.docsTableIsRowid()).to.equal(true);
    s.close();
  });

  it('when a store written with the old WITHOUT ROWID layout is opened, then it is migrated and every document and index is still there', async () => {
    // the layout every store had before: documents in a WITHOUT ROWID table
    const old = new Database(path.join(dir, 'store.sqlite'));
    old.pragma('journal_mode = WAL');
    old.exec(`
      CREATE TABLE collections (ns TEXT PRIMARY KEY, meta BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE docs (ns TEXT NOT NULL, id TEXT NOT NULL, doc BLOB NOT NULL, PRIMARY KEY (ns, id)) WITHOUT ROWID;
    `);
    const meta = { options: {}, indexes: [{ v: 2, key: { _id: 1 }, name: '_id_' }, { v: 2, key: { code: 1 }, name: 'code_1', unique: true }] };
    old.prepare('INSERT INTO collections (ns, meta) VALUES (?, ?)').run('mig.points', BSON.serialize(meta));
    const ids = Array.from({ length: 50 }, () => new ObjectId());
    const put = old.prepare('INSERT INTO docs (ns, id, doc) VALUES (?, ?, ?)');
    ids.forEach((id, i) => put.run('mig.points', 'o' + id.toHexString(), BSON.serialize({ _id: id, code: `c${i}`, name: '路口'.repeat(300) })));
    old.close();

    const store = await startEmbeddedMongo({ dbPath: dir });
    const client = await MongoClient.connect(store.uri('mig'), { serverSelectionTimeoutMS: 2000 });
    try {
      const coll = client.db('mig').collection('points');
      expect(await coll.countDocuments({})).to.equal(50);
      expect((await coll.findOne({ code: 'c7' }))?._id.toHexString()).to.equal(ids[7].toHexString());
      // the unique index came back with the data
      const dup = await coll.insertOne({ code: 'c7' }).then(() => null, (e: { code?: number }) => e.code);
      expect(dup).to.equal(11000);
      await coll.insertOne({ code: 'c50' });
    } finally {
      await client.close();
      await store.close();
    }
    const reopened = new Storage(dir);
    expect(reopened.docsTableIsRowid()).to.equal(true);
    expect([...reopened.loadDocs('mig.points')].length).to.equal(51);
    reopened.close();
  });
});

describe('embedded store document map', () => {
  it('when stored documents are peeked, then bytes stay bytes and nothing is decoded or kept', () => {
    const store = new DocStore();
    const doc = decodeFields(Buffer.from(BSON.serialize({ _id: 1, name: '路口' })), new Set(['_id']));
    store.set('n1', doc);
    store.set('n2', { _id: 2, name: 'decoded' });
    const peeked = [...store.peekValues()];
    expect(peeked[0]).to.be.instanceOf(Uint8Array);
    expect(peeked[1]).to.deep.equal({ _id: 2, name: 'decoded' });
    expect(store.peek('n1')).to.be.instanceOf(Uint8Array);
    expect(store.get('n1')).to.deep.include({ name: '路口' });
  });
});
