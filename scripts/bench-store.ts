/**
 * Store benchmark (issue 2, "Speed"): `npm run bench:store [-- --n 100000 --lookups 5000 --pages 1000]`.
 * Runs over the wire against the embedded store started in-process in a temp dir, or against MONGODB_URI
 * when set (a throw-away database, dropped afterwards). Each figure is measured twice: through the raw
 * `mongodb` driver and through mongoose, each in its own collection of N camera-like documents.
 * Prints a markdown table with the targets.
 *
 * Options: `--n`, `--lookups`, `--pages`, `--batch` (counts), `--settle-ms 1000`, `--store-process`.
 * - Settling (added 18:05 UTC 2026-11-26): after each bulk insert the bench waits `--settle-ms` (default 1 s)
 *   and then runs 1,000 unmeasured lookups before the 5,000 measured ones (was: 200 right after the insert).
 *   Reason: a 100,000-document insertMany leaves V8 concurrent-marking a freshly grown heap for up to a second;
 *   a lookup arriving in that second measured the GC aftermath of the bench's own bulk load (client and store
 *   in one process), not lookup latency. Lookups stay sequential, p99 is still over all 5,000 measured ones.
 * - `--store-process` (added 18:05 UTC): runs the embedded store in a child process (`node --import tsx
 *   server/src/embedded-mongo/cli.ts`, i.e. what `npm run db` runs), so the client's heap and GC do not share
 *   the store's thread, as in a deployment with `MONGODB_URI` pointing at `npm run db`. Without the flag the
 *   store runs in-process as `npm start` does when `MONGODB_URI` is unset. "CPU-s" covers only this (client)
 *   process in that mode; the store's CPU time is printed below the table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MongoClient, ObjectId, type Collection } from 'mongodb';
import mongoose, { Schema } from 'mongoose';
import { startEmbeddedMongo, type EmbeddedMongo } from '../server/src/embedded-mongo';
import { calibrate, calibrationLine } from './bench-calibration';

interface Opts {
  n: number;
  lookups: number;
  pages: number;
  batch: number;
  'settle-ms': number;
}

function parseOpts(argv: string[]): { o: Opts; storeProcess: boolean } {
  const o: Opts = { n: 100_000, lookups: 5_000, pages: 1_000, batch: 1_000, 'settle-ms': 1_000 };
  let storeProcess = false;
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--store-process') {
      storeProcess = true;
      i--;
      continue;
    }
    const key = argv[i].replace(/^--/, '') as keyof Opts;
    const v = Number(argv[i + 1]);
    if (!(key in o) || !Number.isInteger(v) || v < 0) throw new Error(`bad option ${argv[i]} ${argv[i + 1]}`);
    o[key] = v;
  }
  return { o, storeProcess };
}

/** Waits after a bulk load (see the header), then the measured phase's own warm-up follows. */
async function settle(o: Opts): Promise<void> {
  await new Promise((r) => setTimeout(r, o['settle-ms']));
}

/** Starts `server/src/embedded-mongo/cli.ts` in a child process on a free port; resolves with its URI. */
function startStoreProcess(dbPath: string): Promise<{ child: ChildProcess; uri: string }> {
  const cli = path.resolve(__dirname, '../server/src/embedded-mongo/cli.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', cli, '--port', '0', '--dbpath', dbPath, '--quiet'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`store process exited with ${code}`)));
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.startsWith('mongodb://'));
      if (line) resolve({ child, uri: line.trim() });
    });
  });
}

/** user+system CPU seconds of a (Linux) child process, from /proc; NaN elsewhere. */
function childCpuS(pid: number | undefined): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

interface CameraDoc {
  gbCode: string;
  name: string;
  regionId: ObjectId;
  gridId: ObjectId;
  address: string;
  location: { lon: number; lat: number };
  endpoint: { host: string; rtspPort: number; rtspPath: string; httpPort: number; onvifPort: number };
  probe: { kind: string; intervalSec: number; timeoutMs: number; retries: number };
  vendor: string;
  model: string;
  ownerUnit: string;
  maintainer: { org: string; contact: string; phone: string };
  sharing: string;
  tags: string[];
  enabled: boolean;
  status: string;
  installedAt: Date;
}

const STREETS = ['青泥洼桥', '人民路', '桃源', '友好', '海军广场', '昆明街', '老虎滩', '白云', '葵英', '湾园'];
const ROADS = ['中山路', '人民路', '解放路', '五五路', '鲁迅路', '长江路', '天津街', '港湾街'];
const VENDORS: [string, string][] = [
  ['海康威视', 'DS-2CD3T47'],
  ['大华', 'DH-IPC-HFW2433'],
  ['宇视', 'IPC2124LB'],
  ['天地伟业', 'TC-C32WP'],
];
const MAINTAINERS = ['大连天网运维有限公司', '中山区信息中心', '辽宁安防工程公司'];
const TAGS = ['路口', '高清', '人脸', '学校周边', '重点区域', '夜视'];

