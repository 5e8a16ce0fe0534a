import { expect } from 'chai';
import { Long, MongoClient, UUID } from 'mongodb';
import { realMongo, serverError, useTarget } from './target';

describe('embedded-mongo conformance: handshake and admin commands', () => {
  const t = useTarget('admin');

  describe('hello / isMaster', () => {
    it('when a client says hello, then it is told this is a writable standalone primary', async () => {
      const reply = await t().db.command({ hello: 1 });
      expect(reply.ok).to.equal(1);
      expect(reply.isWritablePrimary).to.equal(true);
      expect(reply.msg).to.equal(undefined); // "isdbgrid" would mean mongos
      if (!realMongo) expect(reply.setName, 'not a replica set member').to.equal(undefined);
      expect(reply.readOnly).to.equal(false);
      expect(reply.localTime).to.be.instanceOf(Date);
      expect(reply.logicalSessionTimeoutMinutes).to.be.a('number');
      expect(reply.connectionId).to.be.a('number');
    });

    it('when hello is answered, then the wire versions are those of MongoDB 7.0 and the size limits are the documented ones', async () => {
      const reply = await t().db.command({ hello: 1 });
      expect(reply.minWireVersion).to.equal(0);
      if (realMongo) expect(reply.maxWireVersion).to.be.at.least(21);
      else expect(reply.maxWireVersion).to.equal(21);
      expect(reply.maxBsonObjectSize).to.equal(16 * 1024 * 1024);
      expect(reply.maxMessageSizeBytes).to.equal(48_000_000);
      expect(reply.maxWriteBatchSize).to.equal(100_000);
    });

    it('when hello does not ask for compression, then the reply advertises none', async () => {
      const reply = await t().db.command({ hello: 1 });
      expect(reply).not.to.have.property('compression');
    });

    it('when the legacy isMaster is sent, then it answers ismaster: true', async () => {
      const reply = await t().db.admin().command({ isMaster: 1 });
      expect(reply.ok).to.equal(1);
      expect(reply.ismaster).to.equal(true);
      expect(reply.maxWireVersion).to.be.at.least(21);
    });

    it('when a client offers zlib compression, then the connection still works end to end', async () => {
      const c = await t().newClient({ compressors: ['zlib'] });
      const coll = c.db(t().dbName).collection('compressed');
      await coll.insertOne({ text: 'x'.repeat(10_000) });
      const doc = await coll.findOne({});
      expect(doc?.text).to.have.length(10_000);
    });
  });

  it('when ping is sent, then it answers ok: 1', async () => {
    const reply = await t().db.admin().command({ ping: 1 });
    expect(reply).to.deep.include({ ok: 1 });
  });

  it('when buildInfo is asked, then it reports a 7.x version string and a four-part versionArray', async () => {
    const reply = await t().db.admin().command({ buildInfo: 1 });
    expect(reply.ok).to.equal(1);
    expect(reply.version).to.match(/^\d+\.\d+\.\d+/);
    if (!realMongo) expect(reply.version).to.match(/^7\./);
    expect(reply.versionArray).to.be.an('array').with.length(4);
    expect(reply.versionArray[0]).to.be.at.least(7);
    expect(reply.maxBsonObjectSize).to.equal(16 * 1024 * 1024);
  });

  it('when hostInfo is asked, then it reports the system and os sections', async () => {
    const reply = await t().db.admin().command({ hostInfo: 1 });
    expect(reply.ok).to.equal(1);
    expect(reply.system.hostname).to.be.a('string').and.not.empty;
    expect(reply.system.numCores).to.be.a('number').and.be.at.least(1);
    expect(reply.system.memSizeMB).to.be.a('number');
    expect(reply.system.currentTime).to.be.instanceOf(Date);
    expect(reply.os.type).to.be.a('string');
  });

  it('when listDatabases is asked after a write, then the written database is listed with its size fields', async () => {
    await t().db.collection('ld').insertOne({ a: 1 });
    const reply = await t().db.admin().command({ listDatabases: 1 });
    expect(reply.ok).to.equal(1);
    const mine = (reply.databases as { name: string; sizeOnDisk: number; empty: boolean }[]).find((d) => d.name === t().dbName);
    expect(mine, 'own database listed').to.not.equal(undefined);
    expect(mine?.sizeOnDisk).to.be.a('number');
    expect(mine?.empty).to.equal(false);
    expect(reply.totalSize).to.be.a('number');
  });

  it('when listDatabases is asked with nameOnly and a filter, then only matching names come back', async () => {
    await t().db.collection('ld').insertOne({ a: 2 });
    const reply = await t().db.admin().command({ listDatabases: 1, nameOnly: true, filter: { name: t().dbName } });
    expect(reply.databases).to.deep.equal([{ name: t().dbName }]);
  });

  it('when endSessions is sent with a session id, then it answers ok: 1', async () => {
    const session = t().client.startSession();
    await t().db.collection('sess').insertOne({ a: 1 }, { session });
    const id = session.id;
    await session.endSession();
    const reply = await t().db.admin().command({ endSessions: [id] });
    expect(reply.ok).to.equal(1);
  });

  it('when an explicit session is used for reads and writes, then lsid is accepted and the data is there', async () => {
    const session = t().client.startSession();
    try {
      await t().db.collection('sess').insertOne({ tag: 'lsid' }, { session });
      const found = await t().db.collection('sess').findOne({ tag: 'lsid' }, { session });
      expect(found?.tag).to.equal('lsid');
    } finally {
      await session.endSession();
    }
  });

  describe('errors a standalone mongod gives', () => {
    it('when an unknown command is sent, then it fails with 59 CommandNotFound', async () => {
      const err = await serverError(() => t().db.command({ noSuchCommandEver: 1 }));
      expect(err.code).to.equal(59);
      expect(err.codeName).to.equal('CommandNotFound');
    });

    it('when a transaction is started, then the first operation fails with 20 IllegalOperation', async () => {
      const session = t().client.startSession();
      try {
        session.startTransaction();
        const err = await serverError(() => t().db.collection('txn').insertOne({ a: 1 }, { session }));
        // the driver rewraps this one server error (its retryable-writes advice) and keeps the original
        const original = (err as unknown as { originalError?: { code?: number; message?: string } }).originalError;
        expect(original?.code ?? err.code).to.equal(20);
        expect(original?.message ?? err.message).to.match(/Transaction numbers are only allowed on a replica set member or mongos/);
      } finally {
        await session.abortTransaction().catch(() => undefined);
        await session.endSession();
      }
      expect(await t().db.collection('txn').countDocuments({}), 'nothing written').to.equal(0);
    });

    it('when a raw command carries txnNumber, then it fails with 20 IllegalOperation and writes nothing', async () => {
      const lsid = { id: new UUID() };
      const err = await serverError(() =>
        t().db.command({ insert: 'txnraw', documents: [{ a: 1 }], lsid, txnNumber: Long.fromNumber(1), autocommit: false, startTransaction: true }),
      );
      expect(err.code).to.equal(20);
      expect(await t().db.collection('txnraw').countDocuments({})).to.equal(0);
    });

    it('when a change stream is opened, then it fails with 40573', async () => {
      const stream = t().db.collection('cs').watch();
      try {
        const err = await serverError(() => stream.tryNext());
        expect(err.code).to.equal(40573);
      } finally {
        await stream.close();
      }
    });

    it('when $changeStream is sent as a raw aggregate, then it fails with 40573', async () => {
      const err = await serverError(() => t().db.command({ aggregate: 'cs', pipeline: [{ $changeStream: {} }], cursor: {} }));
      expect(err.code).to.equal(40573);
    });
  });

  describe('collections', () => {
    it('when create is sent, then listCollections shows the collection with type collection and the _id index', async () => {
      await t().db.createCollection('created1');
      const infos = await t().db.listCollections({ name: 'created1' }).toArray();
      expect(infos).to.have.length(1);
      expect(infos[0].name).to.equal('created1');
      expect(infos[0].type).to.equal('collection');
      const idx = await t().db.collection('created1').listIndexes().toArray();
      expect(idx.map((i): unknown => i.name)).to.deep.equal(['_id_']);
    });

    it('when create is repeated with identical options, then it succeeds (idempotent since 7.0)', async () => {
      await t().db.command({ create: 'created2' });
      const reply = await t().db.command({ create: 'created2' });
      expect(reply.ok).to.equal(1);
    });

    it('when create names an existing collection with different options, then it fails with 48 NamespaceExists', async () => {
      await t().db.command({ create: 'created3' });
      const err = await serverError(() => t().db.command({ create: 'created3', capped: true, size: 4096 }));
      expect(err.code).to.equal(48);
      expect(err.codeName).to.equal('NamespaceExists');
    });

    it('when listCollections is asked with nameOnly, then entries carry name and type', async () => {
      await t().db.collection('lc_a').insertOne({ a: 1 });
      await t().db.collection('lc_b').insertOne({ a: 1 });
      const names = await t().db.listCollections({ name: { $regex: /^lc_/ } }, { nameOnly: true }).toArray();
      expect(names.map((c) => c.name).sort()).to.deep.equal(['lc_a', 'lc_b']);
      for (const c of names) expect(c.type).to.equal('collection');
    });

    it('when a collection is first written to, then it is created implicitly', async () => {
      await t().db.collection('implicit1').insertOne({ a: 1 });
      const infos = await t().db.listCollections({ name: 'implicit1' }).toArray();
      expect(infos).to.have.length(1);
    });

    it('when drop is sent, then the collection, its documents and its indexes are gone', async () => {
      const c = t().db.collection('todrop');
      await c.insertMany([{ a: 1 }, { a: 2 }]);
      await c.createIndex({ a: 1 });
      const dropped = await c.drop();
      expect(dropped).to.equal(true);
      expect(await t().db.listCollections({ name: 'todrop' }).toArray()).to.have.length(0);
      expect(await c.countDocuments({})).to.equal(0);
      await c.insertOne({ a: 3 });
      expect((await c.listIndexes().toArray()).map((i): unknown => i.name)).to.deep.equal(['_id_']);
    });

    it('when drop names a collection that does not exist, then it answers ok (no error since 7.0)', async () => {
      const reply = await t().db.command({ drop: 'never_existed' });
      expect(reply.ok).to.equal(1);
    });

    it('when dropDatabase is sent, then all its collections disappear and listDatabases no longer shows it', async () => {
      const other = t().client.db(`${t().dbName}_x`);
      await other.collection('a').insertOne({ a: 1 });
      await other.collection('b').insertOne({ b: 1 });
      const reply = await other.command({ dropDatabase: 1 });
      expect(reply.ok).to.equal(1);
      expect(await other.listCollections().toArray()).to.have.length(0);
      const dbs = await t().db.admin().command({ listDatabases: 1, nameOnly: true });
      expect((dbs.databases as { name: string }[]).map((d) => d.name)).not.to.include(`${t().dbName}_x`);
    });
  });

  it('when two clients connect, then each gets its own connectionId', async () => {
    const other: MongoClient = await t().newClient();
    const a = await t().db.command({ hello: 1 });
    const b = await other.db(t().dbName).command({ hello: 1 });
    expect(a.connectionId).to.not.equal(b.connectionId);
  });
});
