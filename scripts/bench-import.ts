/**
 * Import benchmark (issue 12, finding 1): one large file must not take the service down.
 *
 *   npm run bench:import [-- --rows 1000000 --bomb-mb 200 --no-bomb --warmup 20 --heap-snapshots DIR --trace-gc FILE --cpu-prof DIR --alloc-prof DIR]
 *
 * 1. Starts the embedded store as its own process (so the server's RSS is the server's alone) and the
 *    server as another (`node server/src/main.ts --demo`: the demo district, 5,400 points on 127.20.x.y,
 *    polled every 60 s by the real engine) with IMPORT_LIMIT_BYTES raised to 400 MB; the camera
 *    simulator (`scripts/sim/main.ts --demo`) answers those points' probes from a third process.
 * 2. Writes a `--rows`-row GBK CSV of new points in the demo district's streets to a temporary file (~220
 *    bytes a row; the points are disabled, so the engine does not start probing a million fake hosts) and uploads it with `mode=valid-only&async=true`, then follows the job until it ends.
 * 3. Meanwhile: `GET /healthz` every 250 ms (each must answer within 200 ms), the server's RSS from
 *    /proc every second (growth over the idle figure before the upload: ≤ 512 MB), and the polling
 *    engine's cycle lag (`vigil_schedule_lag_current_seconds` from /metrics every second: p99 ≤ 1 s).
 * 4. Before the import (after the warm-up): uploads a `--bomb-mb` MB zip-bomb XLSX (inflating to ~64 GiB for
 *    200 MB) and times the 413.
 * 5. `--heap-snapshots DIR`: the server runs with `--heapsnapshot-signal=SIGUSR2` and writes a heap snapshot into DIR
 *    before the upload and another once the import has ended (compare them with `scripts/heap-diff.ts`).
 * 6. `--alloc-prof DIR`: the server samples its allocations (collected ones included: where the garbage comes from)
 *    and writes a `.heapprofile` into DIR when it stops (`scripts/alloc-prof.ts`; read with `scripts/heap-profile-top.ts`).
 * Prints the calibration figure and a summary for BENCHMARKS.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { formatGbCode } from '../server/src/cameras/gbcode';
import { csvLine } from '../server/src/cameras/transfer/csv';
import { encodeText } from '../server/src/cameras/transfer/decode';
import { generateDemoDistrict } from '../server/src/demo/district';
import { calibrate, calibrationLine } from './bench-calibration';
import { writeZipBomb } from './zip-bomb';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const ROWS = arg('rows', 1_000_000);
const BOMB_MB = arg('bomb-mb', 200);
const WARMUP_S = arg('warmup', 20);
const BOMB = !process.argv.includes('--no-bomb');
/** The path after `--name` (null without the flag); a flag without one stops the bench naming it. */
function pathArg(name: string): string | null {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return null;
  const value = process.argv[i + 1];
  if (!value || value.startsWith('--')) throw new Error(`--${name} needs a path`);
  return path.resolve(value);
}
const SNAPSHOT_DIR = pathArg('heap-snapshots');
/** `--trace-gc FILE`: the server runs with `--trace-gc`, its stdout goes to FILE, and its GC pauses are summed up at the end. */
const TRACE_GC = pathArg('trace-gc');
/** `--cpu-prof DIR`: the server writes a V8 CPU profile into DIR when it stops (read it in Chrome's DevTools). */
const CPU_PROF_DIR = pathArg('cpu-prof');
/** `--alloc-prof DIR`: the server samples its allocations (scripts/alloc-prof.ts) and writes them into DIR when it stops. */
const ALLOC_PROF_DIR = pathArg('alloc-prof');
const root = path.resolve(__dirname, '..');
const tsx = ['--require', require.resolve('tsx/cjs')];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function waitLine(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${String(re)}: ${out.slice(-2000)}`)), timeoutMs);
    const on = (d: Buffer): void => {
      out += d.toString();
      const m = out.match(re);
      if (m) {
        clearTimeout(t);
        resolve(m);
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}

/** The V8 heap (total and used, old and new space) and memory outside it, in MB, from the server's /metrics. */
function memoryOf(metrics: string): Record<string, number> {
  const mb = (re: RegExp): number => Number(re.exec(metrics)?.[1] ?? NaN) / 1048576;
  return {
    'heap total': mb(/^vigil_nodejs_heap_size_total_bytes\s+(\S+)/m),
    'heap used': mb(/^vigil_nodejs_heap_size_used_bytes\s+(\S+)/m),
    'old space total': mb(/^vigil_nodejs_heap_space_size_total_bytes\{space="old"\}\s+(\S+)/m),
    'old space used': mb(/^vigil_nodejs_heap_space_size_used_bytes\{space="old"\}\s+(\S+)/m),
    'new space total': mb(/^vigil_nodejs_heap_space_size_total_bytes\{space="new"\}\s+(\S+)/m),
    external: mb(/^vigil_nodejs_external_memory_bytes\s+(\S+)/m),
  };
}

/** The server's GC pauses from its `--trace-gc` lines ("… ms: Mark-Compact 400.1 (420.0) -> 300.2 (310.0) MB, 150.3 / 0.0 ms …"). */
function gcPauses(trace: string): string {
  const byKind = new Map<string, number[]>();
  for (const m of trace.matchAll(/ ms: ([A-Za-z-]+(?: \(reduce\))?)[^\n]*?MB, ([\d.]+) \/ [\d.]+ ms/g)) {
    const list = byKind.get(m[1]) ?? [];
    list.push(Number(m[2]));
    byKind.set(m[1], list);
  }
  const parts = [...byKind].map(([kind, ms]) => `${kind} ${ms.length}× (max ${Math.max(...ms).toFixed(0)} ms, ≥ 100 ms: ${ms.filter((x) => x >= 100).length}, ≥ 200 ms: ${ms.filter((x) => x >= 200).length})`);
  return `server GC pauses over the whole run (--trace-gc): ${parts.join('; ') || 'none found'}`;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The import file, written in pieces: new points spread over the demo district's communities. */
function writeCsv(file: string, rows: number): number {
  const demo = generateDemoDistrict();
  const byId = new Map(demo.regions.map((r) => [r.id, r]));
  const communities = demo.regions.filter((r) => r.tier === 'community');
  const nvrsOf = new Map<string, string[]>();
  for (const p of demo.points) if (p.upstreamGbCode === null) nvrsOf.set(p.regionId, [...(nvrsOf.get(p.regionId) ?? []), p.gbCode]);
  const header = ['国标编码', '名称', '所属街道', '所属社区', '地址', '经度', '纬度', 'IP地址', 'RTSP端口', '厂商', '型号', '运维单位', '联系人', '联系电话', '共享', '上级设备', '标签', '启用', '安装日期'];
  const vendors = ['海康威视', '大华', '宇视', '天地伟业'];
  const orgs = ['鞍山安讯科技有限公司', '中国联通鞍山分公司', '中国电信鞍山分公司', '鞍山宏远安防工程有限公司'];
  const fd = fs.openSync(file, 'w');
  let size = 0;
  try {
    let text = csvLine(header);
    for (let i = 0; i < rows; i++) {
      const c = communities[i % communities.length];
      const street = byId.get(c.parentId as string);
      const nvrs = nvrsOf.get(c.id) ?? [];
      // network digit 1–9 (the demo uses 0): a million serials per digit
      const code = formatGbCode({ center: `210302${(street?.code ?? '210302001').slice(7, 9)}`, industry: '03', type: '132', network: String(1 + Math.floor(i / 1_000_000)), serial: i % 1_000_000 });
      text += csvLine([
        code,
        `${c.name}路口-${i}`,
        street?.name ?? '',
        c.name,
        `辽宁省鞍山市铁东区人民路${i % 300}号`,
        (122.96 + (i % 9000) / 100000).toFixed(6),
        (41.08 + (i % 6000) / 100000).toFixed(6),
        `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) || 1}`,
        '554',
        vendors[i % vendors.length],
        'IPC-BENCH',
        orgs[i % orgs.length],
        '王工',
        '0412-5550101',
        i % 3 === 0 ? '本级' : i % 3 === 1 ? '向上' : '全部',
        i % 5 === 0 ? '' : (nvrs[i % Math.max(1, nvrs.length)] ?? ''),
        'bench',
        '否', // disabled: a million unreachable 10.x hosts would swamp the polling engine the run measures
        '2024-05-01',
      ]);
      if (text.length > 1_000_000 || i === rows - 1) {
        const b = encodeText(text, 'gb18030');
        fs.writeSync(fd, b);
        size += b.length;
        text = '';
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return size;
}

interface Job {
  id: string;
  state: string;
  phase: string;
  progress: { bytesDone: number; bytesTotal: number | null; rowsDone: number; rowsTotal: number | null; rowsToApply: number; rowsApplied: number };
  report: { totals: Record<string, number> } | null;
  error: unknown;
}

async function main(): Promise<void> {
  const out: string[] = [];
  const log = (s: string): void => {
    out.push(s);
    process.stdout.write(s + '\n');
  };
  log(`# bench:import ${new Date().toISOString()} — ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  log(calibrationLine(await calibrate()));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-import-'));
  const children: ChildProcess[] = [];
  const stopAll = (): void => {
    for (const c of children.reverse()) if (c.exitCode === null) c.kill('SIGTERM');
  };
  process.on('SIGINT', () => {
    stopAll();
    process.exit(130);
  });
  try {
    const storePort = await freePort();
    const store = spawn(process.execPath, [...tsx, path.join(root, 'server/src/embedded-mongo/cli.ts'), '--port', String(storePort), '--dbpath', path.join(work, 'db'), '--quiet'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(store);
    fs.mkdirSync(path.join(work, 'db'));
    await waitLine(store, /mongodb:\/\/\S+/, 60_000);

    const port = await freePort();
    const rtspPort = await freePort();
    const httpPort = await freePort();
    const controlPort = await freePort();
    if (SNAPSHOT_DIR) fs.mkdirSync(SNAPSHOT_DIR, { recursive: true });
    const snapshotArgs = SNAPSHOT_DIR ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${SNAPSHOT_DIR}`] : [];
    const server = spawn(process.execPath, [...snapshotArgs, ...(TRACE_GC ? ['--trace-gc'] : []), ...(CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : []), ...tsx, ...(ALLOC_PROF_DIR ? ['--require', path.join(root, 'scripts/alloc-prof.ts')] : []), path.join(root, 'server/src/main.ts'), '--demo'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: String(port),
        AUTH_MODE: 'open',
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
        MONGODB_URI: `mongodb://127.0.0.1:${storePort}/vigil`,
        DATA_DIR: path.join(work, 'data'),
        IMPORT_LIMIT_BYTES: String(400 * 1024 * 1024),
        MONITOR_ENABLED: 'true',
        DEMO_SIM_RTSP_PORT: String(rtspPort),
        DEMO_SIM_HTTP_PORT: String(httpPort),
        ...(ALLOC_PROF_DIR ? { VIGIL_ALLOC_PROF: ALLOC_PROF_DIR } : {}),
      },
    });
    children.push(server);
    server.stderr?.on('data', (d: Buffer) => process.stderr.write(`[server] ${d.toString()}`));
    const gcTrace = TRACE_GC ? fs.createWriteStream(TRACE_GC) : null;
    if (gcTrace) server.stdout?.on('data', (d: Buffer) => gcTrace.write(d));
    await waitLine(server, /Demo district loaded|registry is not empty/, 300_000);
    const base = `http://127.0.0.1:${port}`;
    /** Writes a heap snapshot of the server (blocking it meanwhile) and waits until it answers again. */
    const heapSnapshot = async (label: string): Promise<void> => {
      if (!SNAPSHOT_DIR) return;
      const before = new Set(fs.readdirSync(SNAPSHOT_DIR));
      const t = performance.now();
      process.kill(server.pid as number, 'SIGUSR2');
      let file: string | undefined;
      for (;;) {
        await sleep(1000);
        file ??= fs.readdirSync(SNAPSHOT_DIR).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
        if (!file) continue;
        try {
          if ((await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) })).ok) break;
        } catch {
          /* still writing */
        }
      }
      const named = path.join(SNAPSHOT_DIR, `${label}.heapsnapshot`);
      fs.renameSync(path.join(SNAPSHOT_DIR, file), named);
      log(`heap snapshot ${label}: ${named} (${(fs.statSync(named).size / 1e6).toFixed(0)} MB, ${((performance.now() - t) / 1000).toFixed(0)} s)`);
    };
    const api = `${base}/api/v1`;
    const sim = spawn(process.execPath, [...tsx, path.join(root, 'scripts/sim/main.ts'), '--demo', '--rtsp-port', String(rtspPort), '--http-port', String(httpPort), '--control-port', String(controlPort)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(sim);
    await waitLine(sim, /"control":"([^"]+)"/, 120_000);
    log(`server pid ${server.pid}, store pid ${store.pid}, simulator pid ${sim.pid}; demo district (5,400 polled points) loaded`);

    const csvFile = path.join(work, 'bench.csv');
    const t0 = performance.now();
    const size = writeCsv(csvFile, ROWS);
    log(`import file: ${ROWS} rows, ${(size / 1048576).toFixed(1)} MiB GBK CSV (written in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);

    // probes: healthz every 250 ms, RSS and cycle lag every second
    const health: number[] = [];
    const slowHealth: string[] = [];
    const rss: number[] = [];
    const lag: number[] = [];
    /** What the server's own metrics say of its memory at each RSS sample (MB): where the RSS is. */
    const memAt: Array<Record<string, number>> = [];
    let probing = true;
    let phaseNote = 'idle';
    const healthLoop = (async () => {
      while (probing) {
        const t = performance.now();
        // CLOCK_MONOTONIC is the machine's: the server's CPU profile (--cpu-prof) counts its timestamps on it
        const sentUs = process.hrtime.bigint() / 1000n;
        let ms: number;
        try {
          const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(10_000) });
          await res.arrayBuffer();
          ms = performance.now() - t;
          if (res.status !== 200) slowHealth.push(`status ${res.status}`);
        } catch {
          ms = performance.now() - t;
          slowHealth.push(`failed after ${ms.toFixed(0)} ms`);
        }
        health.push(ms);
        if (ms > 200) slowHealth.push(`${ms.toFixed(0)} ms during ${phaseNote}${CPU_PROF_DIR ? ` (sent at monotonic ${sentUs} µs)` : ''}`);
        await sleep(Math.max(0, 250 - ms));
      }
    })();
    const sampleLoop = (async () => {
      while (probing) {
        rss.push(rssMb(server.pid as number));
        try {
          const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
          const m = /^vigil_schedule_lag_current_seconds\s+([0-9.eE+-]+)/m.exec(text);
          if (m) lag.push(Number(m[1]));
          memAt[rss.length - 1] = memoryOf(text);
        } catch {
          /* counted by the health loop */
        }
        await sleep(1000);
      }
    })();

    log(`warm-up: ${WARMUP_S} s of polling before the upload`);
    await sleep(WARMUP_S * 1000);
    const idleRss = pct(rss, 50);
    const idleMem = memAt.at(-1);
    const idleLag = [...lag];
    const idleHealth = [...health];
    health.length = 0;
    slowHealth.length = 0;
    rss.length = 0;
    memAt.length = 0;
    lag.length = 0;
    log(
      `idle (no import): server RSS ${idleRss.toFixed(0)} MB (heap ${idleMem?.['heap total']?.toFixed(0)}, used ${idleMem?.['heap used']?.toFixed(0)}, external ${idleMem?.external?.toFixed(0)}); /healthz ${idleHealth.length} probes p50 ${pct(idleHealth, 50).toFixed(1)} ms, p99 ${pct(idleHealth, 99).toFixed(1)} ms, ` +
        `over 200 ms: ${idleHealth.filter((x) => x > 200).length}; cycle lag p99 ${pct(idleLag, 99).toFixed(3)} s, max ${Math.max(0, ...idleLag).toFixed(3)} s`,
    );

    if (BOMB) {
      const bombFile = path.join(work, 'bomb.xlsx');
      const bombSize = writeZipBomb(bombFile, BOMB_MB * 1_000_000);
      const bform = new FormData();
      bform.append('file', await fs.openAsBlob(bombFile), 'bomb.xlsx');
      const tb = performance.now();
      const what = `zip bomb: ${(bombSize / 1e6).toFixed(0)} MB XLSX (inflates to ~${Math.round(bombSize / 3200 / 1024)} GiB)`;
      try {
        const br = await fetch(`${api}/cameras/import?mode=dry-run`, { method: 'POST', body: bform });
        const bb = (await br.json()) as { error?: { message?: string } };
        const bombS = (performance.now() - tb) / 1000;
        log(`${what} → ${br.status} in ${bombS.toFixed(2)} s (upload included; target ≤ 5 s; measured before the import, the demo polled meanwhile): ${bb.error?.message ?? ''}`);
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        log(`${what} → the upload failed after ${((performance.now() - tb) / 1000).toFixed(2)} s: ${String(err)} (${cause?.code ?? ''} ${cause?.message ?? ''})`);
      }
      fs.rmSync(bombFile, { force: true });
    }
    health.length = 0;
    slowHealth.length = 0;
    rss.length = 0;
    memAt.length = 0;
    lag.length = 0;
    await heapSnapshot('before');
    health.length = 0;
    slowHealth.length = 0;
    rss.length = 0;
    memAt.length = 0;
    lag.length = 0;
    phaseNote = 'upload';
    const form = new FormData();
    form.append('file', await fs.openAsBlob(csvFile), 'bench.csv');
    const started = performance.now();
    const res = await fetch(`${api}/cameras/import?mode=valid-only&async=true`, { method: 'POST', body: form });
    const accepted = (await res.json()) as Job;
    if (res.status !== 202) throw new Error(`import not accepted: ${res.status} ${JSON.stringify(accepted).slice(0, 500)}`);
    log(`upload: 202 after ${((performance.now() - started) / 1000).toFixed(1)} s, job ${accepted.id}`);
    // a second import meanwhile gets 409 naming the running job
    const second = new FormData();
    second.append('file', new Blob([Buffer.from('国标编码,名称\n')]), 'x.csv');
    const r409 = await fetch(`${api}/cameras/import?mode=dry-run`, { method: 'POST', body: second });
    const b409 = (await r409.json()) as { error?: { details?: { jobId?: string } } };
    log(`second import meanwhile: ${r409.status} naming job ${b409.error?.details?.jobId ?? '?'}`);
    let job = accepted;
    let lastLog = 0;
    for (;;) {
      await sleep(1000);
      try {
        job = (await (await fetch(`${api}/cameras/import/jobs/${accepted.id}`, { signal: AbortSignal.timeout(30_000) })).json()) as Job;
      } catch (err) {
        log(`  job poll failed (${String(err)}); polling again`);
        continue;
      }
      phaseNote = job.phase;
      const now = performance.now();
      if (job.state !== 'running') break;
      if (now - lastLog > 30_000) {
        lastLog = now;
        const p = job.progress;
        log(
          `  t=${((now - started) / 1000).toFixed(0)} s ${job.phase}: ${p.rowsDone} rows read (${p.bytesTotal ? ((100 * p.bytesDone) / p.bytesTotal).toFixed(0) : '?'} % of the file), ${p.rowsApplied}/${p.rowsToApply} written; ` +
            `RSS ${rss.at(-1)?.toFixed(0)} MB (max ${Math.max(...rss).toFixed(0)}; heap ${memAt.at(-1)?.['heap total']?.toFixed(0)} of which used ${memAt.at(-1)?.['heap used']?.toFixed(0)}, external ${memAt.at(-1)?.external?.toFixed(0)}); /healthz so far max ${Math.max(...health).toFixed(0)} ms, ${slowHealth.length} over 200 ms of ${health.length}; lag so far p99 ${pct(lag, 99).toFixed(3)} s`,
        );
      }
    }
    const tookS = (performance.now() - started) / 1000;
    phaseNote = 'after';
    await sleep(3000);
    probing = false;
    await Promise.all([healthLoop, sampleLoop]);
    // the live index applies registry changes after a debounce: let it settle before the second snapshot
    await sleep(5000);
    await heapSnapshot('after');
    if (job.state !== 'done') throw new Error(`import failed: ${JSON.stringify(job.error).slice(0, 500)}`);
    const maxRss = Math.max(...rss);
    const peakMem = memAt[rss.indexOf(maxRss)];
    if (peakMem) log(`at the RSS peak (MB): ${Object.entries(peakMem).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    log(`import of ${ROWS} rows (valid-only): ${tookS.toFixed(1)} s (${Math.round(ROWS / tookS)} rows/s) totals ${JSON.stringify(job.report?.totals)}`);
    log(`server RSS: idle ${idleRss.toFixed(0)} MB, max ${maxRss.toFixed(0)} MB during the import → growth ${(maxRss - idleRss).toFixed(0)} MB (target ≤ 512 MB)`);
    log(`/healthz: ${health.length} probes, p50 ${pct(health, 50).toFixed(1)} ms, p99 ${pct(health, 99).toFixed(1)} ms, max ${Math.max(...health).toFixed(1)} ms; over 200 ms: ${slowHealth.length} (target 0)`);
    if (slowHealth.length) log(`  slow/failed probes: ${slowHealth.slice(0, 20).join('; ')}`);
    if (TRACE_GC) log(gcPauses(fs.readFileSync(TRACE_GC, 'utf8')));
    log(`polling cycle lag (sampled each second): p50 ${pct(lag, 50).toFixed(3)} s, p99 ${pct(lag, 99).toFixed(3)} s, max ${Math.max(0, ...lag).toFixed(3)} s over ${lag.length} samples (target p99 ≤ 1 s)`);

  } finally {
    stopAll();
    await sleep(2000);
    fs.rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(`\n--- summary ---\n${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:import failed: ${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