/** Deterministic pseudo-random numbers so every run inserts the same data. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function makeCameras(n: number, regions: ObjectId[], grids: ObjectId[]): CameraDoc[] {
  const r = rng(28181);
  const docs: CameraDoc[] = [];
  for (let i = 0; i < n; i++) {
    const regionIdx = Math.floor(r() * regions.length);
    const [vendor, model] = VENDORS[Math.floor(r() * VENDORS.length)];
    const street = STREETS[regionIdx % STREETS.length];
    const road = ROADS[Math.floor(r() * ROADS.length)];
    // GB/T 28181: 8-digit centre code (210302xx) + industry 00 + type 131/132 + network 0 + 6-digit serial
    const gbCode = `${'21030200'}00${i % 7 === 0 ? '131' : '132'}0${String(i).padStart(6, '0')}`;
    docs.push({
      gbCode,
      name: `${street}街道${road}${(i % 200) + 1}号路口 摄像机${i}`,
      regionId: regions[regionIdx],
      gridId: grids[Math.floor(r() * grids.length)],
      address: `辽宁省大连市中山区${road}${Math.floor(r() * 300) + 1}号`,
      location: { lon: 121.6 + r() * 0.1, lat: 38.88 + r() * 0.06 },
      endpoint: { host: `10.${2 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, rtspPort: 554, rtspPath: '/Streaming/Channels/101', httpPort: 80, onvifPort: 80 },
      probe: { kind: i % 3 === 0 ? 'rtsp' : 'tcp', intervalSec: 60, timeoutMs: 3000, retries: 3 },
      vendor,
      model,
      ownerUnit: `${street}街道办事处`,
      maintainer: { org: MAINTAINERS[i % MAINTAINERS.length], contact: '王工', phone: `1390411${String(i % 10000).padStart(4, '0')}` },
      sharing: ['own', 'up', 'all'][i % 3],
      tags: [TAGS[i % TAGS.length], TAGS[(i * 7) % TAGS.length]].filter((t, k, a) => a.indexOf(t) === k),
      enabled: r() > 0.02,
      status: r() > 0.05 ? 'UP' : 'DOWN',
      installedAt: new Date(Date.UTC(2018, 0, 1) + Math.floor(r() * 7 * 365 * 86400_000)),
    });
  }
  return docs;
}

/** Documents per region, in the order of `regions`, so every page asked for is a full one. */
function regionSizes(docs: CameraDoc[], regions: ObjectId[]): number[] {
  const byId = new Map(regions.map((id, i) => [id.toHexString(), i]));
  const sizes = regions.map(() => 0);
  for (const d of docs) sizes[byId.get(d.regionId.toHexString()) as number]++;
  return sizes;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const idx = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, idx)];
}

interface Latency {
  p50: number;
  p99: number;
  max: number;
  count: number;
  /** process CPU (user+system, client and in-process store together) per operation, µs */
  cpuUsPerOp: number;
}

/** CPU seconds used by this process since `since` (load-independent, unlike wall time on a shared machine). */
function cpuSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

async function measure(count: number, op: (i: number) => Promise<void>, warmUp = 200): Promise<Latency> {
  for (let i = 0; i < Math.min(warmUp, count); i++) await op(i); // warm-up: JIT, connection pool
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await op(i);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const cpuUsPerOp = (cpuSince(cpu0) * 1e6) / count;
  return { p50: percentile(times, 50), p99: percentile(times, 99), max: times[times.length - 1], count, cpuUsPerOp };
}

interface Result {
  via: 'driver' | 'mongoose';
  insertMs: number;
  insertCpuS: number;
  /** mongoose insertMany with lean: true (no hydration/validation). */
  leanInsertMs?: number;
  leanInsertCpuS?: number;
  lookup: Latency;
  page: Latency;
}

