/**
 * `npm run bench:reports`: what the compact history costs and how fast the online rate reads it, on the
 * embedded store (in this process, so its memory can be measured).
 *
 * 1. Storage: `--points` points (default 5,400, the demo district) with HISTORY_MONTHS = 13 months of month
 *    documents and HISTORY_DAY_DAYS = 35 day documents (hourly slots included), the shape the write path
 *    produces (history-store.ts), ~3 % of point-days with an outage. Reports stored bytes per point-day over
 *    the 13 months (≈ 395 days): BSON bytes (dbStats), SQLite bytes on disk after a checkpoint (documents +
 *    its primary-key index), and the store's memory (heap + buffers, _id index built, after GC).
 *    Then the online-rate sums (reports/sums.ts) of those 13 months: build time, their bytes, and a 13-month
 *    district trend read from them (cold: sums read from the store; warm: kept in memory).
 * 2. Speed: `--summary-points` points (default 300,000) laid out like the demo district (10 streets, 60
 *    communities; sharing, organisations and industries as the demo generator draws them), one month (June 2026)
 *    of month documents and 1 % of points with an outage transition pair: point index load, sums build, the
 *    district summary (GET /reports/online-rate by node and by organisation, snapshot instants on) through
 *    ReportService from the sums, once through the per-point path to check the figures are the same
 *    (`--no-verify` skips it), and a 13-month district trend with the other 12 months' sums copied from June's
 *    (building each costs what June's build costs).
 *
 * Usage: npm run bench:reports [-- --points 5400 --summary-points 300000 --no-verify]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import mongoose from 'mongoose';
import { startEmbeddedMongo } from '../server/src/embedded-mongo';
import { Calendar, daysInMonth, monthsBefore, nextMonth } from '../server/src/lib/calendar';
import { createLogger } from '../server/src/lib/logger';
import { randomUUID } from 'node:crypto';
import { pointsCollection, type StoredPoint } from '../server/src/cameras/read-model';
import { formatGbCode } from '../server/src/cameras/gbcode';
import type { Principal } from '../server/src/contracts/access';
import type { OnlineRate } from '../server/src/contracts/reports';
import { HistoryRead } from '../server/src/monitoring/history-read';
import { dayDocId, monthDocId, type DayDoc, type MonthDoc } from '../server/src/monitoring/history-store';
import { createMonitoringMetrics } from '../server/src/monitoring/metrics';
import { MonitoringStore } from '../server/src/monitoring/persistence';
import { RegionTree, type RegionNode } from '../server/src/regions/tree';
import { PointIndex } from '../server/src/reports/point-index';
import { ReportService } from '../server/src/reports/service';
import { pack, SumsStore, unpack } from '../server/src/reports/sums';
import { calibrate, calibrationLine } from './bench-calibration';
import { prng as rng } from '../server/src/lib/prng';

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
const VERIFY = !args.includes('--no-verify');
const KEY_PUBLIC = ['00', '01', '02', '03', '04', '05', '06', '07'];
const TARGETS = { 'key-public': 98, industry: 95 } as const;
const ADMIN: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'bench', role: 'admin', scopeRegionId: null };
/** The bench's present: 1 July 2026 00:30 Shanghai (June is whole and built; the trend's 13th month is July). */
const NOW = Date.UTC(2026, 5, 30, 16, 30);


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

/** A district laid out like the demo one: 10 streets × 6 communities; points on communities (80 %) and streets. */
function district(): { tree: RegionTree; districtId: string; homes: Array<{ id: string; tier: 'street' | 'community'; street: number }> } {
  const nodes: RegionNode[] = [];
  const rid = (i: number): string => idOf(50_000_000 + i);
  const districtId = rid(0);
  nodes.push({ id: districtId, name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null });
  const homes: Array<{ id: string; tier: 'street' | 'community'; street: number }> = [];
  for (let s = 1; s <= 10; s++) {
    const sid = rid(s * 100);
    nodes.push({ id: sid, name: `街道${s}`, tier: 'street', parentId: districtId, code: null, households: null });
    homes.push({ id: sid, tier: 'street', street: s });
    for (let c = 1; c <= 6; c++) {
      const cid = rid(s * 100 + c);
      nodes.push({ id: cid, name: `街道${s}社区${c}`, tier: 'community', parentId: sid, code: null, households: null });
      homes.push({ id: cid, tier: 'community', street: s });
    }
  }
  return { tree: new RegionTree(nodes), districtId, homes };
}

