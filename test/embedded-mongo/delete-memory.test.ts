import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient, ObjectId } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../server/src/embedded-mongo';
import { runTs, type StartedProcess } from '../helpers/process';

/**
 * A finished import deletes its staged rows: chunks of a thousand rows as one JSON string each, about a
 * megabyte apiece, a gigabyte for a million-row file. The store decoded every matched document whole
 * before removing it and held them all until the command committed, so `finish` of a 1,000,000-row import
 * took the standalone store past its heap limit and it died (the app saw ECONNRESET). A delete reads only
 * the indexed fields.
 */

/** A staged chunk like transfer/service.ts writes: `rows` rows of a point's input, as JSON text. */
function chunk(jobId: ObjectId, seq: number, level: number, rows: number): { jobId: ObjectId; seq: number; level: number; rowsJson: string } {
  const out = [];
  for (let i = 0; i < rows; i++) {
    out.push({
      line: seq * rows + i + 2,
      input: {
        gbCode: `2103020003132${String(seq * rows + i).padStart(7, '0')}`,
        name: `钢城社区人民路口-${i}`,
        regionId: '6b10cd0b0b530a0e6c470ac6',
        gridId: null,
        address: `辽宁省鞍山市铁东区人民路${i % 300}号`,
        location: { lon: 122.96 + i / 1e5, lat: 41.08 + i / 1e5 },
        endpoint: { host: `10.0.${(i >> 8) & 255}.${i & 255 || 1}`, rtspPort: 554, rtspPath: null, httpPort: null, onvifPort: null },
        probe: { kind: 'tcp', intervalSec: 60, timeoutMs: 3000, retries: 3 },
        vendor: '海康威视',
        model: 'IPC-BENCH',
        maintainer: { org: '鞍山安讯科技有限公司', contact: '王工', phone: '0412-5550101' },
        sharing: 'all',
        tags: ['bench'],
        enabled: false,
        installedAt: '2024-05-01',
      },
      upstreamGbCode: null,
      outcome: 'created',
    });
  }
  return { jobId, seq, level, rowsJson: JSON.stringify(out) };
}

describe('embedded-mongo: a delete does not decode the documents it removes', function () {
  this.timeout(120_000);

  describe('in process', () => {
    let dir: string;
    let store: EmbeddedMongo;
    let client: MongoClient;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-delete-mem-'));
      store = await startEmbeddedMongo({ dbPath: dir, host: '127.0.0.1', port: 0 });
      client = await MongoClient.connect(store.uri('t'));
    });
    after(async () => {
      await client?.close();
      await store?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('when deleteMany matches through an index (exactly, or testing another field), then no document is decoded whole and the rest stays', async () => {
      const col = client.db('t').collection('import_rows');
      await col.createIndex({ jobId: 1, seq: 1 });
      const job = new ObjectId();
      const other = new ObjectId();
      await col.insertMany([...Array.from({ length: 20 }, (_, i) => chunk(job, i, i % 2 ? -1 : 0, 50)), ...Array.from({ length: 5 }, (_, i) => chunk(other, i, 0, 50))]);
      // reads before the deletes: the documents are in the store's decoded cache only after a second read
      await col.find({ jobId: job }).toArray();
      const decoded = (): number => store.stats('t', 'import_rows')?.docsDecoded ?? NaN;
      const before = decoded();

      const waiting = await col.deleteMany({ jobId: job, level: -1 });
      const rest = await col.deleteMany({ jobId: job });

      expect(waiting.deletedCount).to.equal(10);
      expect(rest.deletedCount).to.equal(10);
      expect(decoded() - before, 'documents decoded whole by the deletes').to.equal(0);
      const left = await col.find({}).sort({ seq: 1 }).toArray();
      expect(left.map((d) => [String(d.jobId), Number(d.seq)])).to.deep.equal(Array.from({ length: 5 }, (_, i) => [String(other), i]));
      expect((JSON.parse(left[0].rowsJson as string) as unknown[]).length).to.equal(50);
      // the index no longer holds the deleted documents
      expect(await col.countDocuments({ jobId: job })).to.equal(0);
    });

    it('when a delete filter tests a field that is not indexed, then only that field is decoded and non-matching documents stay', async () => {
      const col = client.db('t').collection('plain');
      await col.insertMany(Array.from({ length: 30 }, (_, i) => ({ k: i % 3, body: 'x'.repeat(1000) })));
      const before = store.stats('t', 'plain')?.docsDecoded ?? NaN;
      const r = await col.deleteMany({ k: 1 });
      expect(r.deletedCount).to.equal(10);
      expect((store.stats('t', 'plain')?.docsDecoded ?? NaN) - before).to.equal(0);
      expect(await col.countDocuments({})).to.equal(20);
      expect(await col.countDocuments({ k: 1 })).to.equal(0);
    });
  });

  describe('the standalone store (npm run db) with a small heap', () => {
    let dir: string;
    let proc: StartedProcess | undefined;
    let client: MongoClient | undefined;
    afterEach(async () => {
      await client?.close().catch(() => undefined);
      if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
        proc.child.kill('SIGTERM');
        await proc.exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("when a job's staged chunks (several times the store's heap as text) are deleted, then the store survives and answers", async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-delete-heap-'));
      // 64 MB of heap; the chunks are ~70 MB of BSON (kept as bytes outside the heap), ~130 MB of strings decoded
      proc = runTs('server/src/embedded-mongo/cli.ts', ['--port', '0', '--dbpath', dir, '--quiet'], { NODE_OPTIONS: '--max-old-space-size=64' });
      const [uri] = await proc.waitFor(/mongodb:\/\/\S+/, 60_000);
      client = await MongoClient.connect(uri.replace(/\/$/, '') + '/t', { serverSelectionTimeoutMS: 5000 });
      const col = client.db('t').collection('import_rows');
      await col.createIndex({ jobId: 1, seq: 1 });
      const job = new ObjectId();
      for (let i = 0; i < 100; i++) await col.insertOne(chunk(job, i, 0, 1000));

      const r = await col.deleteMany({ jobId: job });

      expect(r.deletedCount).to.equal(100);
      expect((await client.db('t').command({ ping: 1 })).ok).to.equal(1);
      expect(await col.countDocuments({})).to.equal(0);
      expect(proc.child.exitCode).to.equal(null);
    });
  });
});
