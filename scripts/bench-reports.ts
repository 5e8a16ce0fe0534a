/**
 * `npm run bench:reports`: what the compact history costs and how fast the online rate reads it, on the
 * embedded store (in this process, so its memory can be measured).
 *
 * 1. Storage: `--points` points (default 5,400, the demo district) with HISTORY_MONTHS = 13 months of month
 *    documents and HISTORY_DAY_DAYS = 35 day documents (hourly slots included), the shape the write path
 *    produces (history-store.ts), ~3 % of point-days with an outage. Reports stored bytes per point-day over
 *    the 13 months (≈ 395 days): BSON bytes (dbStats), SQLite bytes on disk after a checkpoint (documents +
 *    its primary-key index), and the store's memory (heap + buffers, _id index built, after GC).
 * 2. Speed: `--summary-points` points (default 300,000) with one month (June 2026) of month documents:
 *    the engine's district summary over those 30 days (pointRates over every point, snapshot instants on,
 *    so midnight states and transitions are read too); and a 13-month district trend over the storage
 *    run's points (13 month reads).
 *
 * Usage: npm run bench:reports [-- --points 5400 --summary-points 300000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import mongoose from 'mongoose';
import { startEmbeddedMongo } from '../server/src/embedded-mongo';
import { Calendar, daysInMonth, monthsBefore, nextMonth } from '../server/src/lib/calendar';
import { createLogger } from '../server/src/lib/logger';
import { HistoryRead } from '../server/src/monitoring/history-read';
import { dayDocId, monthDocId, type DayDoc, type MonthDoc } from '../server/src/monitoring/history-store';
import { createMonitoringMetrics } from '../server/src/monitoring/metrics';
import { MonitoringStore } from '../server/src/monitoring/persistence';
import { addRate, emptyRate, pointRates, snapshotRate, timeRate } from '../server/src/reports/online-rate';
import { calibrate, calibrationLine } from './bench-calibration';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const POINTS = Number(arg('points', '5400'));
const SUMMARY_POINTS = Number(arg('summary-points', '300000'));
const MONTHS = 13;
const DAY_DAYS = 35;
const TZ = 'Asia/Shanghai';
const LAST_MONTH = 202606;
const SNAP = ['08:00', '14:00', '20:00'];

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const idOf = (i: number): string => new mongoose.Types.ObjectId(i.toString(16).padStart(24, '0')).toHexString();

/** One point-day: seconds down (0 most days) and the outage's first hour. */
function dayOutage(rand: () => number): { down: number; hour: number } {
  if (rand() >= 0.03) return { down: 0, hour: 0 };
  const hour = Math.floor(rand() * 20);
  return { down: Math.min(3600 * (1 + Math.floor(rand() * 3)), (24 - hour) * 3600), hour };
}

function monthDoc(month: number, id: string, rand: () => number, lastDay = daysInMonth(month)): MonthDoc {
  const doc: MonthDoc = { _id: monthDocId(month, id), u: {}, s: {} };
  for (let d = 1; d <= lastDay; d++) {
    const o = dayOutage(rand);
    (doc.u as Record<string, number>)[d] = 86_400 - o.down;
    (doc.s as Record<string, number>)[d] = 0;
    if (o.down) (doc.d ??= {})[d] = o.down;
  }
  return doc;
}

