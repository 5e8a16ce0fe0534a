/**
 * Live push benchmark (issue 5 "Speed"): 100,000 points, 100 Socket.IO consoles subscribed across regions,
 * 10% of points confirmed DOWN at once. Measures, per console, how long after the last confirmation its
 * state equals the store's (checksum) and its highest message rate; then, in headless Chromium, how
 * long the board for 100,000 points takes to render and the longest task during the storm.
 *
 *   npx tsx scripts/bench-live.ts [--points 100000] [--consoles 100] [--no-browser] [--profile FILE]
 *
 * --profile FILE writes a Chromium CPU profile (CDP Profiler, .cpuprofile) from page load to the end of
 * the storm, and prints the functions with the most self time.
 *
 * Runs the real app in-process (embedded store in a temp dir, AUTH_MODE=open, polling off); the storm is
 * emitted on the monitoring change feed, and the store's status is written the way monitoring does.
 * The consoles share the server's process (one machine, 2 cores): a pessimistic setting for latency.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ObjectId, type AnyBulkWriteOperation, type Document } from 'mongodb';
import { io as connect, type Socket } from 'socket.io-client';
import { loadConfig } from '../server/src/config';
import type { Ack, PointStates, StatusBatch, SubscribeResult } from '../server/src/contracts/live';
import { createLogger } from '../server/src/lib/logger';
import { liveOf } from '../server/src/live';
import { monitoringOf } from '../server/src/monitoring';
import { startServer } from '../server/src/server';
import { calibrate, calibrationLine } from './bench-calibration';

/*
 * Page functions run in the browser; this file is checked with the server's DOM-free lib, so the few
 * browser globals they touch are declared here, module-local.
 */
interface PageWindow {
  __vigil?: { summary(): { size: number; counts: number[] }; connection(): string };
  __longTasks: Array<{ start: number; duration: number }>;
}
declare const window: PageWindow;
declare const document: { querySelector(selector: string): unknown };

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
const POINTS = Number(arg('points', '100000'));
const CONSOLES = Number(arg('consoles', '100'));
const BROWSER = !process.argv.includes('--no-browser');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PROFILE = process.argv.includes('--profile') ? arg('profile', 'bench-results/live.cpuprofile') : null;

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (ms), largest first. */
function topSelf(profile: CpuProfile, n: number): Array<{ fn: string; ms: number }> {
  const byNode = new Map(profile.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const f = byNode.get(id)?.callFrame;
    const key = f ? `${f.functionName || '(anonymous)'} ${f.url.split('/').pop() ?? ''}:${f.lineNumber + 1}:${f.columnNumber + 1}` : '?';
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([fn, ms]) => ({ fn, ms: Math.round(ms) }));
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}
const checksumOf = (states: Map<string, number>): number => {
  let c = 0;
  for (const [id, st] of states) c = (c + hash(id) * (st + 1)) >>> 0;
  return c;
};
const stateCode: Record<string, number> = { UNKNOWN: 0, UP: 1, PENDING: 2, DOWN: 3, MAINTENANCE: 4, DISABLED: 5 };
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};

