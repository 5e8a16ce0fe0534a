import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../server/src/embedded-mongo';
import { createLogger } from '../../server/src/lib/logger';
import type { Transition } from '../../server/src/monitoring/events';
import { createMonitoringMetrics } from '../../server/src/monitoring/metrics';
import { MonitoringStore } from '../../server/src/monitoring/persistence';
import type { HistoryDelta } from '../../server/src/monitoring/history-store';
import { Calendar } from '../../server/src/lib/calendar';
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
    const store = new MonitoringStore(conn, { transitionBufferMax: 100, transitionsRetentionDays: 1, calendar: new Calendar('Asia/Shanghai') }, metrics, createLogger('silent'));
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
    const store = new MonitoringStore(conn, { transitionBufferMax: 100, transitionsRetentionDays: 1, calendar: new Calendar('Asia/Shanghai') }, metrics, createLogger('silent'));
    for (let i = 1; i <= 105; i++) store.addTransition(t('b', i));
    expect(store.bufferedTransitions).to.equal(100);
    expect((await metrics.transitionsDropped.get()).values[0].value).to.equal(5);
  });

  it('when history slots of one hour are added in pieces, then one day document and one month document sum them', async () => {
    const metrics = createMonitoringMetrics(zero);
    const store = new MonitoringStore(conn, { transitionBufferMax: 100, transitionsRetentionDays: 1, calendar: new Calendar('Asia/Shanghai') }, metrics, createLogger('silent'));
    // 26 Nov 2026, 18:00 in Shanghai = hour slot 18 of day 20261126
    const piece = (u: number, d: number, failures: number): HistoryDelta => ({ cameraId: 'c', day: 20261126, dom: 26, hour: 18, s: -1, sec: [u, d, 0, 0, 0, 0], p: 0, k: 1, f: failures });
    store.history.merge(piece(30, 0, 0));
    store.history.merge(piece(0, 20, 1));
    await store.flush({ all: true });
    store.history.merge(piece(10, 0, 0));
    await store.flush({ all: true });
    const days = await store.history.days.find({}).toArray();
    expect(days).to.deep.equal([{ _id: '20261126:c', u: 40, d: 20, k: 3, f: 1, h: { u: { '18': 40 }, d: { '18': 20 }, k: { '18': 3 }, f: { '18': 1 } } }]);
    const months = await store.history.months.find({}).toArray();
    expect(months).to.deep.equal([{ _id: '202611:c', u: { '26': 40 }, d: { '26': 20 } }]);
  });

  it('when the store refuses some history writes of a command, then the flush fails, they stay buffered and a later flush writes them', async () => {
    const metrics = createMonitoringMetrics(zero);
    const store = new MonitoringStore(conn, { transitionBufferMax: 100, transitionsRetentionDays: 1, calendar: new Calendar('Asia/Shanghai') }, metrics, createLogger('silent'));
    // a day document whose `u` is not a number: the $inc of its slot is a write error of that statement only
    await store.history.days.insertOne({ _id: '20261127:bad', u: 'x' as unknown as number });
    const slot = (cameraId: string): HistoryDelta => ({ cameraId, day: 20261127, dom: 27, hour: 3, s: -1, sec: [60, 0, 0, 0, 0, 0], p: 0, k: 1, f: 0 });
    store.history.merge(slot('good'));
    store.history.merge(slot('bad'));
    let failed: unknown = null;
    await store.flush().catch((err: unknown) => (failed = err));
    expect(failed, 'the flush reports the refused write').to.be.instanceOf(Error);
    expect(store.bufferedRollups, 'the refused command is buffered again').to.equal(2);
    expect((await metrics.flushFailures.get()).values.find((v) => v.labels.what === 'history-days')?.value).to.equal(1);
    await store.history.days.deleteOne({ _id: '20261127:bad' });
    await store.flush({ all: true });
    expect(store.bufferedRollups).to.equal(0);
    const bad = await store.history.days.findOne({ _id: '20261127:bad' });
    expect(bad?.u).to.equal(60);
    // the good slot was applied by the failed command and again by the retry: history tolerates that (an $inc)
    expect((await store.history.months.find({ _id: { $in: ['202611:good', '202611:bad'] } }).toArray()).map((d) => d.u)).to.deep.equal([{ '27': 60 }, { '27': 60 }]);
  });

  it('when more writes are buffered than one flush may carry, then periodic flushes write them in slices and { all } drains the rest', async () => {
    const metrics = createMonitoringMetrics(zero);
    const store = new MonitoringStore(conn, { transitionBufferMax: 10_000, transitionsRetentionDays: 1, calendar: new Calendar('Asia/Shanghai'), maxOpsPerFlush: 100 }, metrics, createLogger('silent'));
    for (let i = 0; i < 250; i++) {
      store.addTransition(t(`s${i}`, 1));
      store.setStatus(`s${i}`, { state: 'UP', since: new Date(), lastCheckAt: null, rttMs: null, flapping: false, reason: null });
      store.history.merge({ cameraId: `s${i}`, day: 20261126, dom: 26, hour: 19, s: -1, sec: [1, 0, 0, 0, 0, 0], p: 0, k: 1, f: 0 });
    }
    await store.flush();
    expect([store.bufferedTransitions, store.bufferedStatus, store.bufferedRollups]).to.deep.equal([150, 150, 150]);
    expect(await store.transitions.countDocuments({ _id: /^s/ })).to.equal(100);
    expect(await store.history.days.countDocuments({ _id: /^20261126:s/ })).to.equal(100);
    expect(await store.history.months.countDocuments({ _id: /^202611:s/ })).to.equal(100);
    await store.flush({ all: true });
    expect([store.bufferedTransitions, store.bufferedStatus, store.bufferedRollups]).to.deep.equal([0, 0, 0]);
    expect(await store.transitions.countDocuments({ _id: /^s/ })).to.equal(250);
    expect(await store.history.days.countDocuments({ _id: /^20261126:s/ })).to.equal(250);
    expect(await store.history.months.countDocuments({ _id: /^202611:s/ })).to.equal(250);
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
    // history counts whole seconds: let at least one pass since the points were loaded
    await new Promise((r) => setTimeout(r, 1100));
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
    const rows = await m.store.history.days.find({ _id: /:sp\d+$/ }).toArray();
    expect(rows).to.have.length(250);
    // restored UP 30 s ago: the seconds since the point was loaded count as UP, no check was made
    expect(rows.every((r) => r.k === undefined && r.d === undefined && (r.u ?? 0) >= 0)).to.equal(true);
  });
});
