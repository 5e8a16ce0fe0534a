import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { BSON, MongoClient, type Document } from 'mongodb';
import { startEmbeddedMongoThread, type EmbeddedMongoThread } from '../../server/src/embedded-mongo/thread';
import { prng } from '../../server/src/lib/prng';

const OP_QUERY = 2004;
const OP_MSG = 2013;

function frame(opCode: number, rest: Buffer, requestId = 1): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(16 + rest.length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(opCode, 12);
  return Buffer.concat([h, rest]);
}

function opMsg(body: Document, sequence?: [string, Document[]]): Buffer {
  const parts = [Buffer.alloc(4), Buffer.from([0]), Buffer.from(BSON.serialize(body))];
  if (sequence) {
    const payload = Buffer.concat([Buffer.from(sequence[0] + '\0'), ...sequence[1].map((d) => Buffer.from(BSON.serialize(d)))]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(payload.length + 4, 0);
    parts.push(Buffer.from([1]), size, payload);
  }
  return frame(OP_MSG, Buffer.concat(parts));
}

function opQuery(ns: string, query: Document): Buffer {
  const skipReturn = Buffer.alloc(8);
  skipReturn.writeInt32LE(-1, 4);
  return frame(OP_QUERY, Buffer.concat([Buffer.alloc(4), Buffer.from(ns + '\0'), skipReturn, Buffer.from(BSON.serialize(query))]));
}

/** The frame of the report: 74 bytes, a document sequence whose first document claims length 0. */
export function zeroLengthDocumentFrame(): Buffer {
  const body = Buffer.from(BSON.serialize({ insert: 'c', $db: 'fuzz' }));
  const id = Buffer.from('documents\0');
  const before = 16 + 4 + 1 + body.length + 1 + 4 + id.length;
  const docs = Buffer.alloc(74 - before);
  const size = Buffer.alloc(4);
  size.writeInt32LE(4 + id.length + docs.length, 0);
  const f = frame(OP_MSG, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), body, Buffer.from([1]), size, id, docs]));
  expect(f.length).to.equal(74);
  return f;
}

/**
 * Well-formed messages the mutations start from; none of them can touch the `keep` database. Reads are
 * limited: the inserts grow `fuzz.c` during the run, and the test is about framing, not scan speed.
 */
const templates: Buffer[] = [
  opMsg({ ping: 1, $db: 'fuzz' }),
  opMsg({ hello: 1, $db: 'admin' }),
  opMsg({ find: 'c', filter: {}, limit: 5, $db: 'fuzz' }),
  opMsg({ insert: 'c', ordered: false, $db: 'fuzz' }, ['documents', [{ a: 1, s: 'x' }, { a: 2, t: [1, 2, { u: null }] }]]),
  opMsg({ aggregate: 'c', pipeline: [{ $limit: 10 }, { $group: { _id: '$a', n: { $sum: 1 } } }], cursor: {}, $db: 'fuzz' }),
  opMsg({ getMore: BSON.Long.fromNumber(12345), collection: 'c', $db: 'fuzz' }),
  opQuery('admin.$cmd', { isMaster: 1 }),
];

/** Valid frames that open a connection's run: cheap ones (no write, no scan), as the point is what follows. */
const cheap = [templates[0], templates[1], templates[5], templates[6]];

type Kind = 'lead' | 'valid' | 'random' | 'mutated' | 'truncated' | 'bad-length' | 'zero-doc';

