import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { BSON, MongoClient, MongoServerError, type Document } from 'mongodb';
import { startEmbeddedMongoThread, type EmbeddedMongoThread } from '../../server/src/embedded-mongo/thread';

const MiB = 1024 * 1024;
const LIMIT = 16 * MiB;

/** A document `{ _id, s }` whose BSON is exactly `bytes` long. */
function docOfSize(id: number, bytes: number): Document {
  const overhead = BSON.calculateObjectSize({ _id: id, s: '' });
  return { _id: id, s: 'x'.repeat(bytes - overhead) };
}

async function serverError(p: Promise<unknown>): Promise<MongoServerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof MongoServerError) return err;
    throw err;
  }
  throw new Error('expected the store to refuse');
}

/** One OP_MSG with a kind-0 body, sent on its own socket; resolves with the reply body. */
function rawCommand(port: number, body: Document): Promise<Document> {
  const bson = Buffer.from(BSON.serialize(body, { minInternalBufferSize: 64 * MiB } as never));
  const msg = Buffer.alloc(21 + bson.length);
  msg.writeInt32LE(msg.length, 0);
  msg.writeInt32LE(7, 4);
  msg.writeInt32LE(2013, 12);
  bson.copy(msg, 21);
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    sock.on('error', reject);
    sock.on('close', () => reject(new Error('connection closed without a reply')));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= buf.readInt32LE(0)) {
        const reply = BSON.deserialize(buf.subarray(21, buf.readInt32LE(0)));
        sock.removeAllListeners('close');
        sock.destroy();
        resolve(reply);
      }
    });
    sock.write(msg);
  });
}

