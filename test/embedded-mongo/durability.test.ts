import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '../../server/src/embedded-mongo';
import { realMongo, sleep } from './target';

const CHILD = path.join(__dirname, 'fixtures', 'child-store.ts');

interface Child {
  proc: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts the store in a child process through tsx; resolves once it prints its port. */
function spawnStore(dbPath: string): { started: Promise<Child>; exited: Child['exited']; proc: ChildProcess } {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, dbPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  const started = new Promise<Child>((resolve, reject) => {
    let out = '';
    proc.stdout?.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]), exited });
    });
    void exited.then((e) => reject(new Error(`store child exited before listening (code ${e.code}): ${e.stderr}`)));
  });
  return { started, exited, proc };
}

describe('embedded-mongo conformance: durability and locking (child process)', function () {
  this.timeout(40_000);
  let dbPath: string;
  const children: ChildProcess[] = [];

  before(function () {
    if (realMongo) this.skip(); // about the embedded store's own files; a real mongod is not ours to kill
  });
  beforeEach(() => {
    dbPath = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-dur-'));
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    fs.rmSync(dbPath, { recursive: true, force: true });
  });

  it('when the store is killed with SIGKILL mid-write, then after a restart every acknowledged insert and update is there', async () => {
    const { started, proc } = spawnStore(dbPath);
    children.push(proc);
    const child = await started;
    const client = await MongoClient.connect(`mongodb://127.0.0.1:${child.port}/dur`, { serverSelectionTimeoutMS: 2000, retryWrites: false, maxPoolSize: 8 });
    const coll = client.db('dur').collection<{ _id: string; w: number; i: number; pad?: string }>('acked');
    const counter = client.db('dur').collection<{ _id: string; n: number }>('counter');
    await counter.insertOne({ _id: 'c', n: 0 });
    await coll.createIndex({ w: 1, i: 1 }, { unique: true });

    const acked: string[] = [];
    let ackedIncs = 0;
    let attemptedIncs = 0;
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          if (i % 5 === 4) {
            const batch = Array.from({ length: 20 }, (_, j) => ({ _id: `${w}-${i}-${j}`, w, i: i * 100 + j, pad: 'x'.repeat(200) }));
            await coll.insertMany(batch);
            for (const d of batch) acked.push(d._id);
          } else {
            await coll.insertOne({ _id: `${w}-${i}`, w, i: i * 100 + 99 });
            acked.push(`${w}-${i}`);
          }
          attemptedIncs++;
          await counter.updateOne({ _id: 'c' }, { $inc: { n: 1 } });
          ackedIncs++;
        } catch {
          return; // the store died: nothing after this point was acknowledged
        }
      }
    };
    const writers = [0, 1, 2, 3].map((w) => writer(w));
    // let writes flow, then kill at a random moment
    while (acked.length < 200) await sleep(10);
    await sleep(100 + Math.floor(Math.random() * 400));
    child.proc.kill('SIGKILL');
    const exit = await child.exited;
    stop = true;
    await Promise.all(writers);
    await client.close(true).catch(() => undefined);
    expect(exit.signal).to.equal('SIGKILL');
    expect(acked.length).to.be.greaterThan(200);

    // restart on the same dbPath: the dead process's lock must not block it
    const store = await startEmbeddedMongo({ dbPath, host: '127.0.0.1', port: 0 });
    const c2 = await MongoClient.connect(store.uri('dur'), { serverSelectionTimeoutMS: 2000 });
    try {
      const ids = new Set((await c2.db('dur').collection('acked').find({}, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)));
      const lost = acked.filter((id) => !ids.has(id));
      expect(lost, `lost ${lost.length} of ${acked.length} acknowledged inserts`).to.deep.equal([]);
      const n = (await c2.db('dur').collection('counter').findOne({ _id: 'c' as unknown as never }))?.n as number;
      expect(n).to.be.within(ackedIncs, attemptedIncs);
      const idx = await c2.db('dur').collection('acked').listIndexes().toArray();
      expect(idx.map((i): unknown => i.name)).to.include('w_1_i_1');
    } finally {
      await c2.close();
      await store.close();
    }
  });

  it('when acknowledged deletes, updates, index changes and a drop precede a SIGKILL, then they are all still applied after restart', async () => {
    const { started, proc } = spawnStore(dbPath);
    children.push(proc);
    const child = await started;
    const client = await MongoClient.connect(`mongodb://127.0.0.1:${child.port}/dur2`, { serverSelectionTimeoutMS: 2000 });
    const db = client.db('dur2');
    const c = db.collection<{ _id: number; v: number; s?: string }>('c');
    await c.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: i, v: i })));
    await c.createIndex({ v: 1 }, { unique: true });
    await c.createIndex({ s: 1 });
    await c.deleteMany({ _id: { $lt: 30 } });
    await c.updateMany({ _id: { $gte: 90 } }, { $set: { s: 'late' } });
    await c.dropIndex('s_1');
    await db.collection('gone').insertOne({ a: 1 });
    await db.collection('gone').drop();
    child.proc.kill('SIGKILL');
    await child.exited;
    await client.close(true).catch(() => undefined);

    const store = await startEmbeddedMongo({ dbPath, host: '127.0.0.1', port: 0 });
    const c2 = await MongoClient.connect(store.uri('dur2'), { serverSelectionTimeoutMS: 2000 });
    try {
      const d = c2.db('dur2');
      expect(await d.collection('c').countDocuments({})).to.equal(70);
      expect(await d.collection<{ _id: number }>('c').countDocuments({ _id: { $lt: 30 } })).to.equal(0);
      expect(await d.collection('c').countDocuments({ s: 'late' })).to.equal(10);
      expect((await d.collection('c').listIndexes().toArray()).map((i): unknown => i.name).sort()).to.deep.equal(['_id_', 'v_1']);
      expect(await d.listCollections({ name: 'gone' }).toArray()).to.have.length(0);
      const err = await d.collection('c').insertOne({ _id: 1000, v: 50 } as never).catch((e: unknown) => e);
      expect((err as { code?: number }).code, 'unique index still enforced after restart').to.equal(11000);
    } finally {
      await c2.close();
      await store.close();
    }
  });

  it('when a second store is started on a dbPath in use by another process, then it is refused with a clear error', async () => {
    const { started, proc } = spawnStore(dbPath);
    children.push(proc);
    await started;
    let err: unknown;
    try {
      const second = await startEmbeddedMongo({ dbPath, host: '127.0.0.1', port: 0 });
      await second.close();
    } catch (e) {
      err = e;
    }
    expect(err, 'second store must be refused').to.be.instanceOf(Error);
    expect((err as Error).message).to.match(/lock|in use|already/i);
    expect((err as Error).message).to.include(dbPath);
  });

  it('when a second store process is started on a dbPath in use in this process, then it exits non-zero naming the lock', async () => {
    const store = await startEmbeddedMongo({ dbPath, host: '127.0.0.1', port: 0 });
    try {
      const { exited, proc } = spawnStore(dbPath);
      children.push(proc);
      const e = await exited;
      expect(e.code).to.not.equal(0);
      expect(e.stderr).to.match(/lock|in use|already/i);
    } finally {
      await store.close();
    }
  });

  it('when the store is closed cleanly, then a new store opens the same dbPath and sees the data', async () => {
    const a = await startEmbeddedMongo({ dbPath, host: '127.0.0.1', port: 0 });
    const c1 = await MongoClient.connect(a.uri('clean'));
    await c1.db('clean').collection('x').insertMany([{ _id: 1 }, { _id: 2 }] as never[]);
    await c1.db('clean').collection('x').createIndex({ k: 1 }, { unique: true, sparse: true });
    await c1.close();
    await a.close();
    const b = await startEmbeddedMongo({ dbPath, host: '127.0.0.1', port: 0 });
    const c2 = await MongoClient.connect(b.uri('clean'));
    try {
      expect(await c2.db('clean').collection('x').countDocuments({})).to.equal(2);
      const idx = await c2.db('clean').collection('x').listIndexes().toArray();
      expect(idx.find((i) => i.name === 'k_1')).to.deep.include({ unique: true, sparse: true });
    } finally {
      await c2.close();
      await b.close();
    }
  });
});