function dayDoc(key: number, id: string, rand: () => number): DayDoc {
  const o = dayOutage(rand);
  const hu: Record<string, number> = {};
  const hk: Record<string, number> = {};
  const hd: Record<string, number> = {};
  const hf: Record<string, number> = {};
  let left = o.down;
  for (let h = 0; h < 24; h++) {
    const down = h >= o.hour && left > 0 ? Math.min(3600, left) : 0;
    left -= down;
    if (down < 3600) hu[h] = 3600 - down;
    hk[h] = 60;
    if (down) {
      hd[h] = down;
      hf[h] = Math.round(down / 60);
    }
  }
  const doc: DayDoc = { _id: dayDocId(key, id), u: 86_400 - o.down, k: 1440, s: 0, h: { u: hu, k: hk } };
  if (o.down) Object.assign(doc, { d: o.down, f: Math.round(o.down / 60), h: { u: hu, d: hd, k: hk, f: hf } });
  return doc;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return Math.round((u.user + u.system) / 1000);
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

function memNow(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function insertAll<T extends mongoose.mongo.Document>(col: mongoose.mongo.Collection<T>, gen: Iterable<T>): Promise<number> {
  let batch: T[] = [];
  let n = 0;
  for (const d of gen) {
    batch.push(d);
    if (batch.length === 5000) {
      await col.insertMany(batch as never[], { ordered: false });
      n += batch.length;
      batch = [];
    }
  }
  if (batch.length) await col.insertMany(batch as never[], { ordered: false });
  return n + batch.length;
}

function fileBytes(dir: string): number {
  let n = 0;
  for (const f of fs.readdirSync(dir)) if (f.startsWith('store.sqlite')) n += fs.statSync(path.join(dir, f)).size;
  return n;
}

async function main(): Promise<void> {
  const cal = await calibrate();
  process.stdout.write(`${calibrationLine(cal)}\n`);
  const logger = createLogger('silent');
  const zero = { inFlight: () => 0, lagMs: () => 0, pointsByState: () => ({}), flapping: () => 0, bufferedTransitions: () => 0, bufferedStatus: () => 0 };
  const calendar = new Calendar(TZ);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-reports-'));
  const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-reports-'));
  let server = await startEmbeddedMongo({ dbPath: dir, port: 0 });
  try {
    // ---- 1. storage at 13 months' retention ----------------------------------------------------------
    const conn = await mongoose.createConnection(server.uri('hist'), { maxPoolSize: 4 }).asPromise();
    const store = new MonitoringStore(conn, { transitionBufferMax: 1000, transitionsRetentionDays: 400, calendar }, createMonitoringMetrics(zero), logger);
    const h = store.history;
    const ids = Array.from({ length: POINTS }, (_, i) => idOf(i + 1));
    const months: number[] = [];
    for (let m = monthsBefore(LAST_MONTH, MONTHS - 1); months.length < MONTHS; m = nextMonth(m)) months.push(m);
    const lastDays: number[] = [];
    for (let k = 20260630, i = 0; i < DAY_DAYS; i++) {
      lastDays.unshift(k);
      k = calendar.dayOf(calendar.day(k).start - 43_200_000).key;
    }
    const mem0 = memNow();
    const t0 = Date.now();
    const rand = rng(1);
    const nMonths = await insertAll(h.months, (function* () {
      for (const m of months) for (const id of ids) yield monthDoc(m, id, rand);
    })());
    const nDays = await insertAll(h.days, (function* () {
      for (const k of lastDays) for (const id of ids) yield dayDoc(k, id, rand);
    })());
    // build the lazy _id indexes as a report's range read does
    await h.days.countDocuments({ _id: { $gte: `${lastDays[0]}:`, $lt: `${lastDays[0]};` } });
    await h.months.countDocuments({ _id: { $gte: `${LAST_MONTH}:`, $lt: `${LAST_MONTH};` } });
    const fillS = (Date.now() - t0) / 1000;
    const mem1 = memNow();
    const stats = (await conn.db?.command({ dbStats: 1 })) as { dataSize: number; indexSize: number };
    const retainedDays = months.reduce((n, m) => n + daysInMonth(m), 0);
    const pointDays = POINTS * retainedDays;
    const per = (b: number): string => (b / pointDays).toFixed(1);
    process.stdout.write(
      `storage: ${POINTS} points × ${MONTHS} months (${retainedDays} days; ${nMonths} month docs + ${nDays} day docs with hourly slots, the last ${DAY_DAYS} days) written in ${fillS.toFixed(1)} s\n` +
        `  bytes per point-day: BSON ${per(stats.dataSize)} (dbStats dataSize ${(stats.dataSize / 1e6).toFixed(1)} MB; its indexSize says ${stats.indexSize}); ` +
        `embedded store memory incl. the _id indexes ${per(mem1 - mem0)} (${((mem1 - mem0) / 1e6).toFixed(1)} MB${(globalThis as { gc?: unknown }).gc ? '' : ', no --expose-gc: rough'})\n`,
    );
    const read = new HistoryRead(store);
    // 13-month trend over the storage run's points (the district): one engine read per month
    const idSet = new Set(ids);
    const tTrend = Date.now();
    const cTrend = process.cpuUsage();
    const trend: string[] = [];
    for (const m of months) {
      const f = emptyRate();
      const next = nextMonth(m);
      for (const fig of (await pointRates(read, idSet, { from: calendar.monthStart(m), to: calendar.monthStart(next), now: calendar.monthStart(next), snapshotTimes: [] })).values()) addRate(f, fig);
      trend.push(`${m}:${timeRate(f)}`);
    }
    const trendMs = Date.now() - tTrend;
    process.stdout.write(`13-month trend, ${POINTS} points: ${trendMs} ms wall, ${cpuMs(cTrend)} ms CPU (store + engine, one process) (${(trendMs / MONTHS).toFixed(0)} ms a month) [${trend.join(' ')}]\n`);
    await conn.close();
    // on disk: the store's SQLite file once closed (documents + its (ns, id) primary-key index, WAL checkpointed)
    await server.close();
    const disk = fileBytes(dir);
    process.stdout.write(`  SQLite on disk incl. its primary-key index: ${per(disk)} bytes per point-day (${(disk / 1e6).toFixed(1)} MB)\n`);
    server = await startEmbeddedMongo({ dbPath: dir2, port: 0 });

    // ---- 2. district summary over 30 days at SUMMARY_POINTS ------------------------------------------
    const conn2 = await mongoose.createConnection(server.uri('sum'), { maxPoolSize: 4 }).asPromise();
    const store2 = new MonitoringStore(conn2, { transitionBufferMax: 1000, transitionsRetentionDays: 400, calendar }, createMonitoringMetrics(zero), logger);
    const big = Array.from({ length: SUMMARY_POINTS }, (_, i) => idOf(i + 1));
    const rand2 = rng(2);
    const tFill = Date.now();
    await insertAll(store2.history.months, (function* () {
      for (const id of big) yield monthDoc(LAST_MONTH, id, rand2);
    })());
    // a few hundred transitions in the month (outages of 1 % of points), for the snapshot instants
    const trans = [];
    for (let i = 0; i < big.length; i += 100) {
      const at = calendar.day(20260610).start + 9 * 3_600_000;
      trans.push({ _id: `${big[i]}:2`, cameraId: new mongoose.Types.ObjectId(big[i]), regionId: 'r', seq: 2, from: 'UP', to: 'DOWN', at: new Date(at), reason: null, rttMs: null, flapping: false, failingSince: null });
      trans.push({ _id: `${big[i]}:3`, cameraId: new mongoose.Types.ObjectId(big[i]), regionId: 'r', seq: 3, from: 'DOWN', to: 'UP', at: new Date(at + 7_200_000), reason: null, rttMs: null, flapping: false, failingSince: null });
    }
    await store2.ensureIndexes();
    await store2.transitions.insertMany(trans);
    process.stdout.write(`summary data: ${SUMMARY_POINTS} month docs + ${trans.length} transitions written in ${((Date.now() - tFill) / 1000).toFixed(1)} s\n`);
    const read2 = new HistoryRead(store2);
    const bigSet = new Set(big);
    const june = { from: calendar.monthStart(LAST_MONTH), to: calendar.monthStart(nextMonth(LAST_MONTH)), now: Date.UTC(2027, 0, 1) };
    for (const [label, snapshotTimes] of [['time-weighted only', []], ['with snapshot instants', SNAP]] as const) {
      const runs: string[] = [];
      let line = '';
      for (let r = 0; r < 3; r++) {
        const t = Date.now();
        const c = process.cpuUsage();
        const figs = await pointRates(read2, bigSet, { ...june, snapshotTimes });
        const f = emptyRate();
        for (const x of figs.values()) addRate(f, x);
        runs.push(`${Date.now() - t} ms wall / ${cpuMs(c)} ms CPU`);
        line = `rate ${timeRate(f)} %, snapshot ${snapshotRate(f)} %`;
      }
      process.stdout.write(`district summary, ${SUMMARY_POINTS} points × 30 days (${label}): ${runs.join(', ')} (${line})\n`);
    }
    const heap = v8.getHeapStatistics();
    process.stdout.write(`process heap ${(heap.used_heap_size / 1e6).toFixed(0)} MB, rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB\n`);
    await conn2.close();
  } finally {
    await server.close();
    for (const d of [dir, dir2]) fs.rmSync(d, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
