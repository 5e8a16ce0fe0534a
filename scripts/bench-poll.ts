/**
 * Polling benchmark (`npm run bench:poll -- [options]`), issue 4 "Speed". CPU heavy: run it alone.
 *
 *   --points N        simulated points (default 300000), each on its own 127.x.y.z
 *   --interval S      check interval, seconds (default 60) → N / S probes per second
 *   --duration S      measured run length, seconds (default 90), after --warmup S (default 5) of polling
 *   --kinds K         tcp,rtsp (default: half tcp, half rtsp) or tcp
 *   --outage-at S     when the simulator takes 1 % of the points down (default 5; 0 = no outage)
 *   --retry-ms MS     interval between retries while PENDING (default 5000)
 *   --bbe-rate R      blackbox_exporter /probe?module=tcp_connect requests per second (default 300; 0 = off)
 *   --tick-ms MS      dispatch tick (MONITOR_DISPATCH_TICK_MS; default: the config default)
 *   --socket K        probe socket layer raw|net (PROBE_SOCKET; default raw)
 *   --no-store        engine only: no embedded store, nothing written (default: store in this process, as npm start)
 *   --rollup-pass-at S when the periodic rollup pass over all points is started (default 30; it runs every 5 min)
 *   --bbe-bin PATH    exporter binary (default /usr/bin/prometheus-blackbox-exporter)
 *   --overload        run at 1.5× this machine's capacity (--overload-factor F): first --calibrate S (default 15 +
 *                     --duration) s at an interval nobody keeps (--calibration-rate, default 30,000 checks/s), where the admission
 *                     control settles at what the engine carries with a responsive event loop (the capacity C, mean
 *                     of the calibration after its first 15 s, a window with the same rollup pass at the same moment
 *                     as the measured phase: the capacity is measured under the work the measured phase will have;
 *                     the production crons' passes and resync are moved out of the run, so each phase has exactly
 *                     its one pass); then the engine is stopped, every point's interval set to
 *                     points ÷ (F × C) in the store (whole seconds, rounded down), and the engine restarted from it (as after a restart in
 *                     production); after --settle-intervals (default 4) intervals (whose second half checks the
 *                     overload: under F by more than 3 % or over it by more than 7 %, the engine is restarted once more at
 *                     the interval made from the lower of the two capacities measured,
 *                     and settles again) the run is measured: outage
 *                     confirmation p50/p99, event-loop delay p99, effective interval, longest gap between two
 *                     checks of a point
 *   --calibration-rate R  --overload: checks a second wanted during the calibration (default 30,000; a calibration
 *                     the engine kept up with measured demand, not capacity, and stops the run with exit code 3)
 *   --parallel-scavenge  V8's parallel young-generation GC, as GC_PARALLEL_SCAVENGE=true (default: off, as the server runs)
 *   --probe-cost-only only the tcp vs rtsp CPU-per-check comparison (it opens every run)
 *   --trace           a timeline on stderr: every 250 ms the cycle lag, dispatches, admission control's state and
 *                     the write buffers; every store flush over 100 ms and every GC pause over 20 ms (with
 *                     their start times), so a blip can be traced to what ran at that moment
 *
 * What runs where: the simulator is a child process; the polling engine runs in this process together
 * with the embedded store, as `npm start` runs them: the points are camera documents in the store (with
 * the registry's indexes), the engine starts from them (resync) and writes statuses, transitions and
 * rollups every MONITOR_FLUSH_MS, and the 5-minute rollup pass over all points is started once during
 * the run (--rollup-pass-at). `--no-store` measures the engine alone. blackbox_exporter is driven from a
 * third process so its HTTP client does not count as ours. Points start restored as UP (steady state),
 * phases spread over the interval as in production.
 *
 * Lag figures: `dispatchLagMs` is every check's lateness at dispatch in the measured phase (exact, from the
 * `vigil_schedule_lag_seconds` observations); `currentLagMs` samples how late the oldest waiting check is every
 * 100 ms (where the samples fall in the dispatch tick moves its p50 by a few ms from run to run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { loadConfig } from '../server/src/config';
import { createLogger } from '../server/src/lib/logger';
import type { Transition } from '../server/src/monitoring/events';
import { MonitoringService } from '../server/src/monitoring/service';
import { cameraModel } from '../server/src/cameras/model';
import { formatGbCode } from '../server/src/cameras/gbcode';
import { openStore, type Store } from '../server/src/store/connection';
import { Types } from 'mongoose';
import { simAddress } from '../server/src/demo/sim/simulator';
import { calibrate, calibrationLine } from './bench-calibration';
import { tuneGc } from '../server/src/lib/runtime';
import { probes as defaultProbes } from '../server/src/probes';
import { useConnKind } from '../server/src/probes/conn';
import type { ProbeResult, ProbeTarget } from '../server/src/probes/types';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : def;
}

const POINTS = Number(arg('points', '300000'));
const OVERLOAD = process.argv.includes('--overload');
/** Overload factor: demand ÷ the capacity measured at the start of the run (--overload). */
const OVERLOAD_FACTOR = Number(arg('overload-factor', '1.5'));
/** --overload: intervals of polling after the restart before the measured phase (the restart's transient). */
const SETTLE_INTERVALS = Number(arg('settle-intervals', '4'));
const CALIBRATION_RATE = Number(arg('calibration-rate', '30000'));
const CALIBRATE_S = Number(arg('calibrate', String(15 + Number(arg('duration', '90')))));
for (const [name, v] of [['overload-factor', OVERLOAD_FACTOR], ['settle-intervals', SETTLE_INTERVALS], ['calibrate', CALIBRATE_S], ['calibration-rate', CALIBRATION_RATE]] as const) {
  if (!Number.isFinite(v) || v <= 0) {
    process.stderr.write(`bench-poll: --${name} must be a positive number (got ${String(v)})\n`);
    process.exit(2);
  }
}
// --overload starts at an interval no machine of this size keeps (--calibration-rate, default 30,000 checks/s: the
// fastest day seen carried ~14,000) to measure what the engine carries with admission control holding the event
// loop; then sets the interval to 1.5× that
let INTERVAL_S = OVERLOAD ? Math.max(5, Math.round(Number(arg('points', '300000')) / CALIBRATION_RATE)) : Number(arg('interval', '60'));
const DURATION_S = Number(arg('duration', '90'));
const WARMUP_S = Number(arg('warmup', '5'));
const KINDS = arg('kinds', 'tcp,rtsp').split(',') as Array<'tcp' | 'rtsp'>;
const OUTAGE_AT_S = Number(arg('outage-at', '5'));
const RETRY_MS = Number(arg('retry-ms', '5000'));
const BBE_RATE = Number(arg('bbe-rate', '300'));
const TICK_MS = arg('tick-ms', '');
const SOCKET = arg('socket', 'raw');
const WITH_STORE = !process.argv.includes('--no-store');
const SPILL_AT_S = Number(arg('rollup-pass-at', '30'));
const TRACE = process.argv.includes('--trace');
const PARALLEL_SCAVENGE = process.argv.includes('--parallel-scavenge');
const BBE_BIN = arg('bbe-bin', '/usr/bin/prometheus-blackbox-exporter');
const RETRIES = 3;
const root = path.resolve(__dirname, '..');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** utime+stime of a process from /proc, in µs. */
function procCpuUs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / 100) * 1e6; // CLK_TCK is 100 on Linux
}