const ORGS = ['鞍山安讯科技有限公司', '中国联通鞍山分公司', '中国电信鞍山分公司', '鞍山宏远安防工程有限公司', '辽宁天网智能运维有限公司'];

/** Registry documents with the fields the point index reads, drawn as the demo generator draws them. */
function* cameraDocs(ids: string[], homes: ReturnType<typeof district>['homes'], rand: () => number): Generator<StoredPoint> {
  const communities = homes.filter((h) => h.tier === 'community');
  const streets = homes.filter((h) => h.tier === 'street');
  for (let i = 0; i < ids.length; i++) {
    const h = rand() < 0.8 ? communities[Math.floor(rand() * communities.length)] : streets[Math.floor(rand() * streets.length)];
    const industry = h.tier === 'community' ? '01' : rand() < 0.1 ? '08' : '00';
    const org = rand() < 0.85 ? ORGS[(h.street - 1) % ORGS.length] : ORGS[Math.floor(rand() * ORGS.length)];
    const sharing = h.tier === 'community' ? (rand() < 0.5 ? 'own' : rand() < 0.7 ? 'up' : 'all') : rand() < 0.6 ? 'up' : 'all';
    yield {
      _id: new mongoose.Types.ObjectId(ids[i]),
      regionId: new mongoose.Types.ObjectId(h.id),
      gbCode: formatGbCode({ center: '21030200', industry, type: '132', network: '0', serial: i + 1 }),
      name: `点位${i + 1}`,
      sharing,
      maintainer: { org },
    };
  }
}

function timed<T>(fn: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const t = Date.now();
  const c = process.cpuUsage();
  return fn().then((value) => ({ value, wall: Date.now() - t, cpu: cpuMs(c) }));
}

/** The reports capability over one store, as server/src/reports/index.ts builds it (no HTTP). */
async function reportsOn(conn: mongoose.Connection, read: HistoryRead, tree: RegionTree, logger: ReturnType<typeof createLogger>): Promise<{ service: ReportService; sums: SumsStore; index: PointIndex; loadMs: number }> {
  const index = new PointIndex(KEY_PUBLIC);
  const t = Date.now();
  await index.load(conn);
  const loadMs = Date.now() - t;
  const sums = new SumsStore({ conn, history: read, index, snapshotTimes: SNAP, months: 25, quietMs: 120_000, logger, now: () => NOW });
  await sums.open();
  const service = new ReportService({
    conn,
    regions: { current: () => tree },
    history: read,
    snapshotTimes: SNAP,
    timeZone: TZ,
    targets: TARGETS,
    keyPublicIndustries: KEY_PUBLIC,
    sums: { store: sums, index },
    now: () => NOW,
  });
  return { service, sums, index, loadMs };
}

/** Copies a month's sums build to other months (same groups, same figures: what their history would build). */
async function copyBuild(conn: mongoose.Connection, from: number, to: number[]): Promise<number> {
  const db = conn.db;
  if (!db) throw new Error('not connected');
  const builds = db.collection<{ _id: number; build: string; sealed: number }>(SumsStore.BUILDS);
  const sums = db.collection<{ _id: string; b: string; m: number; g: string; v: unknown }>(SumsStore.SUMS);
  const src = await builds.findOne({ _id: from });
  if (!src) throw new Error(`no sums of ${from}`);
  const docs = await sums.find({ b: src.build }).toArray();
  for (const m of to) {
    const build = randomUUID();
    // a 31-day month gets June's 30th day once more, so every day of it is built (else it would read per point)
    const v = docs.map((d) => {
      const a = unpack((d.v as mongoose.mongo.Binary).buffer);
      for (let r = 0; r < 21; r++) a[r * 32 + 31] = a[r * 32 + 30];
      return new mongoose.mongo.Binary(pack(a));
    });
    await sums.deleteMany({ m });
    await sums.insertMany(docs.map((d, i) => ({ ...d, _id: `${build}:${String(i).padStart(6, '0')}`, b: build, m, v: v[i] })));
    await builds.deleteOne({ _id: m });
    await builds.insertOne({ ...src, _id: m, build, sealed: daysInMonth(m) });
  }
  return to.length;
}

