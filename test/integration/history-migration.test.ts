import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { startEmbeddedMongo } from '../../server/src/embedded-mongo';
import { Calendar } from '../../server/src/lib/calendar';
import { createLogger } from '../../server/src/lib/logger';
import { migrateRollups } from '../../server/src/monitoring/history-migration';
import type { HistoryStore } from '../../server/src/monitoring/history-store';
import { HistoryRead } from '../../server/src/monitoring/history-read';
import { createMonitoringMetrics } from '../../server/src/monitoring/metrics';
import { MonitoringStore } from '../../server/src/monitoring/persistence';
import { pointRates, timeRate } from '../../server/src/reports/online-rate';
import { ObjectId } from 'mongodb';
import { HistoryDriver, sh, storeForTests } from '../fixtures/history';
import { cameraDoc, DISTRICT, fastPollingEnv, seedDistrict } from '../fixtures/polling';
import { bootApp } from '../helpers/app';
import { anonymous } from '../helpers/http';

const logger = createLogger('silent');
const zero = { inFlight: () => 0, lagMs: () => 0, pointsByState: () => ({}), flapping: () => 0, bufferedTransitions: () => 0, bufferedStatus: () => 0 };

/** Old-style hourly rollups: `points` points × `hours` UTC hours from 1 June 2026 00:00 Shanghai, hour 5 of each day DOWN. */
function oldRollups(points: number, hours: number): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const start = sh(2026, 6, 1);
  for (let i = 0; i < points; i++) {
    const cameraId = `cam${String(i).padStart(3, '0')}`;
    for (let h = 0; h < hours; h++) {
      const hour = start + h * 3_600_000;
      const down = h % 24 === 5;
      out.push({ _id: `${cameraId}:${hour}`, cameraId, regionId: 'r', hour: new Date(hour), upSec: down ? 0 : 3599.6, downSec: down ? 3600 : 0.4, maintenanceSec: 0, unknownSec: 0, checks: 60, failures: down ? 60 : 0 });
    }
  }
  return out;
}

describe('history: migration of hourly rollups and retention', function () {
  this.timeout(60_000);
  const stores = storeForTests('hist');

  async function db(rows: Array<Record<string, unknown>>): Promise<{ conn: mongoose.Connection; history: HistoryStore; read: HistoryRead }> {
    const conn = await stores.connect();
    if (rows.length) await conn.db?.collection('rollups').insertMany(rows);
    const store = new MonitoringStore(conn, { transitionBufferMax: 100, transitionsRetentionDays: 400, calendar: new Calendar('Asia/Shanghai') }, createMonitoringMetrics(zero), logger);
    return { conn, history: store.history, read: new HistoryRead(store) };
  }

  const dump = async (h: HistoryStore): Promise<unknown[]> => [
    ...(await h.days.find({}).sort({ _id: 1 }).toArray()),
    ...(await h.months.find({}).sort({ _id: 1 }).toArray()),
  ];

  it('when hourly rollups are migrated, then day and month documents hold their whole seconds per local day and hour, and the old collection is gone', async () => {
    const { conn, history, read } = await db(oldRollups(2, 48));
    const r = await migrateRollups(conn, history, logger);
    expect(r).to.deep.equal({ rollups: 96, days: 4 });
    const day = await history.days.findOne({ _id: '20260601:cam000' });
    expect(day).to.include({ u: 23 * 3600, d: 3600, k: 24 * 60, f: 60 });
    expect(day?.h?.d).to.deep.equal({ '5': 3600 });
    expect(await history.months.findOne({ _id: '202606:cam001' })).to.deep.equal({ _id: '202606:cam001', u: { '1': 82_800, '2': 82_800 }, d: { '1': 3600, '2': 3600 } });
    expect(await conn.db?.listCollections({ name: 'rollups' }).toArray()).to.have.length(0);
    // the migrated days read like any other: 2 days with 1 h DOWN each
    const rates = await pointRates(read, new Set(['cam000']), { from: sh(2026, 6, 1), to: sh(2026, 6, 3), now: sh(2027, 1, 1), snapshotTimes: [] });
    expect(timeRate(rates.get('cam000') as never)).to.equal(95.8333);
    // a second start finds the marker and does nothing
    expect(await migrateRollups(conn, history, logger)).to.equal(null);
  });

  it('when the migration crashes half-way and runs again, then the result is the same as one clean run', async () => {
    // 600 day documents: more than one batch of 500
    const rows = oldRollups(200, 72);
    const clean = await db(rows);
    await migrateRollups(clean.conn, clean.history, logger);
    const crashed = await db(rows);
    let err: unknown = null;
    await migrateRollups(crashed.conn, crashed.history, logger, {
      afterBatch: (b) => {
        if (b === 1) throw new Error('crash');
      },
    }).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/crash/);
    const partial = await crashed.history.days.countDocuments({});
    expect(partial).to.be.at.least(500).and.below(200 * 3);
    expect(await crashed.conn.db?.listCollections({ name: 'rollups' }).toArray()).to.have.length(1);
    await migrateRollups(crashed.conn, crashed.history, logger);
    expect(await dump(crashed.history)).to.deep.equal(await dump(clean.history));
    expect(await crashed.history.days.countDocuments({})).to.equal(200 * 3);
  });

  it('when retention runs, then hourly slots go after HISTORY_HOURLY_DAYS, day documents after HISTORY_DAY_DAYS and months after HISTORY_MONTHS, the months keeping the days’ figures', async () => {
    const { conn } = await db([]);
    const d = new HistoryDriver(conn);
    d.add('a', sh(2026, 1, 1));
    d.check('a', sh(2026, 1, 1), true).check('a', sh(2026, 5, 10, 10), false).check('a', sh(2026, 5, 10, 18), true);
    await d.close(sh(2026, 6, 20));
    const h = d.store.history;
    const r = await h.prune(sh(2026, 6, 20, 12), { hourlyDays: 10, dayDays: 30, months: 4 });
    // (history up to 20 June 00:00) days before 10 June lose their slots, days before 21 May go, months before March go
    expect(await h.days.countDocuments({ h: { $exists: true } })).to.equal(10);
    expect(await h.days.countDocuments({})).to.equal(30);
    expect((await h.days.find({}).sort({ _id: 1 }).limit(1).toArray())[0]._id).to.equal('20260521:a');
    expect((await h.months.find({}).sort({ _id: 1 }).toArray()).map((m) => m._id)).to.deep.equal(['202603:a', '202604:a', '202605:a', '202606:a']);
    expect(r.monthsDeleted).to.equal(2);
    const may = await pointRates(d.read, new Set(['a']), { from: sh(2026, 5, 1), to: sh(2026, 6, 1), now: sh(2026, 6, 20), snapshotTimes: [] });
    expect(may.get('a')?.sec.slice(0, 2)).to.deep.equal([31 * 86_400 - 28_800, 28_800]);
  });
});