describe('embedded store: the 16 MB document limit (as mongod 7.0)', function () {
  this.timeout(120_000);
  let dir: string;
  let store: EmbeddedMongoThread;
  let client: MongoClient;
  const db = (): ReturnType<MongoClient['db']> => client.db('lim');

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-limits-'));
    store = await startEmbeddedMongoThread({ dbPath: dir, host: '127.0.0.1', port: 0 });
    client = await MongoClient.connect(store.uri('lim'), { serverSelectionTimeoutMS: 10_000 });
  });
  after(async () => {
    await client?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a document of exactly 16 MiB is inserted, then it is stored and read back whole', async () => {
    await db().collection('at').insertOne(docOfSize(1, LIMIT));
    const back = await db().collection('at').findOne({ _id: 1 as never });
    expect(BSON.calculateObjectSize(back!)).to.equal(LIMIT);
  });

  it('when a 16.25 MB document is inserted, then 10334 BSONObjectTooLarge and nothing is stored', async () => {
    const err = await serverError(db().collection('ins').insertOne(docOfSize(1, LIMIT + MiB / 4)));
    expect(err.code).to.equal(10334);
    expect(err.codeName).to.equal('BSONObjectTooLarge');
    // the driver sends the document inside the command body: mongod names the body's size and first element
    const m = /^BSONObj size: (\d+) \(0x([0-9A-F]+)\) is invalid\. Size must be between 0 and 16793600\(16MB\) First element: insert: "ins"$/.exec(err.message);
    expect(m, err.message).to.not.equal(null);
    expect(Number(m![1])).to.be.greaterThan(LIMIT + MiB / 4).and.equal(parseInt(m![2], 16));
    expect(await db().collection('ins').countDocuments()).to.equal(0);
  });

  it('when a document just over 16 MiB (under mongod\'s 16 KiB message slack) is inserted, then BadValue "object to insert too large"', async () => {
    const err = await serverError(db().collection('ins2').insertOne(docOfSize(1, LIMIT + 100)));
    expect(err.code).to.equal(2);
    expect(err.message).to.equal(`object to insert too large. size in bytes: ${LIMIT + 100}, max size: ${LIMIT}`);
    expect(await db().collection('ins2').countDocuments()).to.equal(0);
  });

  it('when a 16.25 MB replacement, upsert or findOneAndReplace is sent, then 10334 and the stored document is unchanged', async () => {
    const c = db().collection('rep');
    await c.insertOne({ _id: 1 as never, v: 'small' });
    const big = docOfSize(1, LIMIT + MiB / 4);
    expect((await serverError(c.replaceOne({ _id: 1 as never }, big))).code).to.equal(10334);
    expect((await serverError(c.replaceOne({ _id: 2 as never }, { ...big, _id: 2 }, { upsert: true }))).code).to.equal(10334);
    expect((await serverError(c.findOneAndReplace({ _id: 1 as never }, big))).code).to.equal(10334);
    expect(await c.find().toArray()).to.deep.equal([{ _id: 1, v: 'small' }]);
  });

  it('when an update would grow a document past 16 MiB, then 17419 and the stored document is unchanged, also after a restart', async () => {
    const c = db().collection('grow');
    const s = 'a'.repeat(9 * MiB);
    await c.insertOne({ _id: 1 as never, s });
    const err = await serverError(c.updateOne({ _id: 1 as never }, { $set: { t: 'b'.repeat(8 * MiB) } }));
    expect(err.code).to.equal(17419);
    expect(err.message).to.equal('Resulting document after update is larger than 16777216');
    const err2 = await serverError(c.findOneAndUpdate({ _id: 1 as never }, { $set: { t: 'b'.repeat(8 * MiB) } }));
    expect(err2.code).to.equal(17419);
    // a pipeline update can build a document far beyond the serializer's buffer
    const err3 = await serverError(c.updateOne({ _id: 1 as never }, [{ $set: { t: { $concat: ['$s', '$s', '$s'] } } }]));
    expect(err3.code).to.equal(17419);
    const check = async (): Promise<void> => {
      const doc = await db().collection('grow').findOne({ _id: 1 as never });
      expect(Object.keys(doc!)).to.deep.equal(['_id', 's']);
      expect(doc!.s).to.equal(s);
    };
    await check();
    await client.close();
    await store.close();
    store = await startEmbeddedMongoThread({ dbPath: dir, host: '127.0.0.1', port: 0 });
    client = await MongoClient.connect(store.uri('lim'), { serverSelectionTimeoutMS: 10_000 });
    await check();
  });

  it('when an upsert would insert a document over 16 MiB, then 17420 and nothing is stored', async () => {
    const c = db().collection('ups');
    const err = await serverError(c.updateOne({ _id: 1 as never }, { $set: { a: 'a'.repeat(8 * MiB), b: 'b'.repeat(8 * MiB) } }, { upsert: true }));
    expect(err.code).to.equal(17420);
    expect(err.message).to.equal('Document to upsert is larger than 16777216');
    expect(await c.countDocuments()).to.equal(0);
  });

  it('when a raw 20 MB message body is sent, then the reply is 10334 and the store goes on', async () => {
    const reply = await rawCommand(store.port, { insert: 'raw', documents: [{ _id: 1, s: 'r'.repeat(20 * MiB) }], $db: 'lim' });
    expect(reply).to.include({ ok: 0, code: 10334, codeName: 'BSONObjectTooLarge' });
    expect(reply.errmsg).to.match(/First element: insert: "raw"$/);
    expect(await db().collection('raw').countDocuments()).to.equal(0);
    expect(await db().command({ ping: 1 })).to.deep.equal({ ok: 1 });
  });

  it('when an aggregation builds a document over the limit, then that command fails with 10334 and the store goes on', async () => {
    const c = db().collection('agg');
    await c.insertOne({ _id: 1 as never, s: 'q'.repeat(9 * MiB) });
    const err = await serverError(c.aggregate([{ $project: { a: ['$s', '$s'] } }]).toArray());
    expect(err.code).to.equal(10334);
    expect(err.message.length).to.be.lessThan(400);
    // an overflow that falls inside a string (once sent truncated) is refused the same way
    const err2 = await serverError(c.aggregate([{ $project: { n: { $literal: 1.5 }, a: { $concat: ['$s', '$s'] } } }]).toArray());
    expect(err2.code).to.equal(10334);
    expect(await db().command({ ping: 1 })).to.deep.equal({ ok: 1 });
    expect(await c.countDocuments()).to.equal(1);
  });

  it('when large documents are read with the default batch size, then batches stay under 16 MB and every document arrives whole', async () => {
    const c = db().collection<{ _id: number; s: string }>('batch');
    for (let i = 0; i < 4; i++) await c.insertOne({ _id: i, s: String(i).repeat(7 * MiB) });
    const all = await c.find().sort({ _id: 1 }).toArray();
    expect(all.map((d): unknown[] => [d._id, d.s.length, d.s[0]])).to.deep.equal([0, 1, 2, 3].map((i) => [i, 7 * MiB, String(i)]));
  });
});
