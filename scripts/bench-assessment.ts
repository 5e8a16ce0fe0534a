/**
 * The monthly assessment of a whole district at `--points` points (default 300,000): how long the full XLSX
 * takes and how much memory the process needs, on the embedded store in this process (so its memory counts
 * too, as it does in the app, where the store runs in a worker thread of the same process).
 *
 * Data: a district of 10 streets × 6 communities, `--points` points registered in the communities (30
 * maintainer organisations), June 2026's month documents (≈ 3 % of point-days with a 1–3 h outage, the
 * shape bench-reports uses). Then, through AssessmentService (the code the routes call):
 *   1. first download: the month is past its grace period, so it is closed first (every point's figures
 *      from the online-rate engine, frozen as version 1), then the sheet is computed and the XLSX streamed
 *      to a file;
 *   2. later downloads: the frozen version is read back, the sheet computed and the XLSX streamed (twice;
 *      the two files must be byte-for-byte equal).
 * Peak RSS is sampled every 20 ms. Targets (issue 14): the full monthly XLSX ≤ 60 s and ≤ 1 GB RSS.
 *
 * Usage: npx tsx scripts/bench-assessment.ts [--points 300000] [--verify] [--store-uri URI]
 *   --verify: read the file back with exceljs' streaming reader and count the per-camera rows.
 *   --store-uri: use the store at URI (its database is dropped first) instead of one in this process, e.g.
 *     `npx tsx server/src/embedded-mongo/cli.ts --port 27999 --dbpath /tmp/db` beside it: the RSS is then the app's
 *     alone, as in a deployment with the store (or MongoDB) in its own process.
 * The file's SHA-256 is printed: the data and the clock are fixed, so two versions of the code that compute the
 * same figures write the same bytes.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// exceljs' streaming reader decodes UTF-8 only with the fix in lib/exceljs.ts, which must load first
import '../server/src/lib/exceljs';
import ExcelJS from 'exceljs';
import mongoose from 'mongoose';
import type { Principal } from '../server/src/contracts/access';
import { startEmbeddedMongo } from '../server/src/embedded-mongo';
import { Calendar, daysInMonth } from '../server/src/lib/calendar';
import { createLogger } from '../server/src/lib/logger';
import { HistoryRead } from '../server/src/monitoring/history-read';
import { monthDocId, type MonthDoc } from '../server/src/monitoring/history-store';
import { createMonitoringMetrics } from '../server/src/monitoring/metrics';
import { MonitoringStore } from '../server/src/monitoring/persistence';
import { RegionTree, type RegionNode } from '../server/src/regions/tree';
import { AssessmentService } from '../server/src/reports/assessment-service';
import { writeAssessmentXlsx } from '../server/src/reports/assessment-xlsx';
import { calibrate, calibrationLine } from './bench-calibration';
import { prng as rng } from '../server/src/lib/prng';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const POINTS = Number(arg('points', '300000'));
const VERIFY = args.includes('--verify');
const TZ = 'Asia/Shanghai';
const MONTH = 202606;


const oid = (n: number): mongoose.Types.ObjectId => new mongoose.Types.ObjectId(n.toString(16).padStart(24, '0'));

function monthDoc(id: string, rand: () => number): MonthDoc {
  const doc: MonthDoc = { _id: monthDocId(MONTH, id), u: {}, s: {} };
  for (let d = 1; d <= daysInMonth(MONTH); d++) {
    let down = 0;
    if (rand() < 0.03) down = 3600 * (1 + Math.floor(rand() * 3));
    (doc.u as Record<string, number>)[d] = 86_400 - down;
    (doc.s as Record<string, number>)[d] = 0;
    if (down) (doc.d ??= {})[d] = down;
  }
  return doc;
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

/** Peak RSS while `fn` runs (sampled every 20 ms). */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peak: number; ms: number; cpuMs: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const t = Date.now();
  const c = process.cpuUsage();
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    const u = process.cpuUsage(c);
    return { value, peak, ms: Date.now() - t, cpuMs: Math.round((u.user + u.system) / 1000) };
  } finally {
    clearInterval(timer);
  }
}

const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;