describe('history: an app started on a store with hourly rollups', function () {
  this.timeout(90_000);

  it('when the app starts, then the rollups are moved before polling and the point history route serves them', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-histapp-'));
    const id = new ObjectId().toHexString();
    // two hours of old rollups a day ago: one UP, one DOWN (an unreachable point: nothing new is added as DOWN or UP)
    const hour = Math.floor((Date.now() - 86_400_000) / 3_600_000) * 3_600_000;
    const store = await startEmbeddedMongo({ dbPath: path.join(dataDir, 'db'), port: 0 });
    const { MongoClient } = await import('mongodb');
    const client = await MongoClient.connect(store.uri('vigil'));
    const db = client.db('vigil');
    await seedDistrict(db);
    await db.collection('cameras').insertOne(cameraDoc({ id, host: '', kind: 'tcp', rtspPort: 554, httpPort: 80 }));
    await db.collection('rollups').insertMany([
      { _id: `${id}:${hour}` as never, cameraId: new ObjectId(id), regionId: new ObjectId(DISTRICT), hour: new Date(hour), upSec: 3600, downSec: 0, maintenanceSec: 0, unknownSec: 0, checks: 60, failures: 0 },
      { _id: `${id}:${hour + 3_600_000}` as never, cameraId: new ObjectId(id), regionId: new ObjectId(DISTRICT), hour: new Date(hour + 3_600_000), upSec: 0, downSec: 3600, maintenanceSec: 0, unknownSec: 0, checks: 60, failures: 60 },
    ]);
    await client.close();
    await store.close();
    const app = await bootApp({ ...fastPollingEnv(60_000), DATA_DIR: dataDir });
    try {
      const r = await anonymous(app).get(`/cameras/${id}/history?period=7d`);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body.uptime).to.include({ upSec: 3600, downSec: 3600, checks: 120, failures: 60, percent: 50 });
      const names = (await app.ctx.store.conn.db?.listCollections().toArray())?.map((c) => c.name) ?? [];
      expect(names).to.include.members(['history_days', 'history_months', 'migrations']);
      expect(names).to.not.include('rollups');
    } finally {
      await app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
