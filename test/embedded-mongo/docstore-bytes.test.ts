import { expect } from 'chai';
import { BSON, ObjectId } from 'bson';
import { Collection, idKey, WriteTx } from '../../server/src/embedded-mongo/collection';
import type { Doc } from '../../server/src/embedded-mongo/compare';
import { DocStore } from '../../server/src/embedded-mongo/docstore';
import { runQuery } from '../../server/src/embedded-mongo/query';
import { applyUpdate } from '../../server/src/embedded-mongo/update';
import { bsonOf, decodeBson, decodeFields } from '../../server/src/embedded-mongo/wire';

/** A point as an insert hands it to the collection: only _id decoded, the full bytes attached. */
function insertedPoint(i: number): Doc {
  const bytes = Buffer.from(BSON.serialize({ _id: new ObjectId(), name: `路口-${i}`, status: { state: 'UNKNOWN' }, tokens: ['a', 'b', `t${i}`] }));
  return decodeFields(bytes, new Set(['_id']));
}

/** The same with the fields an index on `name` reads decoded, as an insert into such a collection decodes it. */
function insertedNamed(i: number): Doc {
  return decodeFields(bsonOf(insertedPoint(i)), new Set(['_id', 'name']));
}

/** What an update statement does: read the document, apply `$set`, replace it. */
function setStatus(coll: Collection, id: string, state: string): WriteTx {
  const tx = new WriteTx();
  const before = coll.docs.get(id)!;
  coll.replace(before, applyUpdate(before, { $set: { 'status.state': state } }, { filter: {}, inserting: false }), tx);
  return tx;
}

describe('embedded-mongo: documents are held as BSON bytes', () => {
  it('when a document is read and then updated, then the store holds the bytes storage writes, not an object, and a read returns the updated values', () => {
    const coll = new Collection('db', 'points', {}, []);
    const doc = insertedPoint(1);
    coll.insert(doc, new WriteTx());
    const id = idKey(doc._id);
    expect(coll.docs.get(id)).to.deep.include({ name: '路口-1' });
    expect(coll.docs.peek(id), 'a read leaves the bytes in place').to.be.instanceOf(Uint8Array);

    const tx = setStatus(coll, id, 'UP');
    const stored = coll.docs.peek(id);
    expect(stored).to.be.instanceOf(Uint8Array);
    const put = tx.ops.find((op) => op.t === 'put');
    expect(put?.t === 'put' && put.bytes, 'storage writes the very bytes the store keeps').to.equal(stored);
    expect(coll.docs.get(id)).to.deep.include({ name: '路口-1', status: { state: 'UP' } });
    expect(runQuery(coll, { 'status.state': 'UP' }).docs.map((d) => d.name)).to.deep.equal(['路口-1']);
  });

  it('when an update is rolled back, then the previous bytes are back and a read returns the previous values', () => {
    const coll = new Collection('db', 'points', {}, []);
    const doc = insertedPoint(2);
    coll.insert(doc, new WriteTx());
    const id = idKey(doc._id);
    const tx = setStatus(coll, id, 'DOWN');
    for (let i = tx.undo.length - 1; i >= 0; i--) tx.undo[i]();
    expect(coll.docs.peek(id)).to.be.instanceOf(Uint8Array);
    expect((coll.docs.get(id)?.status as Doc).state).to.equal('UNKNOWN');
  });

  it('when an insert and a removal are rolled back, then the documents and their index entries are as before (the transaction kept only bytes)', () => {
    const coll = new Collection('db', 'points', {}, [{ key: { name: 1 }, name: 'name_1', unique: true }]);
    const kept = insertedNamed(4);
    coll.insert(kept, new WriteTx());
    const keptId = idKey(kept._id);

    const tx = new WriteTx();
    const added = insertedNamed(5);
    coll.insert(added, tx);
    coll.remove(coll.docs.get(keptId)!, tx);
    for (const op of tx.ops) if (op.t === 'put') expect(op.bytes, 'a put carries bytes').to.be.instanceOf(Uint8Array);
    expect(runQuery(coll, { name: '路口-5' }).docs).to.have.length(1);
    expect(runQuery(coll, { name: '路口-4' }).docs).to.have.length(0);

    for (let i = tx.undo.length - 1; i >= 0; i--) tx.undo[i]();
    expect(coll.docs.has(idKey(added._id))).to.equal(false);
    expect(runQuery(coll, { name: '路口-5' }).docs, 'the undone insert left no index entry').to.have.length(0);
    expect(coll.docs.peek(keptId)).to.be.instanceOf(Uint8Array);
    expect(runQuery(coll, { name: '路口-4' }).docs.map((d) => d.tokens)).to.deep.equal([['a', 'b', 't4']]);
    // the unique index holds the restored document's key again
    expect(() => coll.insert(insertedNamed(4), new WriteTx())).to.throw(/duplicate key/);
  });

  it('when a cached document is replaced, then the next read returns the new version, not the cached one', () => {
    const coll = new Collection('db', 'points', {}, []);
    const doc = insertedPoint(3);
    coll.insert(doc, new WriteTx());
    const id = idKey(doc._id);
    coll.docs.get(id);
    coll.docs.get(id); // read twice: now cached
    expect(coll.docs.cached).to.equal(1);
    setStatus(coll, id, 'UP');
    expect((coll.docs.get(id)?.status as Doc).state).to.equal('UP');
  });
});

