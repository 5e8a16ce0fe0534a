import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../server/src/embedded-mongo';
import { createLogger } from '../../server/src/lib/logger';
import type { Transition } from '../../server/src/monitoring/events';
import { createMonitoringMetrics } from '../../server/src/monitoring/metrics';
import { MonitoringStore, type RollupDelta } from '../../server/src/monitoring/persistence';
import { MonitoringService } from '../../server/src/monitoring/service';
import { loadConfig } from '../../server/src/config';

const t = (cameraId: string, seq: number): Transition => ({
  id: `${cameraId}:${seq}`,
  cameraId,
  regionId: 'r1',
  seq,
  from: seq === 1 ? 'UNKNOWN' : 'UP',
  to: seq === 1 ? 'UP' : 'DOWN',
  at: new Date(),
  reason: null,
  rttMs: null,
  flapping: false,
  failingSince: null,
});

describe('monitoring store writes (embedded store)', function () {
  this.timeout(20_000);
  let server: EmbeddedMongo;
  let conn: mongoose.Connection;
  let dir: string;
  const zero = { inFlight: () => 0, lagMs: () => 0, pointsByState: () => ({}), flapping: () => 0, bufferedTransitions: () => 0, bufferedStatus: () => 0 };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-mstore-'));
    server = await startEmbeddedMongo({ dbPath: dir, port: 0 });
    conn = await mongoose.createConnection(server.uri('m')).asPromise();
  });
  after(async () => {
    await conn.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a retried batch holds transitions that were already written, then they are skipped and the new ones written once', async () => {
    const metrics = createMonitoringMetrics(zero);
    const store = new MonitoringStore(conn, { transitionBufferMax: 100, transitionsRetentionDays: 1, rollupsRetentionDays: 1 }, metrics, createLogger('silent'));
    await store.ensureIndexes();
    store.addTransition(t('a', 1));
    store.addTransition(t('a', 2));
    await store.flush();
    // the same two again (an ack lost in a store outage) plus a new one
    store.addTransition(t('a', 1));
    store.addTransition(t('a', 2));
    store.addTransition(t('a', 3));
    await store.flush();
    expect(store.bufferedTransitions).to.equal(0);
    const ids = (await store.transitions.find({}).toArray()).map((d) => d._id).sort();
    expect(ids).to.deep.equal(['a:1', 'a:2', 'a:3']);
    const written = (await metrics.transitionsWritten.get()).values[0].value;
    expect(written).to.equal(3);
  });

  it('when the buffer overflows, then the oldest are dropped and counted', async () => {
    const metrics = createMonitoringMetrics(zero);
    const store = new MonitoringStore(conn, { transitionBufferMax: 100, transitionsRetentionDays: 1, rollupsRetentionDays: 1 }, metrics, createLogger('silent'));
    for (let i = 1; i <= 105; i++) store.addTransition(t('b', i));
    expect(store.bufferedTransitions).to.equal(100);
    expect((await metrics.transitionsDropped.get()).values[0].value).to.equal(5);
  });

  it('when rollups of one hour are added in pieces, then one upsert per point-hour sums them', async () => {
    const metrics = createMonitoringMetrics(zero);
    const store = new MonitoringStore(conn, { transitionBufferMax: 100, transitionsRetentionDays: 1, rollupsRetentionDays: 1 }, metrics, createLogger('silent'));
    const hour = Date.UTC(2026, 10, 26, 10);
    const piece = (upSec: number, downSec: number, failures: number): RollupDelta => ({ cameraId: 'c', regionId: 'r1', hour, upSec, downSec, maintenanceSec: 0, unknownSec: 0, checks: 1, failures });
    store.mergeRollup(piece(30, 0, 0));
    store.mergeRollup(piece(0, 20, 1));
    await store.flush({ all: true });
    store.mergeRollup(piece(10, 0, 0));
    await store.flush({ all: true });
    const rows = await store.rollupCol.find({}).toArray();
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ _id: `c:${hour}`, upSec: 40, downSec: 20, checks: 3, failures: 1 });
    expect(rows[0].hour).to.be.instanceOf(Date);
  });

  it('when more writes are buffered than one flush may carry, then periodic flushes write them in slices and { all } drains the rest', async () => {
    const metrics = createMonitoringMetrics(zero);
    const store = new MonitoringStore(conn, { transitionBufferMax: 10_000, transitionsRetentionDays: 1, rollupsRetentionDays: 1, maxOpsPerFlush: 100 }, metrics, createLogger('silent'));
    const hour = Date.UTC(2026, 10, 26, 11);
    for (let i = 0; i < 250; i++) {
      store.addTransition(t(`s${i}`, 1));
      store.setStatus(`s${i}`, { state: 'UP', since: new Date(), lastCheckAt: null, rttMs: null, flapping: false, reason: null });
      store.mergeRollup({ cameraId: `s${i}`, regionId: 'r1', hour, upSec: 1, downSec: 0, maintenanceSec: 0, unknownSec: 0, checks: 1, failures: 0 });
    }
    await store.flush();
    expect([store.bufferedTransitions, store.bufferedStatus, store.bufferedRollups]).to.deep.equal([150, 150, 150]);
    expect(await store.transitions.countDocuments({ _id: /^s/ })).to.equal(100);
    expect(await store.rollupCol.countDocuments({ hour: new Date(hour) })).to.equal(100);
    await store.flush({ all: true });
    expect([store.bufferedTransitions, store.bufferedStatus, store.bufferedRollups]).to.deep.equal([0, 0, 0]);
    expect(await store.transitions.countDocuments({ _id: /^s/ })).to.equal(250);
    expect(await store.rollupCol.countDocuments({ hour: new Date(hour) })).to.equal(250);
  });

  it('when a rollup pass runs over 250 points with 100 writes per flush, then it waits for each flush (no growing buffer) and writes every point once', async () => {
    const config = loadConfig({}, { NODE_ENV: 'test', MONITOR_ENABLED: 'true', MONITOR_FLUSH_MAX_OPS: '100' });
    const m = new MonitoringService({ config, logger: createLogger('silent'), conn });
    const since = new Date(Date.now() - 30_000);
    for (let i = 0; i < 250; i++) {
      m.upsertPoint(
        { id: `sp${i}`, regionId: 'r', enabled: true, endpoint: { host: '127.0.0.1', rtspPort: 554 }, probe: { kind: 'tcp', intervalSec: 60, timeoutMs: 1000, retries: 3 } },
        { state: 'UP', confirmed: 'UP', since, lastCheckAt: null, rttMs: null, flapping: false, reason: null, seq: 1 },
      );
    }
    m.startSpillPass();
    m.spillSlice();
    expect(m.store.bufferedRollups).to.equal(100);
    // the store has not taken the first slice yet: the pass waits instead of buffering more
    m.spillSlice();
    expect(m.store.bufferedRollups).to.equal(100);
    let flushes = 0;
    while (m.spilling || m.store.bufferedRollups > 0) {
      await m.store.flush();
      flushes++;
      m.spillSlice();
      expect(m.store.bufferedRollups).to.be.at.most(100);
    }
    expect(flushes).to.equal(3);
    const rows = await m.store.rollupCol.find({ cameraId: /^sp/ }).toArray();
    expect(rows).to.have.length(250);
    expect(rows.every((r) => r.regionId === "r" && r.checks === 0 && r.upSec >= 0)).to.equal(true);
  });
});
