import net from 'node:net';
import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import { useTarget } from './target';

const MiB = 1024 * 1024;
/** mongod's BSONObjMaxUserSize: a batch stops before the next document would take the reply past it. */
const MAX_REPLY_BSON = 16 * MiB;
/** OP_MSG framing around the reply document: 16-byte header, flagBits, one kind-0 section byte. */
const OP_MSG_FRAME = 16 + 4 + 1;

/**
 * A loopback relay between the driver and the store that records the length of every message the store
 * sends (the first int32 of each): what the driver really receives, not what a decoded reply re-encodes to.
 */
async function measuringRelay(upstream: string): Promise<{ port: number; replies: number[]; close(): Promise<void> }> {
  const { hostname, port: upPort } = new URL(upstream);
  const replies: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const store = net.connect(Number(upPort), hostname);
    sockets.add(client).add(store);
    let head = Buffer.alloc(0);
    let skip = 0;
    store.on('data', (chunk: Buffer) => {
      client.write(chunk);
      let off = 0;
      while (off < chunk.length) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - off);
          skip -= n;
          off += n;
          continue;
        }
        const take = Math.min(4 - head.length, chunk.length - off);
        head = Buffer.concat([head, chunk.subarray(off, off + take)]);
        off += take;
        if (head.length === 4) {
          const len = head.readInt32LE(0);
          replies.push(len);
          skip = len - 4;
          head = Buffer.alloc(0);
        }
      }
    });
    client.pipe(store);
    const end = (): void => {
      client.destroy();
      store.destroy();
    };
    client.on('error', end).on('close', end);
    store.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    replies,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The 16 MiB cut of find / getMore batches counts what the reply holds: each document, its array key
 * ("0", "1", … "1999999"), its type byte and the reply wrapper. Counting the documents alone let a batch of
 * many small documents produce a reply over the wire limit, which the store refused ("BSONObj size … is
 * invalid") and the driver's read failed.
 */
describe('embedded store: batches cut at 16 MiB of reply, array keys included', function () {
  this.timeout(300_000);
  const target = useTarget('batchbytes');

  async function readThroughRelay(coll: string, batchSize: number): Promise<{ count: number; first: unknown; last: unknown; replies: number[] }> {
    const relay = await measuringRelay(target().uri);
    const u = new URL(target().uri);
    u.host = `127.0.0.1:${relay.port}`;
    const client = await MongoClient.connect(u.toString(), { directConnection: true, serverSelectionTimeoutMS: 5000 });
    try {
      let count = 0;
      let first: unknown;
      let last: unknown;
      for await (const d of client.db(target().dbName).collection<{ _id: number }>(coll).find({}, { batchSize }).sort({ _id: 1 })) {
        if (count === 0) first = d._id;
        last = d._id;
        count++;
      }
      return { count, first, last, replies: [...relay.replies] };
    } finally {
      await client.close();
      await relay.close();
    }
  }

  it('when 17,000 documents of 1 KiB are read in one large batch, then every reply is at most 16 MiB and all of them arrive', async function () {
    if (target().kind !== 'embedded') this.skip();
    const c = target().db.collection<{ _id: number; s: string }>('kib');
    const s = 'x'.repeat(1000);
    for (let base = 0; base < 17_000; base += 1000) await c.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: base + i, s })));
    const r = await readThroughRelay('kib', 1_000_000);
    expect([r.count, r.first, r.last]).to.deep.equal([17_000, 0, 16_999]);
    const big = r.replies.filter((n) => n > 100_000);
    expect(big.length, 'two batches (17.4 MB): the first cut at 16 MiB').to.equal(2);
    expect(Math.max(...r.replies) - OP_MSG_FRAME).to.be.at.most(MAX_REPLY_BSON);
    // the cut is tight: one more document (1,018 bytes of BSON plus its 7-byte array entry) would have passed 16 MiB
    expect(big[0] - OP_MSG_FRAME).to.be.above(MAX_REPLY_BSON - 1025);
  });

  it('when many small documents whose array entries tip the reply over 16 MiB are read in one batch, then the read reaches the end and every reply is at most 16 MiB', async function () {
    if (target().kind !== 'embedded') this.skip();
    const c = target().db.collection<{ _id: number; s: string }>('small');
    // 100-byte documents (22 bytes of frame and _id + a 78-character string): 160,000 of them are 16.0 MB of
    // documents — under 16 MiB — but 17.3 MB with their 8-byte array entries ("123456", type, NUL): a cut that
    // counts the documents alone answers one reply the driver refuses
    const N = 160_000;
    const s = 'x'.repeat(78);
    for (let base = 0; base < N; base += 20_000) await c.insertMany(Array.from({ length: 20_000 }, (_, i) => ({ _id: base + i, s })), { ordered: false });
    const r = await readThroughRelay('small', 10_000_000);
    expect([r.count, r.first, r.last]).to.deep.equal([N, 0, N - 1]);
    const big = r.replies.filter((n) => n > 100_000);
    expect(big.length, '17.3 MB of replies, in two (16 MiB, then ~0.5 MB)').to.equal(2);
    for (const n of r.replies) expect(n - OP_MSG_FRAME).to.be.at.most(MAX_REPLY_BSON);
  });
});