function waitLine(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${String(re)}: ${out}`)), timeoutMs);
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

/**
 * CPU per check of each hot probe kind, measured alternately in the same run against the same simulator
 * (rounds of `perRound` checks, `concurrency` at a time, each on its own simulated camera): the rtsp/tcp
 * ratio the issue asks for. Only this process's CPU counts (the simulator is another process).
 */
async function probeCost(rtspPort: number, count: number): Promise<{ tcpUs: number; rtspUs: number; ratio: number; rounds: number; perRound: number; failures: number }> {
  const perRound = Math.min(4000, count);
  const concurrency = 200;
  const rounds = 6;
  let failures = 0;
  const targets = (kind: 'tcp' | 'rtsp', offset: number): ProbeTarget[] =>
    Array.from({ length: perRound }, (_, i) => ({ host: simAddress((offset + i) % count), family: 4, port: rtspPort, timeoutMs: 3000, ...(kind === 'rtsp' ? { path: '/Streaming/Channels/101' } : {}) }));
  const round = (kind: 'tcp' | 'rtsp', list: ProbeTarget[]): Promise<number> =>
    new Promise((resolve) => {
      const probe = defaultProbes[kind];
      const run = probe.run as (t: ProbeTarget, done: (r: ProbeResult) => void) => void;
      let next = 0;
      let finished = 0;
      const c0 = process.cpuUsage();
      const done = (r: ProbeResult): void => {
        if (!r.up) failures++;
        finished++;
        if (next < list.length) run(list[next++], done);
        else if (finished === list.length) {
          const c = process.cpuUsage(c0);
          if (process.env.BENCH_COST_SPLIT) process.stderr.write(`${kind} user ${(c.user / list.length).toFixed(1)} sys ${(c.system / list.length).toFixed(1)}\n`);
          resolve((c.user + c.system) / list.length);
        }
      };
      for (; next < Math.min(concurrency, list.length); next++) run(list[next], done);
    });
  // warm up both paths (JIT, per-target request cache) before measuring
  await round('tcp', targets('tcp', 0));
  await round('rtsp', targets('rtsp', perRound));
  const tcp: number[] = [];
  const rtsp: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // a fresh slice of cameras per round: no TIME_WAIT reuse of one address
    const base = (2 + r * 2) * perRound;
    tcp.push(await round('tcp', targets('tcp', base)));
    rtsp.push(await round('rtsp', targets('rtsp', base + perRound)));
  }
  tcp.sort((a, b) => a - b);
  rtsp.sort((a, b) => a - b);
  const med = (xs: number[]): number => (xs[(xs.length - 1) >> 1] + xs[xs.length >> 1]) / 2;
  const tcpUs = med(tcp);
  const rtspUs = med(rtsp);
  return { tcpUs: Number(tcpUs.toFixed(1)), rtspUs: Number(rtspUs.toFixed(1)), ratio: Number((rtspUs / tcpUs).toFixed(3)), rounds, perRound, failures };
}

/**
 * --trace: what the engine did, with times from the start of the measured run (t0), on stderr. Reads the
 * service's private parts on purpose (a benchmark's look inside, like the lag sampler).
 */
function traceTimeline(service: MonitoringService, t0: number): () => void {
  const ts = (at: number): string => ((at - t0) / 1000).toFixed(2);
  const scheduler = service['scheduler'];
  const admission = service['admission'];
  let last = scheduler.window;
  // the loop's delay distribution per second (admission control only sees its p99): one long pause and a
  // steadily slow loop look alike in a p99 of ~100 samples, not in the p50/p90
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  let eldLine = '';
  const eldTimer = setInterval(() => {
    eldLine = ` eldSec(p50/p90/max)=${Math.max(0, eld.percentile(50) / 1e6 - 10).toFixed(0)}/${Math.max(0, eld.percentile(90) / 1e6 - 10).toFixed(0)}/${Math.max(0, eld.max / 1e6 - 10).toFixed(0)}`;
    eld.reset();
  }, 1000);
  const timer = setInterval(() => {
    const a = admission.state;
    const w = scheduler.window;
    // the window rolls once a second: print it only when it is a new one
    const win = w === last ? '' : ` win(disp=${w.dispatched} urg=${w.urgentDispatched} lim=${w.limited} mean=${w.meanMs.toFixed(0)})`;
    last = w;
    process.stderr.write(
      `trace t=${ts(Date.now())} lag=${scheduler.currentLagMs()} inFlight=${scheduler.inFlight} stretch=${scheduler.stretchMs} rate=${a.ratePerSec === Infinity ? 'inf' : a.ratePerSec.toFixed(0)} eld99=${a.delayP99Ms.toFixed(1)} elu=${a.utilization.toFixed(2)}${win} ${eldLine} buf(st/tr/hi)=${service.store.bufferedStatus}/${service.store.bufferedTransitions}/${service.store.bufferedRollups} pass=${service.spilling}\n`,
    );
  }, 250);
  const flush = service.store.flush.bind(service.store);
  service.store.flush = async (what) => {
    const s = Date.now();
    const c = process.cpuUsage();
    try {
      return await flush(what);
    } finally {
      const ms = Date.now() - s;
      const cpu = process.cpuUsage(c);
      if (ms > 100) process.stderr.write(`trace flush t=${ts(s)} took ${ms} ms (process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms)\n`);
    }
  };
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.duration > 20) process.stderr.write(`trace gc t=${ts(performance.timeOrigin + e.startTime)} ${e.duration.toFixed(0)} ms kind=${String((e as unknown as { detail?: { kind?: number } }).detail?.kind)}\n`);
  });
  gc.observe({ entryTypes: ['gc'] });
  return () => {
    clearInterval(timer);
    clearInterval(eldTimer);
    eld.disable();
    gc.disconnect();
    service.store.flush = flush;
  };
}

/** A daily cron expression (local time, as node-cron reads it) of a minute just past: it does not fire for ~24 h. */
function dailyCronJustPast(): string {
  const t = new Date(Date.now() - 2 * 60_000);
  return `${t.getMinutes()} ${t.getHours()} * * *`;
}

/** Whether [from, to] contains an hourly pass (cron '5 0 * * * *': minute 0, second 5 of every hour). */
function crossesHourlyPass(from: number, to: number): boolean {
  const first = Math.ceil((from - 5_000) / 3_600_000) * 3_600_000 + 5_000;
  return first <= to;
}

function pct(sorted: ArrayLike<number>, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function main(): Promise<void> {
  const calibration = await calibrate();
  process.stderr.write(`${calibrationLine(calibration)}\n`);
  const rtspPort = await freePort();
  const httpPort = await freePort();
  const controlPort = await freePort();
  process.stderr.write(`bench: starting simulator with ${POINTS} cameras…\n`);
  const sim = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(root, 'scripts/sim/main.ts'), '--count', String(POINTS), '--regions', '100', '--rtsp-port', String(rtspPort), '--http-port', String(httpPort), '--control-port', String(controlPort)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitLine(sim, /"control":"([^"]+)"/, 60_000);
  const control = `http://127.0.0.1:${controlPort}`;
  useConnKind(SOCKET === 'net' ? 'net' : 'raw');
  const cost = await probeCost(rtspPort, POINTS);
  process.stderr.write(`bench: probe CPU per check (median of ${cost.rounds} alternated rounds of ${cost.perRound}): tcp ${cost.tcpUs} µs, rtsp ${cost.rtspUs} µs, rtsp/tcp ${cost.ratio}\n`);
  if (process.argv.includes('--probe-cost-only')) {
    sim.kill('SIGTERM');
    process.stdout.write(JSON.stringify({ command: `npm run bench:poll -- ${process.argv.slice(2).join(' ')}`.trim(), calibration, probeCost: cost }, null, 2) + '\n');
    process.exit(0);
  }

  const config = loadConfig({}, {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    MONITOR_ENABLED: 'true',
    MONITOR_RETRY_INTERVAL_MS: String(RETRY_MS),
    MONITOR_CONCURRENCY: '4096',
    MONITOR_TRANSITION_BUFFER_MAX: '1000000',
    PROBE_SOCKET: SOCKET,
    ...(TICK_MS ? { MONITOR_DISPATCH_TICK_MS: TICK_MS } : {}),
    // --overload: the calibration and the measured phase each get exactly one rollup pass, the bench's own; the
    // production crons (a pass every 15 min, the registry resync at minute 7) would land in one phase or the
    // other by the clock and make the capacity wrong by a pass or a resync. Moved to a daily time just past.
    // (The hourly pass at :00:05 cannot be moved: a run that crosses an hour says so in its result.)
    ...(OVERLOAD ? { MONITOR_ROLLUP_CRON: dailyCronJustPast(), MONITOR_RESYNC_CRON: dailyCronJustPast() } : {}),
    GC_PARALLEL_SCAVENGE: String(PARALLEL_SCAVENGE),
  });
  // as startServer does: the process's GC settings are the server's
  tuneGc({ parallelScavenge: config.GC_PARALLEL_SCAVENGE, heapGrowthPercent: config.GC_HEAP_GROWTH_PERCENT });
  const logger = createLogger('warn');
  const now = Date.now();
  const idOf = new Map<string, string>();
  let service: MonitoringService;
  let store: Store | null = null;
  let dataDir = '';
  const stored = { state: 'UP' as const, confirmed: 'UP' as const, since: new Date(now), lastCheckAt: null, rttMs: null, flapping: false, reason: null, seq: 1 };
  /** Engine only: points loaded directly at the current INTERVAL_S, nothing written (no start(), no flush timer). */
  const engineOnly = (): MonitoringService => {
    const svc = new MonitoringService({ config, logger, conn: {} as never });
    for (let i = 0; i < POINTS; i++) {
      const id = `p${i}`;
      idOf.set(simAddress(i), id);
      svc.upsertPoint(
        {
          id,
          regionId: `r${i % 100}`,
          enabled: true,
          endpoint: { host: simAddress(i), rtspPort, rtspPath: '/Streaming/Channels/101', httpPort },
          probe: { kind: KINDS[i % KINDS.length], intervalSec: INTERVAL_S, timeoutMs: 3000, retries: RETRIES },
        },
        stored,
      );
    }
    return svc;
  };
  if (WITH_STORE) {
    // As `npm start` runs it: the embedded store in this process, the registry's `cameras` collection with
    // its production indexes, the engine started from the store (resync), flushing statuses, transitions
    // and rollups every MONITOR_FLUSH_MS.
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-poll-'));
    store = await openStore(loadConfig({}, { DATA_DIR: dataDir, LOG_LEVEL: 'warn' }), logger);
    await cameraModel(store.conn).createIndexes();
    const cameras = store.conn.db?.collection('cameras');
    if (!cameras) throw new Error('store not connected');
    const regionIds = Array.from({ length: 100 }, () => new Types.ObjectId());
    const t0 = performance.now();
    for (let base = 0; base < POINTS; base += 5000) {
      const docs = [];
      for (let i = base; i < Math.min(POINTS, base + 5000); i++) {
        const _id = new Types.ObjectId();
        idOf.set(simAddress(i), _id.toHexString());
        docs.push({
          _id,
          gbCode: formatGbCode({ center: '21030201', industry: '04', type: '132', network: '0', serial: i + 1 }),
          name: `bench ${i}`,
          regionId: regionIds[i % 100],
          address: '',
          enabled: true,
          sharing: 'own',
          tags: [],
          searchTokens: [],
          endpoint: { host: simAddress(i), rtspPort, rtspPath: '/Streaming/Channels/101', httpPort },
          probe: { kind: KINDS[i % KINDS.length], intervalSec: INTERVAL_S, timeoutMs: 3000, retries: RETRIES },
          status: stored,
          version: 1,
        });
      }
      await cameras.insertMany(docs, { ordered: false });
    }
    process.stderr.write(`bench: ${POINTS} camera documents written to the embedded store in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    service = new MonitoringService({ config, logger, conn: store.conn });
    const s0 = performance.now();
    const c0 = process.cpuUsage();
    await service.start();
    const sc = process.cpuUsage(c0);
    process.stderr.write(`bench: engine started from the store (resync of ${POINTS} points) in ${((performance.now() - s0) / 1000).toFixed(1)} s, ${((sc.user + sc.system) / 1e6).toFixed(1)} CPU-s\n`);
  } else {
    service = engineOnly();
  }
  process.stderr.write(`bench: ${POINTS} points loaded (${KINDS.join('+')}), ${(POINTS / INTERVAL_S).toFixed(0)} probes/s target\n`);

  const outageDown = new Map<string, { firstFailureAt: number; downAt: number }>();
  let outageAt = 0;
  let outageSet = new Set<string>();
  const onTransition = (t: Transition): void => {
    if (t.to === 'DOWN' && outageSet.has(t.cameraId)) outageDown.set(t.cameraId, { firstFailureAt: t.failingSince?.getTime() ?? t.at.getTime(), downAt: t.at.getTime() });
  };
  service.feed.subscribe(onTransition);

  // blackbox_exporter + its driver (a separate process)
  let bbe: ChildProcess | undefined;
  let driver: ChildProcess | undefined;
  /** Stops the engine, closes and removes the store, and stops the exporter and the simulator (child processes outlive an exit). */
  const teardown = async (): Promise<void> => {
    if (store) {
      await service.stop();
      await store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    bbe?.kill('SIGTERM');
    sim.kill('SIGTERM');
  };
  let bbePort = 0;
  if (BBE_RATE > 0 && fs.existsSync(BBE_BIN)) {
    bbePort = await freePort();
    const cfg = path.join(os.tmpdir(), `vigil-bbe-${process.pid}.yml`);
    fs.writeFileSync(cfg, 'modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 3s\n    tcp:\n      preferred_ip_protocol: ip4\n');
    bbe = spawn(BBE_BIN, [`--config.file=${cfg}`, `--web.listen-address=127.0.0.1:${bbePort}`, '--log.level=error'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise((r) => setTimeout(r, 1000));
  }

  const countProbes = async (): Promise<{ total: number; byOutcome: Record<string, number> }> => {
    const m = await service.metrics.probes.get();
    const byOutcome: Record<string, number> = {};
    let total = 0;
    for (const v of m.values) {
      total += v.value;
      const key = `${String(v.labels.kind)}:${String(v.labels.outcome)}`;
      if (v.value) byOutcome[key] = v.value;
    }
    return { total, byOutcome };
  };
  // monitorEventLoopDelay records the whole timer period: delay = value − resolution
  const EL_RESOLUTION_MS = 5;
  const elDelay = monitorEventLoopDelay({ resolution: EL_RESOLUTION_MS });
  const lagSamples: number[] = [];
  if (!WITH_STORE) service.startPolling();
  let capacity: {
    checksPerS: number;
    calibrationIntervalS: number;
    overloadIntervalS: number;
    demandPerS: number;
    settle: { achievedPerS: number; realOverload: number; correctedFromIntervalS: number | null };
  } | null = null;
  // the longest gap the engine's interval meter closed in its last 10 s window (of the engine running now)
  const closedGapRatio = (): number => (service as unknown as { intervals: { last: { maxGapRatio: number } | null } }).intervals.last?.maxGapRatio ?? 0;
  // the longest gap closed during the warm-up (the engine meter's 10 s windows, read every second), and the open
  // ones at its end: under --overload, the restart's transient
  let transientGapRatio = 0;
  /**
   * The calibration's window, and whether a rollup pass was already running when it started. Such a pass is not the
   * bench's own (that one starts inside the phase) but the hourly one, started in the seconds before: it runs on into
   * the phase as surely as one started in it (OV6, 2026-12-04 21:00: 160,000–230,000 rollups buffered through the
   * measured phase, which carried 18 % less than its settle). The measured phase is looked at the same way.
   */
  let calibrationWindow: { from: number; to: number; passAtStart: boolean } | null = null;
  let warmupS = WARMUP_S;
  /** --overload: polling between the last restart and the measured phase (the restart's transient). */
  let transientS = 0;
  if (OVERLOAD) {
    process.stderr.write(`bench: overload calibration: ${CALIBRATE_S} s at a ${INTERVAL_S} s interval (${(POINTS / INTERVAL_S).toFixed(0)} checks/s wanted)\n`);
    // the admission control settles during the first part (15 s at most); the capacity is the mean of the rest,
    // which has the measured phase's rollup pass at the same offset (the pass's CPU, in this thread and the store's,
    // is capacity the checks do not get: calibrated without it, the measured phase ran 1.9–2.1× over, not 1.5×)
    /** Checks a second made over the next `seconds`. */
    const checksPerSecondOver = async (seconds: number): Promise<number> => {
      const c0 = (await countProbes()).total;
      const from = Date.now();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      return ((await countProbes()).total - c0) / ((Date.now() - from) / 1000);
    };
    /**
     * The interval that makes demand at least OVERLOAD_FACTOR × what the engine carries (whole seconds, rounded
     * down: rounded to the nearest, 26.5 s became 27 s = 1.47×, and the run measured 1.41×, 2026-12-04 17:32).
     */
    const overloadIntervalFor = (carriedPerS: number): number => Math.max(5, Math.floor(POINTS / (OVERLOAD_FACTOR * carriedPerS)));
    const settleS = Math.min(15, CALIBRATE_S / 3);
    await new Promise((r) => setTimeout(r, settleS * 1000));
    const ct0 = Date.now();
    const calPassAtStart = service.spilling;
    const calPass = WITH_STORE && SPILL_AT_S > 0 && SPILL_AT_S < CALIBRATE_S - settleS
      ? setTimeout(() => {
          process.stderr.write(`bench: calibration's rollup pass started at t=${((Date.now() - ct0) / 1000).toFixed(1)} s of its window\n`);
          service.startSpillPass();
        }, SPILL_AT_S * 1000)
      : undefined;
    const checksPerS = await checksPerSecondOver(CALIBRATE_S - settleS);
    if (calPass) clearTimeout(calPass);
    calibrationWindow = { from: ct0, to: Date.now(), passAtStart: calPassAtStart };
    const calibrationIntervalS = INTERVAL_S;
    // A calibration the engine kept up with measured the demand, not the capacity: the run would be no overload.
    if (checksPerS > 0.85 * (POINTS / calibrationIntervalS)) {
      process.stderr.write(`bench-poll: the calibration was not saturated (${checksPerS.toFixed(0)} of ${(POINTS / calibrationIntervalS).toFixed(0)} checks/s wanted): this machine carries more; rerun with a higher --calibration-rate or more --points\n`);
      await teardown();
      process.exit(3);
    }
    INTERVAL_S = overloadIntervalFor(checksPerS);
    process.stderr.write(`bench: capacity ${checksPerS.toFixed(0)} checks/s with admission control (state: ${JSON.stringify(service.load())}); interval set to ${INTERVAL_S} s = ${(POINTS / INTERVAL_S / checksPerS).toFixed(2)}× capacity\n`);
    // The engine is restarted at the overload interval rather than reconfigured live: a live change of every
    // point's interval carries the calibration's 3× backlog (its lag and its stretch) and gaps opened under
    // the 20 s interval into the measured phase. A restart is a production path (points restored from the
    // store, each first checked on its own slot of the new interval), and what follows is the steady overload.
    const restartAt = async (intervalS: number): Promise<void> => {
      const c1 = process.cpuUsage();
      const r0 = performance.now();
      // engine only: stop() also flushes to a store there is none of (it fails after the polling has stopped)
      await service.stop().catch(() => undefined);
      if (WITH_STORE && store?.conn.db) {
        await store.conn.db.collection('cameras').updateMany({}, { $set: { 'probe.intervalSec': intervalS } });
        service = new MonitoringService({ config, logger, conn: store.conn });
        await service.start();
      } else {
        service = engineOnly();
        service.startPolling();
      }
      service.feed.subscribe(onTransition);
      const rc = process.cpuUsage(c1);
      process.stderr.write(`bench: engine restarted at the ${intervalS} s interval in ${((performance.now() - r0) / 1000).toFixed(1)} s, ${((rc.user + rc.system) / 1e6).toFixed(1)} CPU-s\n`);
    };
    await restartAt(INTERVAL_S);
    const settleAfterS = Math.max(WARMUP_S, INTERVAL_S * SETTLE_INTERVALS);
    // The calibration runs at 4–5× demand, where admission control carries 8–19 % less than at 1.5× (2026-12-03
    // 15:09–15:40: real overload 1.38–1.48× at factors 1.5–1.8). The settling after the restart is the load the
    // measured phase will have: what the engine carries in its second half decides whether the engine is
    // restarted once more at a corrected interval (below).
    let firstTransient = 0;
    const firstSampler = setInterval(() => (firstTransient = Math.max(firstTransient, closedGapRatio())), 1000);
    await new Promise((r) => setTimeout(r, (settleAfterS / 2) * 1000));
    const settledPerS = await checksPerSecondOver(settleAfterS / 2);
    clearInterval(firstSampler);
    const settledOverload = POINTS / INTERVAL_S / settledPerS;
    // Under the factor counts from 3 % (the run is to show the targets held at 1.5×), over it from 7 %. The corrected
    // interval is made from the lower of the two capacities measured: a settle right after a restart can carry more
    // than the engine keeps (10,120 checks/s against 8,399 calibrated; corrected on it, the measured phase ran at
    // 1.86×, 2026-12-04 17:40).
    const correctedInterval = overloadIntervalFor(Math.min(checksPerS, settledPerS));
    const corrected = (settledOverload < OVERLOAD_FACTOR * 0.97 || settledOverload > OVERLOAD_FACTOR * 1.07) && correctedInterval !== INTERVAL_S;
    process.stderr.write(`bench: settled at ${settledPerS.toFixed(0)} checks/s = ${settledOverload.toFixed(2)}× real overload${corrected ? '' : ' (kept)'}\n`);
    const settle = { achievedPerS: Math.round(settledPerS), realOverload: Number(settledOverload.toFixed(2)), correctedFromIntervalS: corrected ? INTERVAL_S : null };
    if (corrected) {
      INTERVAL_S = correctedInterval;
      await restartAt(INTERVAL_S);
      warmupS = Math.max(WARMUP_S, INTERVAL_S * SETTLE_INTERVALS);
      transientS = warmupS;
    } else {
      transientGapRatio = Math.max(firstTransient, service.longestGapRatio());
      warmupS = WARMUP_S;
      transientS = settleAfterS + warmupS;
    }
    capacity = { checksPerS: Math.round(checksPerS), calibrationIntervalS, overloadIntervalS: INTERVAL_S, demandPerS: Math.round(POINTS / INTERVAL_S), settle };
    // A restart under overload has a transient: every point is due within the first interval, so the first cycle
    // takes 1.5 intervals and the queue swings for a few more (in scheduler-overload.test.ts's model the longest
    // gap reaches ~2× in intervals 2–4 and is 1.5× from the 5th on). The measured phase is the steady overload
    // after it; the transient's longest gap is reported beside it (`schedule.restartTransient`).
  }
  process.stderr.write(`bench: polling; warm-up ${warmupS} s (startup lag of the first phases is not measured)\n`);
  const transientSampler = setInterval(() => {
    transientGapRatio = Math.max(transientGapRatio, closedGapRatio());
  }, 1000);
  await new Promise((r) => setTimeout(r, warmupS * 1000));
  clearInterval(transientSampler);
  transientGapRatio = Math.max(transientGapRatio, service.longestGapRatio());
  service.metrics.dispatchLag.reset();
  // every dispatch's lag in the measured phase, exactly (`dispatchLagMs`, see the header)
  const dispatchLags = new Float64Array(4_000_000);
  let nLags = 0;
  const lagHistogram = service.metrics.dispatchLag;
  const observeLag = lagHistogram.observe.bind(lagHistogram);
  lagHistogram.observe = (value: number, series?: number): void => {
    if (nLags < dispatchLags.length) dispatchLags[nLags++] = value * 1000;
    observeLag(value, series);
  };
  const probes0 = (await countProbes()).total;
  const cpu0 = process.cpuUsage();
  const simCpu0 = procCpuUs(sim.pid as number);
  const t0 = Date.now();
  const measuredPassAtStart = service.spilling;
  elDelay.enable();
  const sampler = setInterval(() => lagSamples.push(service['scheduler'].currentLagMs()), 100);
  const effectiveSamples: number[] = [];
  let longestGapRatio = 0;
  // The longest gap with the open ones is a walk over every point (7–25 ms at 150,000): the bench's instrument,
  // counted in the process's CPU like the engine's work. The bench walks every 10 s and reads the closed gaps of
  // the engine's interval meter (its last 10 s window) every second: an open gap only grows until it closes, and
  // then it is in the meter; one more walk at the end. (Walking every second under --overload took ~3 % of the
  // main thread, capacity the calibration had not had to share.)
  let loadTicks = 0;
  const loadSampler = setInterval(() => {
    const l = service.load();
    if (l.effectiveIntervalSec !== null) effectiveSamples.push(l.effectiveIntervalSec);
    if (++loadTicks % 10 === 0) longestGapRatio = Math.max(longestGapRatio, service.longestGapRatio());
    else longestGapRatio = Math.max(longestGapRatio, closedGapRatio());
  }, 1000);

  if (driver === undefined && bbe) {
    const script = `
      const http = require('http');
      const rate = ${BBE_RATE}, port = ${bbePort}, targets = ${POINTS}, rtspPort = ${rtspPort};
      const addr = ${simAddress.toString()};
      let sent = 0, ok = 0, fail = 0, i = 0;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
      setInterval(() => {
        for (let k = 0; k < rate / 20; k++) {
          const t = addr((i++ * 7919) % targets);
          sent++;
          http.get({ host: '127.0.0.1', port, path: '/probe?module=tcp_connect&target=' + t + ':' + rtspPort, agent }, (res) => {
            let body = ''; res.on('data', (d) => body += d); res.on('end', () => { if (/probe_success 1/.test(body)) ok++; else fail++; });
          }).on('error', () => fail++);
        }
      }, 50);
      process.on('SIGTERM', () => { process.stdout.write(JSON.stringify({ sent, ok, fail }) + '\\n'); process.exit(0); });
    `;
    driver = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  }
  const bbeCpu0 = bbe?.pid ? procCpuUs(bbe.pid) : 0;

  let outageTimer: NodeJS.Timeout | undefined;
  if (OUTAGE_AT_S > 0) {
    outageTimer = setTimeout(() => {
      void (async () => {
        const r = await fetch(`${control}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ select: { fraction: 0.01, seed: 11 }, fault: { mode: 'down' } }) });
        const body = (await r.json()) as { affected: number; addresses: string[] };
        outageSet = new Set(body.addresses.map((a) => idOf.get(a) as string));
        outageAt = Date.now();
        process.stderr.write(`bench: outage of ${body.affected} points at t=${((outageAt - t0) / 1000).toFixed(1)} s\n`);
      })();
    }, OUTAGE_AT_S * 1000);
  }

  const spillTimer = WITH_STORE && SPILL_AT_S > 0 ? setTimeout(() => {
    process.stderr.write(`bench: rollup pass over all points started at t=${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    service.startSpillPass();
  }, SPILL_AT_S * 1000) : undefined;

  const stopTrace = TRACE ? traceTimeline(service, t0) : undefined;

  const progress = setInterval(() => {
    void countProbes().then((c) => {
      process.stderr.write(`bench: t=${((Date.now() - t0) / 1000).toFixed(0)} s probes=${c.total} inFlight=${service['scheduler'].inFlight} lag=${service['scheduler'].currentLagMs()} ms rss=${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB (main heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MB) down=${outageDown.size}/${outageSet.size} buffered(st/tr/ro)=${service.store.bufferedStatus}/${service.store.bufferedTransitions}/${service.store.bufferedRollups}\n`);
    });
  }, 10_000);

  await new Promise((r) => setTimeout(r, DURATION_S * 1000));
  const elapsedS = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const simCpu = procCpuUs(sim.pid as number) - simCpu0;
  const bbeCpu = bbe?.pid ? procCpuUs(bbe.pid) - bbeCpu0 : 0;
  elDelay.disable();
  clearInterval(sampler);
  clearInterval(loadSampler);
  clearInterval(progress);
  stopTrace?.();
  longestGapRatio = Math.max(longestGapRatio, service.longestGapRatio());
  const loadAtEnd = service.load();
  if (outageTimer) clearTimeout(outageTimer);
  const probesNow = await countProbes();
  const probes = { total: probesNow.total - probes0, byOutcome: probesNow.byOutcome };
  const lagHist = await service.metrics.dispatchLag.get();
  const rss = process.memoryUsage().rss;

  let bbeCounts = { sent: 0, ok: 0, fail: 0 };
  if (driver) {
    const line = new Promise<string>((resolve) => driver?.stdout?.once('data', (d: Buffer) => resolve(d.toString())));
    driver.kill('SIGTERM');
    bbeCounts = JSON.parse(await line) as typeof bbeCounts;
  }
  if (spillTimer) clearTimeout(spillTimer);
  const buffered = { transitions: service.store.bufferedTransitions, statuses: service.store.bufferedStatus, rollups: service.store.bufferedRollups };
  const written = WITH_STORE && store?.conn.db
    ? { transitions: await store.conn.db.collection('transitions').countDocuments({}), rollups: await store.conn.db.collection('rollups').countDocuments({}) }
    : null;
  await teardown();

  lagSamples.sort((a, b) => a - b);
  const lags = dispatchLags.subarray(0, nLags).sort();
  const detectFromFailure = [...outageDown.values()].map((d) => d.downAt - d.firstFailureAt).sort((a, b) => a - b);
  const detectFromOutage = [...outageDown.values()].map((d) => d.downAt - outageAt).sort((a, b) => a - b);
  const lagBuckets = lagHist.values.filter((v) => v.metricName === 'vigil_schedule_lag_seconds_bucket');
  const lagCount = lagHist.values.find((v) => v.metricName === 'vigil_schedule_lag_seconds_count')?.value ?? 0;
  const p99Bucket = lagBuckets.find((b) => b.value >= lagCount * 0.99)?.labels.le;
  const ourUsPerProbe = (cpu.user + cpu.system) / probes.total;
  const bbeProbes = bbeCounts.ok + bbeCounts.fail;
  const result = {
    command: `npm run bench:poll -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg().map((l) => l.toFixed(2)), calibration },
    parallelScavenge: PARALLEL_SCAVENGE,
    probeCost: cost,
    points: POINTS,
    intervalS: INTERVAL_S,
    kinds: KINDS,
    elapsedS: Number(elapsedS.toFixed(1)),
    probes: probes.total,
    probesPerS: Math.round(probes.total / elapsedS),
    targetPerS: Math.round(POINTS / INTERVAL_S),
    outcomes: probes.byOutcome,
    dispatchLagP99: `<= ${String(p99Bucket)} s (histogram bucket)`,
    dispatchLagMs: {
      dispatches: lags.length,
      mean: Number((lags.reduce((a, b) => a + b, 0) / Math.max(1, lags.length)).toFixed(2)),
      p50: pct(lags, 0.5),
      p90: pct(lags, 0.9),
      p99: pct(lags, 0.99),
      max: pct(lags, 1),
    },
    currentLagMs: { p50: pct(lagSamples, 0.5), p99: pct(lagSamples, 0.99), max: lagSamples[lagSamples.length - 1] },
    eventLoopDelayMs: {
      p50: Number((elDelay.percentile(50) / 1e6 - EL_RESOLUTION_MS).toFixed(2)),
      p99: Number((elDelay.percentile(99) / 1e6 - EL_RESOLUTION_MS).toFixed(2)),
      max: Number((elDelay.max / 1e6 - EL_RESOLUTION_MS).toFixed(2)),
    },
    rssMB: Math.round(rss / 2 ** 20),
    schedule: {
      capacity: capacity ?? 'not measured (nominal run)',
      effectiveIntervalS: { mean: effectiveSamples.length ? Number((effectiveSamples.reduce((a, b) => a + b, 0) / effectiveSamples.length).toFixed(1)) : null, atEnd: loadAtEnd.effectiveIntervalSec, set: INTERVAL_S },
      longestGapS: Number((longestGapRatio * INTERVAL_S).toFixed(1)),
      longestGapRatio: Number(longestGapRatio.toFixed(2)),
      restartTransient: capacity ? { seconds: transientS, longestGapRatio: Number(transientGapRatio.toFixed(2)) } : null,
      // the overload the measured phase really had (the machine's speed moves within a run): demand ÷ checks made
      achievedOverload: capacity ? Number((POINTS / INTERVAL_S / (probes.total / elapsedS)).toFixed(2)) : null,
      // the one pass that cannot be moved out of the run (see dailyCronJustPast): true = a phase had a second pass
      hourlyPassIn: capacity
        ? {
            calibration: calibrationWindow ? calibrationWindow.passAtStart || crossesHourlyPass(calibrationWindow.from, calibrationWindow.to) : false,
            measured: measuredPassAtStart || crossesHourlyPass(t0, t0 + elapsedS * 1000),
          }
        : null,
      loadAtEnd,
    },
    store: WITH_STORE ? { mode: 'embedded, in a worker thread of this process (as npm start runs it)', bufferedAtEnd: buffered, documentsAtEnd: written } : 'none (engine only)',
    cpu: { engineUsPerProbe: Number(ourUsPerProbe.toFixed(1)), engineUserUsPerProbe: Number((cpu.user / probes.total).toFixed(1)), engineSystemUsPerProbe: Number((cpu.system / probes.total).toFixed(1)), engineCores: Number(((cpu.user + cpu.system) / 1e6 / elapsedS).toFixed(2)), simulatorCores: Number((simCpu / 1e6 / elapsedS).toFixed(2)) },
    blackboxExporter: bbe
      ? { probes: bbeProbes, ok: bbeCounts.ok, fail: bbeCounts.fail, usPerProbe: bbeProbes ? Number((bbeCpu / bbeProbes).toFixed(1)) : null, ratioOursToExporter: bbeProbes ? Number((ourUsPerProbe / (bbeCpu / bbeProbes)).toFixed(3)) : null }
      : 'not run',
    detection: OUTAGE_AT_S > 0
      ? {
          outagePoints: outageSet.size,
          confirmedDown: outageDown.size,
          budgetMs: RETRIES * RETRY_MS + (OVERLOAD ? 2000 : 1000),
          fromFirstFailureMs: { p50: pct(detectFromFailure, 0.5), p99: pct(detectFromFailure, 0.99), max: detectFromFailure[detectFromFailure.length - 1] },
          fromOutageMs: { p50: pct(detectFromOutage, 0.5), p99: pct(detectFromOutage, 0.99), max: detectFromOutage[detectFromOutage.length - 1] },
        }
      : 'off',
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-poll: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