const figuresOf = (r: OnlineRate): string => `rate ${r.total.rate} %, snapshot ${r.total.snapshot.rate} %, ${r.total.points} points, ${r.rows.length} rows`;

async function main(): Promise<void> {
  const cal = await calibrate();
  process.stdout.write(`${calibrationLine(cal)}\n`);
  const logger = createLogger('silent');
  const zero = { inFlight: () => 0, lagMs: () => 0, pointsByState: () => ({}), flapping: () => 0, bufferedTransitions: () => 0, bufferedStatus: () => 0 };
  const calendar = new Calendar(TZ);
  const { tree, districtId, homes } = district();
  const june = { region: districtId, from: '2026-06-01', to: '2026-07-01', limit: 10_000 };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-reports-'));
  const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-reports-'));
  let server = await startEmbeddedMongo({ dbPath: dir, port: 0 });
  try {
    // ---- 1. storage at 13 months' retention, and the sums of those months ---------------------------
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
    await insertAll(pointsCollection(conn), cameraDocs(ids, homes, rng(3)));
    const read = new HistoryRead(store);
    const small = await reportsOn(conn, read, tree, logger);
    const statsReg = (await conn.db?.command({ dbStats: 1 })) as { dataSize: number };
    const built = await timed(() => small.sums.refresh());
    const stats2 = (await conn.db?.command({ dbStats: 1 })) as { dataSize: number };
    const sumsBytes = stats2.dataSize - statsReg.dataSize;
    process.stdout.write(
      `  sums of the ${MONTHS} months (${MONTHS} builds + empty ones up to 25 months): built in ${built.wall} ms wall, ${built.cpu} ms CPU; ` +
        `${(sumsBytes / 1e6).toFixed(2)} MB BSON = ${per(sumsBytes)} bytes per point-day (history + sums + registry: ${per(stats2.dataSize)})\n`,
    );
    const trendRuns: string[] = [];
    let trendLine = '';
    for (let r = 0; r < 3; r++) {
      if (r === 0) small.sums.dropCache();
      const t = await timed(() => small.service.onlineRateTrend(ADMIN, { region: districtId, months: 13, by: 'node' }));
      trendRuns.push(`${r === 0 ? 'cold ' : ''}${t.wall} ms wall / ${t.cpu} ms CPU`);
      trendLine = t.value.months.map((m) => `${m.month}:${m.total.rate}${m.source === 'sums' ? '' : '(points)'}`).join(' ');
    }
    process.stdout.write(`13-month district trend from the sums, ${POINTS} points with 13 months of history: ${trendRuns.join(', ')} [${trendLine}]\n`);
    const slowJune = await timed(() => small.service.onlineRate(ADMIN, { ...june, by: 'node' }, { perPoint: true }));
    const fastJune = await small.service.onlineRate(ADMIN, { ...june, by: 'node' });
    const same = JSON.stringify({ ...slowJune.value, source: '' }) === JSON.stringify({ ...fastJune, source: '' });
    process.stdout.write(`  June per point: ${slowJune.wall} ms wall / ${slowJune.cpu} ms CPU; from the sums the same figures: ${same ? 'yes' : 'NO'}\n`);
    await conn.close();
    // on disk: the store's SQLite file once closed (documents + its (ns, id) primary-key index, WAL checkpointed)
    await server.close();
    const disk = fileBytes(dir);
    process.stdout.write(`  SQLite on disk incl. its primary-key index (history, sums, registry): ${per(disk)} bytes per point-day (${(disk / 1e6).toFixed(1)} MB)\n`);
    server = await startEmbeddedMongo({ dbPath: dir2, port: 0 });

    // ---- 2. district summary over 30 days at SUMMARY_POINTS ------------------------------------------
    const conn2 = await mongoose.createConnection(server.uri('sum'), { maxPoolSize: 4 }).asPromise();
    const store2 = new MonitoringStore(conn2, { transitionBufferMax: 1000, transitionsRetentionDays: 400, calendar }, createMonitoringMetrics(zero), logger);
    const big = Array.from({ length: SUMMARY_POINTS }, (_, i) => idOf(i + 1));
    const rand2 = rng(2);
    const tFill = Date.now();
    await insertAll(pointsCollection(conn2), cameraDocs(big, homes, rng(4)));
    await insertAll(store2.history.months, (function* () {
      for (const id of big) yield monthDoc(LAST_MONTH, id, rand2);
    })());
    // a few thousand transitions in the month (outages of 1 % of points), for the snapshot instants
    const trans = [];
    for (let i = 0; i < big.length; i += 100) {
      const at = calendar.day(20260610).start + 9 * 3_600_000;
      trans.push({ _id: `${big[i]}:2`, cameraId: new mongoose.Types.ObjectId(big[i]), regionId: 'r', seq: 2, from: 'UP', to: 'DOWN', at: new Date(at), reason: null, rttMs: null, flapping: false, failingSince: null });
      trans.push({ _id: `${big[i]}:3`, cameraId: new mongoose.Types.ObjectId(big[i]), regionId: 'r', seq: 3, from: 'DOWN', to: 'UP', at: new Date(at + 7_200_000), reason: null, rttMs: null, flapping: false, failingSince: null });
    }
    await store2.ensureIndexes();
    await store2.transitions.insertMany(trans);
    process.stdout.write(`summary data: ${SUMMARY_POINTS} registry docs + ${SUMMARY_POINTS} month docs + ${trans.length} transitions written in ${((Date.now() - tFill) / 1000).toFixed(1)} s\n`);
    const read2 = new HistoryRead(store2);
    const rep = await reportsOn(conn2, read2, tree, logger);
    const build2 = await timed(() => rep.sums.refresh());
    const groups = (await rep.sums.sumsOf(rep.sums.buildOf(LAST_MONTH) as NonNullable<ReturnType<SumsStore['buildOf']>>)).size;
    process.stdout.write(
      `  point index loaded in ${rep.loadMs} ms (${rep.index.size} points); sums built (background, once a day for the current month) in ${build2.wall} ms wall / ${build2.cpu} ms CPU: ${groups} groups in June\n`,
    );
    for (const by of ['node', 'org'] as const) {
      const runs: string[] = [];
      let line = '';
      for (let r = 0; r < 3; r++) {
        if (r === 0) rep.sums.dropCache();
        const t = await timed(() => rep.service.onlineRate(ADMIN, { ...june, by }));
        runs.push(`${r === 0 ? 'cold ' : ''}${t.wall} ms wall / ${t.cpu} ms CPU${t.value.source === 'sums' ? '' : ' (PER POINT)'}`);
        line = figuresOf(t.value);
      }
      process.stdout.write(`district summary by ${by}, ${SUMMARY_POINTS} points × 30 days (snapshot instants on): ${runs.join(', ')} (${line})\n`);
    }
    if (VERIFY) {
      const slow = await timed(() => rep.service.onlineRate(ADMIN, { ...june, by: 'node' }, { perPoint: true }));
      const fast = await rep.service.onlineRate(ADMIN, { ...june, by: 'node' });
      const same = JSON.stringify({ ...slow.value, source: '' }) === JSON.stringify({ ...fast, source: '' });
      process.stdout.write(`  the same summary per point: ${slow.wall} ms wall / ${slow.cpu} ms CPU (${figuresOf(slow.value)}); every figure equal: ${same ? 'yes' : 'NO'}\n`);
    }
    // 13 months: the other months' sums copied from June's (what 13 months of history would build)
    const copied = await copyBuild(conn2, LAST_MONTH, months.filter((m) => m !== LAST_MONTH));
    const rep2 = await reportsOn(conn2, read2, tree, logger);
    const runs: string[] = [];
    let line = '';
    for (let r = 0; r < 3; r++) {
      const t = await timed(() => rep2.service.onlineRateTrend(ADMIN, { region: districtId, months: 13, by: 'node' }));
      runs.push(`${r === 0 ? 'cold ' : ''}${t.wall} ms wall / ${t.cpu} ms CPU`);
      line = t.value.months.map((m) => `${m.month}:${m.total.rate}${m.source === 'sums' ? '' : '(points)'}`).join(' ');
    }
    process.stdout.write(`13-month district trend, ${SUMMARY_POINTS} points (${copied} months of sums copied from June): ${runs.join(', ')} [${line}]\n`);
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
