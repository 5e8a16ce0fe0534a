/**
 * The history pass alone (`npx tsx scripts/bench-poll-pass.ts [--points N] [--passes K]`): what the 5-minute
 * pass of `bench:poll` costs without any probing. N points (default 150000) are loaded into the engine on
 * the embedded store (in its worker thread, as `npm start` runs it), each given 5 minutes of UP time and
 * 2 checks, then a pass is run as the service runs it (a slice of MONITOR_FLUSH_MAX_OPS points per flush
 * tick, then the flush) until every slot is written; K passes (default 3), each after 5 more minutes of
 * accounted time. Per pass: process CPU per point (the store thread included), the longest synchronous
 * step of the main thread (event-loop delay max) and the longest flush; at the end RSS and the document
 * counts of the history collections.
 *
 * `--days-only`: the month documents are not written (their slots are dropped at each flush): what the pass
 * would cost if month figures were written less often than every pass (an option weighed in #15).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Types } from 'mongoose';
import { loadConfig } from '../server/src/config';
import { createLogger } from '../server/src/lib/logger';
import { MonitoringService } from '../server/src/monitoring/service';
import { openStore } from '../server/src/store/connection';
import type { Rollups } from '../server/src/monitoring/rollups';
import type { Point } from '../server/src/monitoring/points';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : def;
}
const POINTS = Number(arg('points', '150000'));
const PASSES = Number(arg('passes', '3'));
const DAYS_ONLY = process.argv.includes('--days-only');

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-pass-'));
  const logger = createLogger('warn');
  const store = await openStore(loadConfig({}, { DATA_DIR: dataDir, LOG_LEVEL: 'warn' }), logger);
  const config = loadConfig({}, { NODE_ENV: 'production', LOG_LEVEL: 'warn', MONITOR_ENABLED: 'true' });
  const service = new MonitoringService({ config, logger, conn: store.conn });
  await service.store.ensureIndexes();
  const stored = { state: 'UP' as const, confirmed: 'UP' as const, since: new Date(), lastCheckAt: null, rttMs: null, flapping: false, reason: null, seq: 1 };
  for (let i = 0; i < POINTS; i++) {
    service.upsertPoint(
      {
        id: new Types.ObjectId().toHexString(),
        regionId: 'r1',
        enabled: true,
        endpoint: { host: '127.0.0.1', rtspPort: 554, rtspPath: '/', httpPort: 80 },
        probe: { kind: 'tcp', intervalSec: 60, timeoutMs: 3000, retries: 3 },
      },
      stored,
    );
  }
  // private members, read for the measurement only
  const internals = service as unknown as { rollups: Rollups; mirror: { awake: Map<string, Point> } };
  const points = [...internals.mirror.awake.values()];
  if (DAYS_ONLY) {
    const history = service.store.history;
    const take = history.take.bind(history);
    history.take = (max) => ({ days: take(max).days, months: [] });
  }
  const eld = monitorEventLoopDelay({ resolution: 10 });
  let clock = Date.now();
  const rss0 = process.memoryUsage().rss;
  process.stdout.write(`rss before the first pass ${(rss0 / 2 ** 20).toFixed(0)} MB\n`);
  for (let pass = 1; pass <= PASSES; pass++) {
    for (const p of points) {
      p.acctSince = clock;
      internals.rollups.account(p, clock + 150_000, 1);
      internals.rollups.account(p, clock + 300_000, 1);
    }
    clock += 300_000;
    eld.reset();
    eld.enable();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let longestFlush = 0;
    service.startSpillPass();
    while (service.spilling || service.store.bufferedRollups > 0) {
      internals.rollups.passSlice(clock, config.MONITOR_FLUSH_MAX_OPS - service.store.bufferedRollups);
      const f0 = performance.now();
      await service.store.flush();
      longestFlush = Math.max(longestFlush, performance.now() - f0);
      // the flush timer's gap: let the loop turn as the service's 1 s timer would
      await new Promise((r) => setTimeout(r, 5));
    }
    const cpu = process.cpuUsage(c0);
    eld.disable();
    const ms = performance.now() - t0;
    process.stdout.write(
      `pass ${pass}: rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB; ${POINTS} points in ${(ms / 1000).toFixed(1)} s; CPU per point ${((cpu.user + cpu.system) / POINTS).toFixed(1)} µs (user ${(cpu.user / POINTS).toFixed(1)}); event-loop delay max ${(eld.max / 1e6 - 10).toFixed(0)} ms; longest flush ${longestFlush.toFixed(0)} ms\n`,
    );
  }
  const db = store.conn.db;
  const counts: Record<string, number> = {};
  for (const c of ['history_days', 'history_months', 'history_marks', 'rollups']) counts[c] = db ? await db.collection(c).countDocuments({}) : 0;
  process.stdout.write(`rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB; documents ${JSON.stringify(counts)}\n`);
  await store.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-poll-pass: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
