import net from 'node:net';
import { expect } from 'chai';
import { BSON, type Document } from 'mongodb';
import { realMongo, useTarget } from './target';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

function header(length: number, requestId: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(0, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

function cstring(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
}

/** OP_MSG with a kind-0 body and optional kind-1 document sequences. */
function opMsg(requestId: number, body: Document, sequences: Record<string, Document[]> = {}): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4) /* flagBits 0 */, Buffer.from([0]), Buffer.from(BSON.serialize(body))];
  for (const [id, docs] of Object.entries(sequences)) {
    const payload = Buffer.concat([cstring(id), ...docs.map((d) => Buffer.from(BSON.serialize(d)))]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(payload.length + 4, 0);
    parts.push(Buffer.from([1]), size, payload);
  }
  const rest = Buffer.concat(parts);
  return Buffer.concat([header(16 + rest.length, requestId, OP_MSG), rest]);
}

function opQuery(requestId: number, ns: string, query: Document): Buffer {
  const flags = Buffer.alloc(4);
  const skipReturn = Buffer.alloc(8);
  skipReturn.writeInt32LE(0, 0);
  skipReturn.writeInt32LE(-1, 4);
  const rest = Buffer.concat([flags, cstring(ns), skipReturn, Buffer.from(BSON.serialize(query))]);
  return Buffer.concat([header(16 + rest.length, requestId, OP_QUERY), rest]);
}

interface Reply {
  opCode: number;
  responseTo: number;
  doc: Document;
}

/** Sends one message on a fresh socket and parses the first reply (OP_MSG kind 0 or OP_REPLY). */
function roundTrip(host: string, port: number, msg: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no reply within 5 s'));
    }, 5000);
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4 || buf.length < buf.readInt32LE(0)) return;
      clearTimeout(timer);
      sock.destroy();
      const opCode = buf.readInt32LE(12);
      const responseTo = buf.readInt32LE(8);
      if (opCode === OP_MSG) {
        if (buf[20] !== 0) return reject(new Error(`reply section kind ${buf[20]}`));
        const len = buf.readInt32LE(21);
        resolve({ opCode, responseTo, doc: BSON.deserialize(buf.subarray(21, 21 + len)) });
      } else if (opCode === OP_REPLY) {
        const numberReturned = buf.readInt32LE(32);
        if (numberReturned !== 1) return reject(new Error(`OP_REPLY with ${numberReturned} documents`));
        const len = buf.readInt32LE(36);
        resolve({ opCode, responseTo, doc: BSON.deserialize(buf.subarray(36, 36 + len)) });
      } else reject(new Error(`unexpected reply opCode ${opCode}`));
    });
    sock.write(msg);
  });
}

describe('embedded-mongo conformance: wire protocol', () => {
  const t = useTarget('wire');
  const addr = () => {
    const u = new URL(t().uri);
    return { host: u.hostname, port: Number(u.port || 27017) };
  };

  it('when a legacy OP_QUERY isMaster arrives on admin.$cmd, then an OP_REPLY answers it with ismaster true', async () => {
    const { host, port } = addr();
    const reply = await roundTrip(host, port, opQuery(7, 'admin.$cmd', { isMaster: 1, helloOk: true, client: { driver: { name: 'raw-test', version: '0' } } }));
    expect(reply.opCode).to.equal(OP_REPLY);
    expect(reply.responseTo).to.equal(7);
    expect(reply.doc.ok).to.equal(1);
    expect(reply.doc.ismaster).to.equal(true);
    expect(reply.doc.helloOk).to.equal(true);
    expect(reply.doc.maxWireVersion).to.be.at.least(21);
  });

  it('when the handshake offers compressors, then the embedded store advertises none', async function () {
    if (realMongo) this.skip(); // a real mongod negotiates them; only the embedded store promises none
    const { host, port } = addr();
    const reply = await roundTrip(host, port, opQuery(8, 'admin.$cmd', { isMaster: 1, compression: ['zstd', 'snappy', 'zlib'] }));
    expect(reply.doc.ok).to.equal(1);
    expect(reply.doc.compression === undefined || (Array.isArray(reply.doc.compression) && reply.doc.compression.length === 0)).to.equal(true);
  });

  it('when an OP_MSG with only a kind-0 body is sent, then an OP_MSG reply answers with the same responseTo', async () => {
    const { host, port } = addr();
    const reply = await roundTrip(host, port, opMsg(11, { ping: 1, $db: 'admin' }));
    expect(reply.opCode).to.equal(OP_MSG);
    expect(reply.responseTo).to.equal(11);
    expect(reply.doc.ok).to.equal(1);
  });

  it('when an insert carries its documents in a kind-1 document sequence, then all of them are stored', async () => {
    const { host, port } = addr();
    const docs = [{ _id: 'seq1', v: 1 }, { _id: 'seq2', v: 2 }, { _id: 'seq3', v: 3 }];
    const reply = await roundTrip(host, port, opMsg(12, { insert: 'kind1', $db: t().dbName }, { documents: docs }));
    expect(reply.doc.ok).to.equal(1);
    expect(reply.doc.n).to.equal(3);
    const stored = await t().db.collection('kind1').find({}).sort({ _id: 1 }).toArray();
    expect(stored).to.deep.equal(docs);
  });

  it('when updates and deletes come as kind-1 sequences, then each statement is applied', async () => {
    const { host, port } = addr();
    await t().db.collection('kind1b').insertMany([{ _id: 1, v: 0 }, { _id: 2, v: 0 }, { _id: 3, v: 0 }] as Document[]);
    const upd = await roundTrip(host, port, opMsg(13, { update: 'kind1b', $db: t().dbName }, { updates: [{ q: { _id: 1 }, u: { $set: { v: 1 } } }, { q: { _id: 2 }, u: { $set: { v: 2 } } }] }));
    expect(upd.doc).to.deep.include({ ok: 1, n: 2, nModified: 2 });
    const del = await roundTrip(host, port, opMsg(14, { delete: 'kind1b', $db: t().dbName }, { deletes: [{ q: { _id: 3 }, limit: 1 }] }));
    expect(del.doc).to.deep.include({ ok: 1, n: 1 });
    const left = await t().db.collection('kind1b').find({}).sort({ _id: 1 }).toArray();
    expect(left).to.deep.equal([{ _id: 1, v: 1 }, { _id: 2, v: 2 }]);
  });

  it('when a client declares serverApi version 1, then the OP_MSG handshake and commands work', async () => {
    const c = await t().newClient({ serverApi: { version: '1' } });
    const reply = await c.db(t().dbName).command({ ping: 1 });
    expect(reply.ok).to.equal(1);
    await c.db(t().dbName).collection('api').insertOne({ a: 1 });
    expect(await c.db(t().dbName).collection('api').countDocuments({})).to.equal(1);
  });
});