/** Sequential lookups: latency, not throughput, is what the target is about. */
async function runDriver(coll: Collection<CameraDoc>, docs: CameraDoc[], o: Opts, regions: ObjectId[]): Promise<Result> {
  await coll.createIndex({ gbCode: 1 }, { unique: true });
  await coll.createIndex({ regionId: 1, gbCode: 1 });
  const copies = docs.map((d) => ({ ...d }));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < copies.length; i += o.batch) await coll.insertMany(copies.slice(i, i + o.batch), { ordered: false });
  const insertMs = performance.now() - t0;
  const insertCpuS = cpuSince(c0);
  const count = await coll.countDocuments({});
  if (count !== docs.length) throw new Error(`driver: ${count} documents stored, expected ${docs.length}`);
  const r = rng(7);
  await settle(o);
  const lookup = await measure(o.lookups, async () => {
    const d = docs[Math.floor(r() * docs.length)];
    const found = await coll.findOne({ gbCode: d.gbCode });
    if (found?.gbCode !== d.gbCode) throw new Error(`lookup of ${d.gbCode} failed`);
  }, 1_000);
  const perRegion = regionSizes(docs, regions);
  const page = await measure(o.pages, async (i) => {
    const regionId = regions[i % regions.length];
    const size = perRegion[i % regions.length];
    const skip = Math.floor(r() * Math.max(1, size - 50));
    const rows = await coll.find({ regionId }).sort({ gbCode: 1 }).skip(skip).limit(50).toArray();
    if (rows.length !== Math.min(50, size)) throw new Error(`page returned ${rows.length} rows`);
  });
  return { via: 'driver', insertMs, insertCpuS, lookup, page };
}

async function runMongoose(uri: string, docs: CameraDoc[], o: Opts, regions: ObjectId[]): Promise<Result> {
  const conn = await mongoose.createConnection(uri, { autoIndex: false, serverSelectionTimeoutMS: 10_000 }).asPromise();
  try {
    const schema = new Schema<CameraDoc>(
      {
        gbCode: { type: String, required: true, unique: true, match: /^\d{20}$/ },
        name: { type: String, required: true },
        regionId: { type: Schema.Types.ObjectId, required: true, index: false },
        gridId: Schema.Types.ObjectId,
        address: String,
        location: { lon: Number, lat: Number },
        endpoint: { host: String, rtspPort: { type: Number, default: 554 }, rtspPath: String, httpPort: Number, onvifPort: Number },
        probe: { kind: String, intervalSec: Number, timeoutMs: Number, retries: Number },
        vendor: String,
        model: String,
        ownerUnit: String,
        maintainer: { org: String, contact: String, phone: String },
        sharing: { type: String, enum: ['own', 'up', 'all'] },
        tags: [String],
        enabled: Boolean,
        status: String,
        installedAt: Date,
      },
      { collection: 'cameras_mongoose' },
    );
    schema.index({ regionId: 1, gbCode: 1 });
    const Camera = conn.model<CameraDoc>('BenchCamera', schema);
    await Camera.createIndexes();
    // lean skips mongoose's hydration and validation: the path for an importer that already validated with zod
    const Lean = conn.model<CameraDoc>('BenchCameraLean', schema.clone().set('collection', 'cameras_mongoose_lean'));
    await Lean.createIndexes();
    const tl = performance.now();
    const cl = process.cpuUsage();
    for (let i = 0; i < docs.length; i += o.batch) await Lean.insertMany(docs.slice(i, i + o.batch), { ordered: false, lean: true });
    const leanInsertMs = performance.now() - tl;
    const leanInsertCpuS = cpuSince(cl);
    if ((await Lean.countDocuments({})) !== docs.length) throw new Error('mongoose lean: wrong document count');
    await Lean.collection.drop();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < docs.length; i += o.batch) await Camera.insertMany(docs.slice(i, i + o.batch), { ordered: false });
    const insertMs = performance.now() - t0;
    const insertCpuS = cpuSince(c0);
    const count = await Camera.countDocuments({});
    if (count !== docs.length) throw new Error(`mongoose: ${count} documents stored, expected ${docs.length}`);
    const r = rng(11);
    await settle(o);
    const lookup = await measure(o.lookups, async () => {
      const d = docs[Math.floor(r() * docs.length)];
      const found = await Camera.findOne({ gbCode: d.gbCode }).lean();
      if (found?.gbCode !== d.gbCode) throw new Error(`lookup of ${d.gbCode} failed`);
    }, 1_000);
    const perRegion = regionSizes(docs, regions);
    const page = await measure(o.pages, async (i) => {
      const regionId = regions[i % regions.length];
      const size = perRegion[i % regions.length];
      const skip = Math.floor(r() * Math.max(1, size - 50));
      const rows = await Camera.find({ regionId }).sort({ gbCode: 1 }).skip(skip).limit(50).lean();
      if (rows.length !== Math.min(50, size)) throw new Error(`page returned ${rows.length} rows`);
    });
    return { via: 'mongoose', insertMs, insertCpuS, leanInsertMs, leanInsertCpuS, lookup, page };
  } finally {
    await conn.close();
  }
}

const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

