import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ObjectId, type Db } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../server/src/embedded-mongo';
import { monitoringOf, type Transition } from '../../server/src/monitoring';
import { simAddress, startSimulator, type RunningSimulator } from '../../server/src/demo/sim/simulator';
import { bootApp, type TestApp } from '../helpers/app';
import { assertChain, cameraDoc, seedDistrict, waitFor } from '../fixtures/polling';

/**
 * The issue asks for a 60 s store outage; the test uses a shorter one so the suite stays quick
 * (VIGIL_TEST_STORE_OUTAGE_MS, default 12000 ms; run it with 60000 for the full check). 12 s is longer
 * than the driver's 10 s server selection timeout, so flushes really fail and are retried (a shorter
 * outage only delays the first flush). Nothing else depends on the length: writes stay buffered until
 * a flush succeeds.
 */
const OUTAGE_MS = Number(process.env.VIGIL_TEST_STORE_OUTAGE_MS ?? 12_000);

describe('polling while the store is unreachable', function () {
  this.timeout(60_000 + 2 * OUTAGE_MS);
  let sim: RunningSimulator;
  let store: EmbeddedMongo | undefined;
  let app: TestApp;
  let dbPath: string;
  let port: number;
  const addr = (i: number): string => simAddress(30_000 + i);
  const ids: string[] = [];
  const feed: Transition[] = [];

  before(async () => {
    dbPath = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-outage-'));
    store = await startEmbeddedMongo({ dbPath, port: 0 });
    port = store.port;
    sim = await startSimulator({ cameras: Array.from({ length: 10 }, (_, i) => ({ addr: addr(i) })) });
    app = await bootApp({
      AUTH_MODE: 'open',
      MONGODB_URI: store.uri('vigil_outage'),
      MONITOR_ENABLED: 'true',
      MONITOR_INTERVAL_OVERRIDE_MS: '200',
      MONITOR_RETRY_INTERVAL_MS: '100',
      MONITOR_FLUSH_MS: '100',
    });
    const db = app.ctx.store.conn.db as unknown as Db;
    await seedDistrict(db);
    for (let i = 0; i < 10; i++) {
      const id = new ObjectId().toHexString();
      ids.push(id);
      await db.collection('cameras').insertOne(cameraDoc({ id, host: addr(i), kind: 'tcp', rtspPort: sim.rtspPort, httpPort: sim.httpPort }));
    }
    monitoringOf(app.ctx).feed.subscribe((t) => feed.push(t));
    await monitoringOf(app.ctx).resync();
  });
  after(async () => {
    await app?.close();
    await store?.close();
    await sim?.stop();
    fs.rmSync(dbPath, { recursive: true, force: true });
  });

  it(`when the store is down for ${OUTAGE_MS} ms while cameras change state, then polling goes on and no transition is lost`, async () => {
    const m = monitoringOf(app.ctx);
    await waitFor('all UP', () => ids.every((id) => m.status(id)?.state === 'UP'), 10_000);
    await waitFor('flushed', async () => (await m.flush()) && m.store.bufferedTransitions === 0);

    await store?.close();
    store = undefined;
    const outageStart = Date.now();
    for (let i = 0; i < 5; i++) sim.setCameraFault(addr(i), { mode: 'down' });
    await waitFor('5 DOWN', () => ids.slice(0, 5).every((id) => m.status(id)?.state === 'DOWN'), 5000);
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS / 2 - (Date.now() - outageStart))));
    for (let i = 0; i < 3; i++) sim.setCameraFault(addr(i), { mode: 'up' });
    await waitFor('3 UP again', () => ids.slice(0, 3).every((id) => m.status(id)?.state === 'UP'), 5000);
    const buffered = m.store.bufferedTransitions;
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - outageStart))));
    expect(buffered, 'transitions buffered during the outage').to.equal(8);
    expect(metrics).to.match(/vigil_transitions_buffered 8/);

    store = await startEmbeddedMongo({ dbPath, port });
    await waitFor('buffer drained', () => m.store.bufferedTransitions === 0 && m.store.bufferedStatus === 0, 30_000, 100);

    const db = app.ctx.store.conn.db as unknown as Db;
    const stored = await db.collection('transitions').find({}).toArray();
    const storedIds = stored.map((t) => String(t._id)).sort();
    expect(storedIds).to.deep.equal(feed.map((t) => t.id).sort());
    expect(new Set(storedIds).size).to.equal(storedIds.length);
    for (const id of ids) expect(assertChain(stored.filter((t) => String(t.cameraId) === id)), id).to.equal(null);
    const down = await db.collection('cameras').findOne({ _id: new ObjectId(ids[4]) });
    expect(down?.status?.state).to.equal('DOWN');
    expect(await (await fetch(`${app.baseUrl}/metrics`)).text()).to.match(/vigil_transitions_dropped_total 0/);
  });
});
