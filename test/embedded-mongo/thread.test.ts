import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import { DataDirLockedError } from '../../server/src/embedded-mongo';
import { startEmbeddedMongoThread } from '../../server/src/embedded-mongo/thread';

describe('embedded store in a worker thread', function () {
  this.timeout(20_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-thread-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('when data is written, the thread closed and a new one started on the same directory, then the data is there', async () => {
    const a = await startEmbeddedMongoThread({ dbPath: dir });
    const c1 = await new MongoClient(a.uri('t')).connect();
    await c1.db('t').collection('x').insertMany([{ _id: 1, v: 'a' } as never, { _id: 2, v: 'b' } as never]);
    await c1.close();
    await a.close();
    const b = await startEmbeddedMongoThread({ dbPath: dir });
    const c2 = await new MongoClient(b.uri('t')).connect();
    expect(await c2.db('t').collection('x').countDocuments({})).to.equal(2);
    await c2.close();
    await b.close();
  });

  it('when the directory is in use by a running store, then a second thread refuses with DataDirLockedError', async () => {
    const a = await startEmbeddedMongoThread({ dbPath: dir });
    try {
      let err: unknown;
      await startEmbeddedMongoThread({ dbPath: dir }).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(DataDirLockedError);
      expect((err as Error).message).to.contain(dir);
    } finally {
      await a.close();
    }
  });

  it('when the store logs, then the lines reach the parent', async () => {
    const lines: string[] = [];
    const a = await startEmbeddedMongoThread({ dbPath: dir, log: (_level, msg) => lines.push(msg) });
    await a.close();
    expect(lines).to.include('embedded store listening');
  });
});