interface Console {
  regionId: string;
  socket: Socket;
  states: Map<string, number>;
  seq: number;
  batchTimes: number[];
  gaps: number;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-live-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    AUTH_MODE: 'open',
    LOG_LEVEL: 'warn',
    MONITOR_ENABLED: 'false',
    LIVE_RECONCILE_SEC: '0',
  });
  const server = await startServer({ config, logger: createLogger(config.LOG_LEVEL) });
  const calibration = await calibrate();
  process.stderr.write(`${calibrationLine(calibration)}\n`);
  const out: Record<string, unknown> = { points: POINTS, consoles: CONSOLES, node: process.version, cpus: os.cpus().length, calibration };
  try {
    const db = server.ctx.store.conn.db;
    if (!db) throw new Error('no db');

    // 1 district, 10 streets, 60 communities; points spread over communities
    const district = new ObjectId();
    const streets = Array.from({ length: 10 }, () => new ObjectId());
    const communities = Array.from({ length: 60 }, () => new ObjectId());
    await db.collection('regions').insertMany([
      { _id: district, name: '基准区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null },
      ...streets.map((s, i) => ({ _id: s, name: `街道${i}`, tier: 'street', parentId: district, code: null, households: null, boundary: null })),
      ...communities.map((c, i) => ({ _id: c, name: `社区${i}`, tier: 'community', parentId: streets[i % 10], code: null, households: 550, boundary: null })),
    ]);
    const ids: ObjectId[] = [];
    const regionOf = new Map<string, string>();
    let t = Date.now();
    for (let base = 0; base < POINTS; base += 5000) {
      const docs: Document[] = [];
      for (let i = base; i < Math.min(POINTS, base + 5000); i++) {
        const _id = new ObjectId();
        const regionId = communities[i % 60];
        ids.push(_id);
        regionOf.set(_id.toHexString(), regionId.toHexString());
        docs.push({
          _id,
          gbCode: `21030200001320${String(i).padStart(6, '0')}`,
          name: `基准点位${i}`,
          regionId,
          sharing: 'own',
          enabled: true,
          address: `基准路${i}号`,
          vendor: ['海康威视', '大华', '宇视'][i % 3],
          maintainer: { org: `运维${i % 7}`, contact: '', phone: '' },
          tags: [],
          location: { lon: 122.95 + (i % 300) / 3000, lat: 41.08 + Math.floor(i / 300) / 3000 },
          status: { state: 'UP', since: new Date(Date.now() - 86_400_000), lastCheckAt: null, rttMs: 2, flapping: false, reason: null },
        });
      }
      await db.collection('cameras').insertMany(docs, { ordered: false });
    }
    out.seedMs = Date.now() - t;
    t = Date.now();
    // regions written straight into the store: the one region tree is re-read before live indexes the points
    await server.registry.regions.reload();
    await liveOf(server.ctx).reload();
    out.indexLoadMs = Date.now() - t;

    // subscriptions across regions: 10 district, 30 street (3 each), 60 community (1 each)
    const targets: string[] = [];
    for (let i = 0; i < CONSOLES; i++) {
      if (i < CONSOLES * 0.1) targets.push(district.toHexString());
      else if (i < CONSOLES * 0.4) targets.push(streets[i % 10].toHexString());
      else targets.push(communities[i % 60].toHexString());
    }
    const consoles: Console[] = [];
    t = Date.now();
    await Promise.all(
      targets.map(async (regionId) => {
        const socket = connect(`${server.url.replace(/\/$/, '')}/live`, { transports: ['websocket'], reconnection: false, forceNew: true });
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', reject);
        });
        const c: Console = { regionId, socket, states: new Map(), seq: 0, batchTimes: [], gaps: 0 };
        const apply = (ps: PointStates): void => ps.ids.forEach((id, i) => c.states.set(id, ps.st[i]));
        socket.on('status:changed', (b: StatusBatch) => {
          c.batchTimes.push(Date.now());
          if (b.seq !== c.seq + 1) c.gaps++;
          c.seq = b.seq;
          apply(b.changes);
        });
        const ack = (await socket.timeout(60_000).emitWithAck('subscribe', { regionId })) as Ack<SubscribeResult>;
        if (!ack.ok) throw new Error(ack.error.message);
        if (ack.data.kind === 'snapshot') apply(ack.data.points);
        c.seq = ack.data.seq;
        consoles.push(c);
      }),
    );
    out.subscribeAllMs = Date.now() - t;

    let page: import('playwright-core').Page | null = null;
    let browser: import('playwright-core').Browser | null = null;
    let stopProfile: (() => Promise<void>) | null = null;
    if (BROWSER && fs.existsSync(CHROMIUM)) {
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
      page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await page.addInitScript(() => {
        window.__longTasks = [];
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
        }).observe({ type: 'longtask' as 'mark', buffered: true });
      });
      if (PROFILE) {
        const cdp = await page.context().newCDPSession(page);
        await cdp.send('Profiler.enable');
        await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
        await cdp.send('Profiler.start');
        stopProfile = async () => {
          const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: CpuProfile };
          fs.mkdirSync(path.dirname(PROFILE), { recursive: true });
          fs.writeFileSync(PROFILE, JSON.stringify(profile));
          out.profileTopSelf = topSelf(profile, 25);
        };
      }
      t = Date.now();
      await page.goto(server.url);
      await page.waitForFunction(
        (n) => {
          const v = window.__vigil;
          return !!v && v.summary().size === n && v.connection() === 'live' && !!document.querySelector('.point-row');
        },
        POINTS,
        { timeout: 120_000, polling: 50 },
      );
      out.browserBoardRenderMs = Date.now() - t;
      await new Promise((r) => setTimeout(r, 1000));
    }

    // the storm: 10% confirmed DOWN at once, store first (as monitoring persists), then the feed
    const victims = ids.filter((_, i) => i % 10 === 3);
    const stormStartPerf = page ? await page.evaluate(() => performance.now()) : 0;
    const now = new Date();
    const ops: AnyBulkWriteOperation[] = victims.map((_id) => ({ updateOne: { filter: { _id }, update: { $set: { 'status.state': 'DOWN', 'status.since': now } } } }));
    for (let i = 0; i < ops.length; i += 5000) await db.collection('cameras').bulkWrite(ops.slice(i, i + 5000), { ordered: false });
    // expected per console, from the store (read before the feed fires, so it is not in the latency)
    const storeState = new Map<string, number>();
    for await (const d of db.collection('cameras').find({}, { projection: { _id: 1, 'status.state': 1 }, batchSize: 5000 })) {
      storeState.set((d._id).toHexString(), stateCode[String((d.status as Document | undefined)?.state)] ?? 0);
    }
    const parentOf = new Map<string, string>();
    streets.forEach((s) => parentOf.set(s.toHexString(), district.toHexString()));
    communities.forEach((c, i) => parentOf.set(c.toHexString(), streets[i % 10].toHexString()));
    const inSubtree = (regionId: string, root: string): boolean => {
      for (let r: string | undefined = regionId; r; r = parentOf.get(r)) if (r === root) return true;
      return false;
    };
    const expected = new Map<string, number>();
    for (const root of new Set(targets)) {
      const m = new Map<string, number>();
      for (const [id, st] of storeState) if (inSubtree(regionOf.get(id) ?? '', root)) m.set(id, st);
      expected.set(root, checksumOf(m));
    }
    const feed = monitoringOf(server.ctx).feed;
    let n = 0;
    for (const _id of victims) {
      const cameraId = _id.toHexString();
      n++;
      feed.emit({ id: `${cameraId}:bench`, cameraId, regionId: regionOf.get(cameraId) ?? '', seq: n, from: 'UP', to: 'DOWN', at: now, reason: 'bench', rttMs: null, flapping: false, failingSince: now });
    }
    const lastConfirmation = Date.now();
    out.stormPoints = victims.length;

    const converged = new Map<Console, number>();
    const deadline = Date.now() + 30_000;
    while (converged.size < consoles.length && Date.now() < deadline) {
      for (const c of consoles) if (!converged.has(c) && checksumOf(c.states) === expected.get(c.regionId)) converged.set(c, Date.now() - lastConfirmation);
      await new Promise((r) => setTimeout(r, 25));
    }
    const lat = [...converged.values()];
    out.consolesConverged = `${converged.size}/${consoles.length}`;
    out.convergeMsP50 = pct(lat, 50);
    out.convergeMsP99 = pct(lat, 99);
    out.convergeMsMax = Math.max(...lat);
    let maxRate = 0;
    for (const c of consoles) {
      for (let i = 0; i < c.batchTimes.length; i++) {
        let k = i;
        while (k + 1 < c.batchTimes.length && c.batchTimes[k + 1] - c.batchTimes[i] < 1000) k++;
        maxRate = Math.max(maxRate, k - i + 1);
      }
    }
    out.maxMessagesPerSecondPerConsole = maxRate;
    out.seqGaps = consoles.reduce((a, c) => a + c.gaps, 0);

    if (page) {
      await page.waitForFunction((down) => window.__vigil?.summary().counts[3] === down, victims.length, {
        timeout: 30_000,
        polling: 50,
      });
      out.browserConvergeMs = Date.now() - lastConfirmation;
      await new Promise((r) => setTimeout(r, 1500));
      const tasks = await page.evaluate(() => window.__longTasks);
      const during = tasks.filter((x) => x.start >= stormStartPerf).map((x) => x.duration);
      out.browserLongTasksDuringStorm = during.length;
      out.browserLongestTaskDuringStormMs = during.length ? Math.round(Math.max(...during)) : 0;
      out.browserLongestTaskAtLoadMs = tasks.length ? Math.round(Math.max(...tasks.filter((x) => x.start < stormStartPerf).map((x) => x.duration), 0)) : 0;
      out.browserLongTasks = tasks.map((x) => `${Math.round(x.start)}+${Math.round(x.duration)}`).join(' ');
      if (stopProfile) await stopProfile();
      await browser?.close();
    } else out.browser = 'skipped';

    for (const c of consoles) c.socket.disconnect();
    out.rssMb = Math.round(process.memoryUsage().rss / 1e6);
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    fs.mkdirSync('bench-results', { recursive: true });
    fs.writeFileSync(path.join('bench-results', 'live.json'), JSON.stringify({ at: new Date().toISOString(), ...out }, null, 2));
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench-live failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
