/**
 * Registry benchmark (issue 3, "Speed"): through HTTP against the real app with the embedded store.
 *
 *   npm run bench:registry [-- --rows 100000 --total 300000 --iterations 100]
 *
 * 1. Boots the app in this process (embedded store in a temp DATA_DIR, AUTH_MODE=open, polling off so
 *    probes do not compete with the registry) and loads the synthetic demo district (5,400 points, 607 regions).
 * 2. Imports `--rows` new points as one GBK CSV through POST /cameras/import?mode=all-or-nothing and
 *    times the request end to end (upload, parse, validation, staging, apply). Target ≤ 30 s for 100,000.
 * 3. Fills the registry up to `--total` points with registry-shaped documents inserted directly (setup,
 *    not measured against a target; it would otherwise dominate the run).
 * 4. Measures list/filter pages (GET /cameras, limit 50, with the default total count) and counts per
 *    tier (GET /regions/counts, GET /regions/tree) sequentially: p50/p95/p99. Targets: page p95 ≤ 50 ms,
 *    counts ≤ 200 ms at 300,000 points.
 * Prints a Markdown table for BENCHMARKS.md. The client shares the process with the server, so every
 * figure includes the client's own request/JSON cost (a slight overestimate).
 *
 * Iteration aids (the default run is the full run): `--rows 0` skips the import, `--only <text>`
 * measures only list shapes whose label contains the text, `--no-counts` skips the counts, `--profile
 * <file>` writes a CPU profile of the list measurements alone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { Types } from 'mongoose';
import { decodeGbCode, formatGbCode } from '../server/src/cameras/gbcode';
import { searchFieldsOf } from '../server/src/cameras/search';
import { cameraInputSchema, stripEcho } from '../server/src/cameras/schema';
import { cameraAsInput } from '../server/src/cameras/documents';
import { csvLine } from '../server/src/cameras/transfer/csv';
import { encodeText } from '../server/src/cameras/transfer/decode';
import { loadConfig } from '../server/src/config';
import { createLogger } from '../server/src/lib/logger';
import { startServer } from '../server/src/server';
import { generateDemoDistrict, loadDemoDistrict } from '../server/src/demo/district';
import { calibrate, calibrationLine } from './bench-calibration';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const ROWS = arg('rows', 100_000);
const TOTAL = arg('total', 300_000);
const ITER = arg('iterations', 100);
const ONLY = ((): string | undefined => {
  const i = process.argv.indexOf('--only');
  return i >= 0 ? process.argv[i + 1] : undefined;
})();
const COUNTS = !process.argv.includes('--no-counts');
/** `--profile <file.cpuprofile>`: CPU profile of the list measurements only (not the import or fill). */
const PROFILE = ((): string | undefined => {
  const i = process.argv.indexOf('--profile');
  return i >= 0 ? process.argv[i + 1] : undefined;
})();

const VENDORS = ['海康威视', '大华', '宇视', '天地伟业'];
const ORGS = ['鞍山安讯科技有限公司', '中国联通鞍山分公司', '中国电信鞍山分公司', '鞍山宏远安防工程有限公司', '辽宁天网智能运维有限公司'];
const SCENES = ['路口', '小区出入口', '学校门口', '商铺', '公园', '菜市场', '停车场', '广场'];

/**
 * Measured requests slower than this are listed under the table with their start time in seconds since the
 * process started (the clock of `node --trace-gc`, to match a stall with a collection).
 */
const SLOW_MS = 50;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/**
 * Sequential GETs: 3 warm-up requests, then up to `n` measured ones, stopping early once `budgetMs` is
 * spent (a pathological query must not stall the whole run); `n` says how many were measured.
 */