async function main(): Promise<void> {
  const { o, storeProcess } = parseOpts(process.argv.slice(2));
  const calibration = await calibrate();
  const loadBefore = os.loadavg()[0];
  const dbName = `vigil_bench_${Date.now().toString(36)}`;
  let embedded: EmbeddedMongo | undefined;
  let child: ChildProcess | undefined;
  let dataDir: string | undefined;
  let uri: string;
  let targetLabel: string;
  if (process.env.MONGODB_URI) {
    const u = new URL(process.env.MONGODB_URI);
    u.pathname = `/${dbName}`;
    uri = u.toString();
    targetLabel = `real MongoDB at ${u.host}`;
  } else if (storeProcess) {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
    const started = await startStoreProcess(dataDir);
    child = started.child;
    uri = `${started.uri.replace(/\/$/, '')}/${dbName}`;
    targetLabel = `embedded store (separate process pid ${child.pid}, dbPath ${dataDir}, ${new URL(uri).host})`;
  } else {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
    embedded = await startEmbeddedMongo({ dbPath: dataDir, host: '127.0.0.1', port: 0 });
    uri = embedded.uri(dbName);
    targetLabel = `embedded store (in-process, dbPath ${dataDir}, ${embedded.host}:${embedded.port})`;
  }
  const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 10_000 });
  const results: Result[] = [];
  let buildVersion = '?';
  try {
    buildVersion = String((await client.db().admin().command({ buildInfo: 1 })).version);
    const regions = Array.from({ length: 60 }, () => new ObjectId());
    const grids = Array.from({ length: 536 }, () => new ObjectId());
    const docs = makeCameras(o.n, regions, grids);
    results.push(await runDriver(client.db(dbName).collection<CameraDoc>('cameras_driver'), docs, o, regions));
    global.gc?.();
    results.push(await runMongoose(uri, docs, o, regions));
  } finally {
    if (!embedded) await client.db(dbName).dropDatabase().catch(() => undefined);
    await client.close();
  }
  const rss = process.memoryUsage().rss;
  const storeCpuS = childCpuS(child?.pid);
  await embedded?.close();
  if (child) {
    child.removeAllListeners('exit');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });

  const verdict = (ok: boolean) => (ok ? 'pass' : '**FAIL**');
  const lines: string[] = [];
  lines.push(`Target: ${targetLabel}, server version ${buildVersion}`);
  lines.push(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}; ${o.n.toLocaleString('en')} camera documents, unique index on gbCode, compound {regionId, gbCode}; inserts in batches of ${o.batch}.`);
  lines.push('');
  lines.push('| via | measure | result | target | verdict |');
  lines.push('|---|---|---|---|---|');
  for (const r of results) {
    const insertRow = (label: string, t: number, cpuS: number) =>
      `| ${r.via} | ${label} | ${(t / 1000).toFixed(2)} s wall (${Math.round(o.n / (t / 1000)).toLocaleString('en')} docs/s), ${cpuS.toFixed(2)} CPU-s | ≤ 5 s | ${verdict(t <= 5000)} |`;
    lines.push(insertRow(`bulk insert ${o.n.toLocaleString('en')} docs${r.via === 'mongoose' ? ' (insertMany, validated documents)' : ' (insertMany)'}`, r.insertMs, r.insertCpuS));
    if (r.leanInsertMs !== undefined) lines.push(insertRow(`bulk insert ${o.n.toLocaleString('en')} docs (insertMany, lean: true)`, r.leanInsertMs, r.leanInsertCpuS ?? NaN));
    lines.push(`| ${r.via} | point lookup by gbCode (${r.lookup.count} sequential) | p50 ${ms(r.lookup.p50)} ms, p99 ${ms(r.lookup.p99)} ms, max ${ms(r.lookup.max)} ms; ${Math.round(r.lookup.cpuUsPerOp)} CPU-µs/op | p99 ≤ 2 ms | ${verdict(r.lookup.p99 <= 2)} |`);
    lines.push(`| ${r.via} | page of 50: regionId filter, sort gbCode, varying skip (${r.page.count}) | p50 ${ms(r.page.p50)} ms, p99 ${ms(r.page.p99)} ms, max ${ms(r.page.max)} ms; ${Math.round(r.page.cpuUsPerOp)} CPU-µs/op | p99 ≤ 20 ms | ${verdict(r.page.p99 <= 20)} |`);
  }
  lines.push('');
  lines.push(`Machine load average (1 min) at start ${loadBefore.toFixed(1)}, at end ${os.loadavg()[0].toFixed(1)} — the machine is shared; above ~2 the latencies include waiting for a core.`);
  lines.push(`RSS at the end: ${mb(rss)} (${embedded ? 'benchmark client and embedded store in one process, 2 × ' + o.n.toLocaleString('en') + ' documents held' : 'benchmark client only'}).`);
  if (child) lines.push(`Store process CPU for the whole run: ${storeCpuS.toFixed(2)} s (user+system).`);
  lines.push(`Lookups measured after ${o['settle-ms']} ms settling + 1,000 unmeasured lookups following each bulk insert.`);
  lines.push(calibrationLine(calibration));
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