/** One frame of a kind: random bytes, a template with bytes flipped or lengths lied about, cut short, … */
function makeFrame(rand: () => number, kind: Kind): Buffer {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  switch (kind) {
    case 'lead':
      return pick(cheap);
    case 'valid':
      return pick(templates);
    case 'random': {
      const body = Buffer.alloc(Math.floor(rand() * 200));
      for (let i = 0; i < body.length; i++) body[i] = Math.floor(rand() * 256);
      return frame(pick([OP_MSG, OP_MSG, OP_QUERY, 2012, 1, Math.floor(rand() * 1e6)]), body, Math.floor(rand() * 1e6));
    }
    case 'mutated': {
      const f = Buffer.from(pick(templates));
      const flips = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < flips; i++) {
        const at = 16 + Math.floor(rand() * (f.length - 16));
        if (rand() < 0.5) f[at] = Math.floor(rand() * 256);
        else if (at + 4 <= f.length) f.writeInt32LE(pick([0, -1, 1, 4, 5, 0x7fffffff, f.length, f.length - at]), at);
      }
      return f;
    }
    case 'truncated': {
      // the header tells the true length, the bytes stop early (the client then hangs up)
      const f = pick(templates);
      return f.subarray(0, Math.floor(rand() * f.length));
    }
    case 'bad-length': {
      const f = Buffer.from(pick(templates));
      f.writeInt32LE(pick([0, 1, 15, -1, -16, 48_000_001, 0x7fffffff, 47_999_999]), 0);
      return f;
    }
    case 'zero-doc':
      return zeroLengthDocumentFrame();
  }
}

/** Opens a connection, writes the frames, hangs up; resolves when the store has closed its end. */
function session(port: number, frames: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('the store did not close a connection within 10 s'));
    }, 10_000);
    sock.on('error', () => undefined); // a reset after a malformed frame is expected
    sock.on('data', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    sock.setNoDelay(true);
    sock.on('connect', () => sock.end(Buffer.concat(frames)));
  });
}

describe('embedded store: malformed, truncated and oversized frames', function () {
  this.timeout(120_000);
  let dir: string;
  let store: EmbeddedMongoThread;
  let client: MongoClient;
  const warnings: string[] = [];
  let kept: Document[];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-fuzz-'));
    store = await startEmbeddedMongoThread({
      dbPath: dir,
      host: '127.0.0.1',
      port: 0,
      log: (level, msg) => {
        if (level === 'warn' || level === 'error') warnings.push(msg);
      },
    });
    client = await MongoClient.connect(store.uri('keep'), { serverSelectionTimeoutMS: 10_000 });
    const docs = Array.from({ length: 500 }, (_, i) => ({ _id: i, name: `point ${i}`, at: new Date(1_700_000_000_000 + i), tags: [i % 7, 'x'] }));
    await client.db('keep').collection('points').insertMany(docs as never[]);
    await client.db('keep').collection('points').createIndex({ name: 1 }, { unique: true });
    kept = await client.db('keep').collection('points').find().sort({ _id: 1 }).toArray();
  });
  after(async () => {
    await client?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a 74-byte frame whose document length is 0 arrives, then that connection is closed and the store answers ping', async () => {
    await session(store.port, [zeroLengthDocumentFrame()]);
    expect(await client.db('admin').command({ ping: 1 })).to.deep.equal({ ok: 1 });
  });

  it('when 10,000 random, mutated, truncated and oversized frames arrive on 6 concurrent streams of connections, then the store still answers and its data is intact', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261202);
    const rand = prng(seed);
    const kinds: Kind[] = ['valid', 'random', 'random', 'mutated', 'mutated', 'mutated', 'truncated', 'bad-length', 'zero-doc'];
    // each connection: a few frames, the bad one (if any) last, since the store closes on it
    const plan: Buffer[][] = [];
    let frames = 0;
    while (frames < 10_000) {
      const n = 1 + Math.floor(rand() * 16);
      const list: Buffer[] = [];
      for (let i = 0; i < n; i++) list.push(makeFrame(rand, i < n - 1 ? 'lead' : kinds[Math.floor(rand() * kinds.length)]));
      plan.push(list);
      frames += n;
    }
    warnings.length = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < plan.length) await session(store.port, plan[next++]);
    };
    await Promise.all([worker(), worker(), worker(), worker(), worker(), worker()]);

    expect(frames, `seed ${seed}`).to.be.at.least(10_000);
    // one log line per closed connection at most
    expect(warnings.length).to.be.at.most(plan.length);
    expect(warnings.length).to.be.greaterThan(plan.length / 3);
    expect(await client.db('admin').command({ ping: 1 })).to.deep.equal({ ok: 1 });
    expect(await client.db('keep').collection('points').find().sort({ _id: 1 }).toArray()).to.deep.equal(kept);
    expect(await client.db('keep').collection('points').findOne({ name: 'point 42' })).to.deep.include({ _id: 42 });
  });
});