describe('embedded-mongo: the decoded-document cache', () => {
  const filled = (n: number, cacheSize: number): { store: DocStore; ids: string[] } => {
    const store = new DocStore(cacheSize);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const doc = insertedPoint(i);
      ids.push(idKey(doc._id));
      store.set(ids[i], doc);
    }
    return { store, ids };
  };

  it('when many more documents than its bound are read again and again, then it never holds more than its bound and reads stay correct', () => {
    const { store, ids } = filled(200, 16);
    for (let round = 0; round < 3; round++) {
      ids.forEach((id, i) => {
        expect(store.get(id)?.name).to.equal(`路口-${i}`);
        expect(store.cached).to.be.at.most(16);
      });
    }
    for (const d of store.values()) expect(d.name).to.be.a('string');
    expect(store.cached).to.be.at.most(16);
  });

  it('when documents are read once each (as an update stream does), then the documents cached by repeated reads stay cached', () => {
    const { store, ids } = filled(100, 10);
    const page = ids.slice(0, 10);
    for (let r = 0; r < 2; r++) for (const id of page) store.get(id);
    const cachedPage = page.map((id) => store.get(id));
    for (const id of ids.slice(10)) {
      const d = store.get(id)!;
      store.set(id, { ...d, touched: true }); // the replaced version has no bytes here, so it is kept as given
    }
    expect(store.cached).to.equal(10);
    page.forEach((id, i) => expect(store.get(id), 'same cached object').to.equal(cachedPage[i]));
  });

  it('when only some fields are asked for, then only they are decoded, nothing is cached and the bytes still give the whole document', () => {
    const { store, ids } = filled(3, 10);
    const partial = store.getFields(ids[1], new Set(['name']))!;
    expect(partial).to.deep.equal({ _id: partial._id, name: '路口-1' });
    expect(decodeBson(bsonOf(partial))).to.deep.include({ name: '路口-1', tokens: ['a', 'b', 't1'] });
    expect(store.cached).to.equal(0);
    store.get(ids[1]);
    store.get(ids[1]);
    expect(store.getFields(ids[1], new Set(['name'])), 'a cached document is used as it is').to.equal(store.get(ids[1]));
  });

  it('when the cache size is 0, then nothing is cached', () => {
    const { store, ids } = filled(5, 0);
    for (let r = 0; r < 3; r++) for (const id of ids) store.get(id);
    expect(store.cached).to.equal(0);
  });
});