async function timeGet(url: string, n: number, budgetMs = 20_000): Promise<{ p50: number; p95: number; p99: number; max: number; first: number; n: number; slow: string[] }> {
  const times: number[] = [];
  const slow: string[] = [];
  let first = 0;
  const started = performance.now();
  for (let i = 0; i < n + 3; i++) {
    const t = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url} → ${res.status}`);
    const ms = performance.now() - t;
    if (i === 0) first = ms;
    if (i >= 3) times.push(ms); // the first requests warm caches and the JIT
    if (i >= 3 && ms > SLOW_MS) slow.push(`${ms.toFixed(0)} ms at #${i - 3} (t=${(t / 1000).toFixed(2)} s)`);
    if (performance.now() - started > budgetMs && times.length >= 1) break;
  }
  if (times.length === 0) times.push(first);
  return { p50: pct(times, 50), p95: pct(times, 95), p99: pct(times, 99), max: Math.max(...times), first, n: times.length, slow };
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
  // BENCH_LOG_LEVEL=info also prints the import's phase timings (parse, load, map, stage, apply);
  // EMBEDDED_STORE_THREAD=false puts the store on this thread (so `node --cpu-prof` profiles it too)
  const config = loadConfig({ NODE_ENV: 'development', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', AUTH_MODE: 'open', DATA_DIR: dataDir, MONITOR_ENABLED: 'false', ...(process.env.EMBEDDED_STORE_THREAD ? { EMBEDDED_STORE_THREAD: process.env.EMBEDDED_STORE_THREAD } : {}) });
  const server = await startServer({ config, logger: createLogger(config.LOG_LEVEL) });
  const base = server.url.replace(/\/$/, '') + '/api/v1';
  const out: string[] = [];
  const log = (s: string): void => {
    out.push(s);
    process.stdout.write(s + '\n');
  };
  try {
    log(`# bench:registry ${new Date().toISOString()} — ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    log(calibrationLine(await calibrate()));
    const demo = generateDemoDistrict();
    const demoLoad = await loadDemoDistrict(server.registry);
    log(`demo district loaded: ${demoLoad.regions} regions, ${demoLoad.points} points in ${demoLoad.tookMs} ms`);

    const byId = new Map(demo.regions.map((r) => [r.id, r]));
    const communities = demo.regions.filter((r) => r.tier === 'community');
    const gridsOf = new Map(communities.map((c) => [c.id, demo.regions.filter((g) => g.parentId === c.id)]));
    const nvrsOf = new Map<string, string[]>();
    for (const p of demo.points) if (p.upstreamGbCode === null) nvrsOf.set(p.regionId, [...(nvrsOf.get(p.regionId) ?? []), p.gbCode]);
    const streetNo = (streetId: string): string => (byId.get(streetId)?.code ?? '210302001').slice(7, 9);

    // 1. the import file
    const header = ['国标编码', '名称', '所属街道', '所属社区', '网格', '地址', '经度', '纬度', 'IP地址', 'RTSP端口', '厂商', '型号', '运维单位', '联系人', '联系电话', '共享', '上级设备', '标签', '启用', '安装日期'];
    let csv = csvLine(header);
    let sampleCode = '';
    for (let i = 0; i < ROWS; i++) {
      const c = communities[i % communities.length];
      const street = byId.get(c.parentId as string);
      const grids = gridsOf.get(c.id) ?? [];
      const nvrs = nvrsOf.get(c.id) ?? [];
      const code = formatGbCode({ center: `210302${streetNo(c.parentId as string)}`, industry: '03', type: '132', network: '0', serial: i + 1 });
      if (i === Math.floor(ROWS / 2)) sampleCode = code;
      csv += csvLine([
        code,
        `${c.name}${SCENES[i % SCENES.length]}-${i}`,
        street?.name ?? '',
        c.name,
        grids[i % grids.length]?.name ?? '',
        `辽宁省鞍山市铁东区人民路${i % 300}号`,
        (122.96 + (i % 9000) / 100000).toFixed(6),
        (41.08 + (i % 6000) / 100000).toFixed(6),
        `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) || 1}`,
        '554',
        VENDORS[i % VENDORS.length],
        'IPC-BENCH',
        ORGS[i % ORGS.length],
        '王工',
        '0412-5550101',
        i % 3 === 0 ? '本级' : i % 3 === 1 ? '向上' : '全部',
        i % 5 === 0 ? '' : (nvrs[i % Math.max(1, nvrs.length)] ?? ''),
        'bench',
        '是',
        '2024-05-01',
      ]);
    }
    if (ROWS > 0) {
      const file = encodeText(csv, 'gb18030');
      log(`import file: ${ROWS} rows, ${(file.length / 1048576).toFixed(1)} MiB GBK CSV`);
      const form = new FormData();
      form.append('file', new Blob([file]), 'bench.csv');
      const t0 = performance.now();
      const res = await fetch(`${base}/cameras/import?mode=all-or-nothing`, { method: 'POST', body: form });
      const report = (await res.json()) as { totals?: Record<string, number>; error?: unknown };
      const importMs = performance.now() - t0;
      if (res.status !== 200) throw new Error(`import failed: ${res.status} ${JSON.stringify(report).slice(0, 500)}`);
      log(`import of ${ROWS} rows: ${(importMs / 1000).toFixed(1)} s (${Math.round(ROWS / (importMs / 1000))} rows/s) totals ${JSON.stringify(report.totals)}`);
    }

    // 3. fill to TOTAL with registry-shaped documents
    const coll = server.registry.cameras.model.collection;
    let have = await coll.countDocuments({});
    const fillStart = performance.now();
    const now = new Date();
    let serial = 0;
    while (have < TOTAL) {
      const n = Math.min(5000, TOTAL - have);
      const docs = [];
      for (let k = 0; k < n; k++) {
        const i = serial++;
        const c = communities[i % communities.length];
        const grids = gridsOf.get(c.id) ?? [];
        const gbCode = formatGbCode({ center: `210302${streetNo(c.parentId as string)}`, industry: '04', type: i % 10 ? '132' : '131', network: '0', serial: i + 1 });
        if (!sampleCode && i === 1000) sampleCode = gbCode; // --rows 0: the lookup needs some code
        const name = `${c.name}${SCENES[i % SCENES.length]}填充-${i}`;
        const address = `辽宁省鞍山市铁东区胜利路${i % 500}号`;
        docs.push({
          _id: new Types.ObjectId(),
          gbCode,
          name,
          regionId: new Types.ObjectId(c.id),
          gridId: grids.length ? new Types.ObjectId(grids[i % grids.length].id) : null,
          address,
          location: { lon: 122.96 + (i % 9000) / 100000, lat: 41.08 + (i % 6000) / 100000 },
          endpoint: { host: `10.200.${(i >> 8) & 255}.${(i & 255) || 1}`, rtspPort: 554, rtspPath: '', httpPort: null, onvifPort: null },
          probe: { kind: 'tcp', intervalSec: 60, timeoutMs: 3000, retries: 3 },
          vendor: VENDORS[i % VENDORS.length],
          model: 'IPC-FILL',
          ownerUnit: '',
          maintainer: { org: ORGS[i % ORGS.length], contact: '', phone: '' },
          sharing: (['own', 'up', 'all'] as const)[i % 3],
          upstreamId: null,
          tags: ['bench-fill'],
          enabled: i % 50 !== 0,
          installedAt: null,
          note: '',
          gb: decodeGbCode(gbCode),
          status: { state: 'UNKNOWN', since: now, lastCheckAt: null, rttMs: null, flapping: false, reason: null },
          ...searchFieldsOf({ name, address, gbCode }),
          version: 1,
          createdAt: now,
          updatedAt: now,
        });
      }
      await coll.insertMany(docs, { ordered: false });
      have += n;
    }
    // the fill bypassed the service: its point counts must be rebuilt (by the first request below), and one
    // write through the service follows as usual
    server.registry.cameras.invalidateCounts();
    const [stored] = await server.registry.cameras.findByGbCodes([demo.points[0].gbCode]);
    const touched = stripEcho(cameraInputSchema.parse({ ...cameraAsInput(stored), name: `${stored.name}*` }));
    await server.registry.cameras.upsertManyValidated([touched], { userId: 'bench', username: 'bench' }, { audit: false });
    const fillMs = performance.now() - fillStart;
    // the list total must count the filled points too (they bypassed the service); this first request
    // rebuilds the point counts from the store (what a restart or a foreign write costs once)
    const coldStart = performance.now();
    const listed = (await (await fetch(`${base}/cameras?limit=1`)).json()) as { total: number };
    if (listed.total !== have) throw new Error(`list total ${listed.total} != ${have} stored points: the counts missed the fill`);
    log(`filled to ${have} points by direct insert in ${(fillMs / 1000).toFixed(1)} s (setup, not a target); first list with cold point counts ${(performance.now() - coldStart).toFixed(0)} ms`);

    // 4. latency through HTTP
    const street = demo.regions.find((r) => r.tier === 'street') as { id: string };
    const community = communities[7];
    const first = (await (await fetch(`${base}/cameras?limit=50&regionId=${street.id}`)).json()) as { nextCursor: string | null };
    const queries: Array<[string, string]> = [
      ['first page, all points (sort gbCode, with total)', `${base}/cameras?limit=50`],
      ['street subtree', `${base}/cameras?limit=50&regionId=${street.id}`],
      ['street subtree, page 2 (cursor)', `${base}/cameras?limit=50&regionId=${street.id}&cursor=${encodeURIComponent(first.nextCursor ?? '')}&count=false`],
      ['community + vendor', `${base}/cameras?limit=50&regionId=${community.id}&vendor=${encodeURIComponent('大华')}`],
      ['maintainer + enabled=false', `${base}/cameras?limit=50&maintainer=${encodeURIComponent(ORGS[1])}&enabled=false`],
      ['tier=community, sort by name', `${base}/cameras?limit=50&tier=community&sort=name`],
      ['text search q=路口', `${base}/cameras?limit=50&q=${encodeURIComponent('路口')}`],
      // three characters and more: narrowed by the rarest bigram, then every candidate is tested (and counted)
      [`text search q=${community.name} (a community's name)`, `${base}/cameras?limit=50&q=${encodeURIComponent(community.name)}`],
      ['text search q=胜利路 (in 2 of 3 addresses)', `${base}/cameras?limit=50&q=${encodeURIComponent('胜利路')}`],
      ['gbCode lookup (q=20 digits)', `${base}/cameras?limit=50&q=${sampleCode}`],
    ];
    log('');
    log(`lists measured from t=${(performance.now() / 1000).toFixed(2)} s`);
    log(`| GET (limit 50) at ${have} points | n | first ms | p50 ms | p95 ms | p99 ms | max ms |`);
    log('|---|---|---|---|---|---|---|');
    const slowNotes: string[] = [];
    const session = PROFILE ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    for (const [label, url] of queries) {
      if (ONLY !== undefined && !label.includes(ONLY)) continue;
      const r = await timeGet(url, ITER);
      log(`| ${label} | ${r.n} | ${r.first.toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} |`);
      if (r.slow.length) slowNotes.push(`${label}: ${r.slow.join(', ')}`);
    }
    for (const note of slowNotes) log(`slow (> ${SLOW_MS} ms) — ${note}`);
    if (session && PROFILE) {
      const { profile } = await session.post('Profiler.stop');
      fs.writeFileSync(PROFILE, JSON.stringify(profile));
      session.disconnect();
    }
    if (COUNTS) {
      log('');
      log(`| counts at ${have} points | n | first ms | p50 ms | p95 ms | p99 ms | max ms |`);
      log('|---|---|---|---|---|---|---|');
      for (const [label, url] of [
        ['GET /regions/counts (per tier, whole district)', `${base}/regions/counts`],
        ['GET /regions/counts?regionId=<street>', `${base}/regions/counts?regionId=${street.id}`],
        ['GET /regions/tree (607 nodes with counts)', `${base}/regions/tree`],
      ] as Array<[string, string]>) {
        const r = await timeGet(url, Math.max(10, Math.floor(ITER / 3)));
        log(`| ${label} | ${r.n} | ${r.first.toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} |`);
      }
    }
    log('');
    log(`rss ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB; load average after ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:registry failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