async function main(): Promise<void> {
  const cal = await calibrate();
  process.stdout.write(`${calibrationLine(cal)}\n`);
  const logger = createLogger('silent');
  const calendar = new Calendar(TZ);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-assessment-'));
  // --store-uri mongodb://…/db: a store in another process (`npm run db`, or a real MongoDB), so that the peak RSS
  // printed is the app's alone, as in a deployment where the store is its own process
  const iu = process.argv.indexOf('--store-uri');
  const storeUri = iu >= 0 ? process.argv[iu + 1] : undefined;
  const server = storeUri ? null : await startEmbeddedMongo({ dbPath: path.join(dir, 'db'), port: 0 });
  try {
    const conn = await mongoose.createConnection(server ? server.uri('assess') : (storeUri as string), { maxPoolSize: 4 }).asPromise();
    if (!server) await conn.dropDatabase();
    const zero = { inFlight: () => 0, lagMs: () => 0, pointsByState: () => ({}), flapping: () => 0, bufferedTransitions: () => 0, bufferedStatus: () => 0 };
    const store = new MonitoringStore(conn, { transitionBufferMax: 1000, transitionsRetentionDays: 400, calendar }, createMonitoringMetrics(zero), logger);
    await store.ensureIndexes();

    const nodes: RegionNode[] = [{ id: oid(1).toHexString(), name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null }];
    const communities: string[] = [];
    for (let s = 0; s < 10; s++) {
      const sid = oid(100 + s).toHexString();
      nodes.push({ id: sid, name: `第${s + 1}街道`, tier: 'street', parentId: nodes[0].id, code: null, households: null });
      for (let c = 0; c < 6; c++) {
        const cid = oid(1000 + s * 10 + c).toHexString();
        nodes.push({ id: cid, name: `第${s + 1}街道第${c + 1}社区`, tier: 'community', parentId: sid, code: null, households: null });
        communities.push(cid);
      }
    }
    const tree = new RegionTree(nodes);
    const tFill = Date.now();
    const created = new Date(Date.UTC(2026, 0, 1));
    await insertAll(conn.collection('cameras'), (function* () {
      for (let i = 0; i < POINTS; i++) {
        yield {
          _id: oid(1_000_000 + i),
          gbCode: `21030200001320${String(i).padStart(6, '0')}`,
          name: `测试点位${i}号`,
          regionId: new mongoose.Types.ObjectId(communities[i % communities.length]),
          sharing: 'all',
          maintainer: { org: `维保单位${(i % 30) + 1}`, contact: '张工', phone: '13900000000' },
          createdAt: created,
        };
      }
    })());
    const rand = rng(7);
    await insertAll(store.history.months, (function* () {
      for (let i = 0; i < POINTS; i++) yield monthDoc(oid(1_000_000 + i).toHexString(), rand);
    })());
    process.stdout.write(`data: ${POINTS} points + ${POINTS} month documents (June 2026) written in ${((Date.now() - tFill) / 1000).toFixed(1)} s; rss ${mb(process.memoryUsage.rss())}\n`);

    const service = new AssessmentService({
      conn,
      regions: { current: () => tree },
      history: new HistoryRead(store),
      audit: () => Promise.resolve(),
      rule: { fullScore: 100, deductions: [{ overHours: 8, points: 1 }], passScore: 90, fairScore: 80 },
      graceMs: 24 * 3_600_000,
      timeZone: TZ,
      logger,
      now: () => Date.UTC(2027, 0, 1),
    });
    await service.init();
    const global: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'bench', role: 'admin', scopeRegionId: null };

    const dataSize = async (): Promise<number> => ((await conn.db?.command({ dbStats: 1 })) as { dataSize: number }).dataSize;
    const before = await dataSize();
    const files: Buffer[] = [];
    for (const label of ['first download (closes June: freeze v1)', 'download of the closed month', 'download of the closed month, again']) {
      const out = path.join(dir, `a${files.length}.xlsx`);
      let computeMs = 0;
      const r = await peakRss(async () => {
        const t = Date.now();
        const { sheet, stamp } = await service.file(global, { month: '2026-06' });
        computeMs = Date.now() - t;
        await writeAssessmentXlsx(fs.createWriteStream(out), sheet, stamp);
        return sheet.assessment;
      });
      const bytes = fs.readFileSync(out);
      files.push(bytes);
      const a = r.value;
      process.stdout.write(
        `${label}: ${(r.ms / 1000).toFixed(1)} s wall (${(computeMs / 1000).toFixed(1)} s figures + sheet, ${((r.ms - computeMs) / 1000).toFixed(1)} s XLSX), ${(r.cpuMs / 1000).toFixed(1)} s CPU, ` +
          `peak rss ${mb(r.peak)}; file ${mb(bytes.length)}, ${a.camerasTotal} camera rows, ${a.contractors.length} contractors, ${a.summary.faultyCameras} cameras over 8 h, rate ${a.summary.rate} %\n`,
      );
    }
    process.stdout.write(`closed month files byte-for-byte equal: ${files[1].equals(files[2]) && files[0].equals(files[1])}\n`);
    // the file is dated with the close (a fixed clock here): the same figures give the same bytes, run after run and version after version
    process.stdout.write(`file sha256: ${createHash('sha256').update(files[0]).digest('hex')}\n`);
    const frozen = (await dataSize()) - before;
    process.stdout.write(`frozen version: ${mb(frozen)} BSON (${(frozen / POINTS).toFixed(0)} bytes per point)\n`);
    if (VERIFY) {
      const reader = new ExcelJS.stream.xlsx.WorkbookReader(path.join(dir, 'a1.xlsx'), { worksheets: 'emit', sharedStrings: 'cache', styles: 'ignore', hyperlinks: 'ignore', entries: 'ignore' });
      const counts: string[] = [];
      for await (const ws of reader) {
        let n = 0;
        for await (const _row of ws) n++;
        counts.push(String(n));
      }
      process.stdout.write(`read back: rows per sheet (incl. headers) ${counts.join(' / ')}\n`);
    }
    await conn.close();
  } finally {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
