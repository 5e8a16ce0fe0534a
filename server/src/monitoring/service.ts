import { setMaxListeners } from 'node:events';
import cron, { type ScheduledTask } from 'node-cron';
import type { Connection } from 'mongoose';
import type { StoredStatus } from '../cameras/read-model';
import type { CameraChange } from '../cameras/events';
import type { Config } from '../config';
import { AppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { probes as defaultProbes } from '../probes';
import { useConnKind } from '../probes/conn';
import { guardProbes } from '../probes/deny';
import { denyListOf } from '../lib/cidr';
import type { Probe, ProbeKind } from '../probes/types';
import { CheckRunner, type CheckOutcome } from './checks';
import { ChangeFeed } from '../lib/change-feed';
import type { Transition } from './events';
import { createMonitoringMetrics, type MonitoringMetrics } from './metrics';
import { PointMirror } from './mirror';
import { MonitoringStore } from './persistence';
import { viewOf, type PointConfig, type PointStatus } from './points';
import { Rollups, type HistoryAnswer } from './rollups';
import { Admission, IntervalMeter } from './admission';
import type { MonitoringLoad } from '../contracts/monitoring';
import { Calendar } from '../lib/calendar';
import { migrateRollups } from './history-migration';
import { HistoryRead } from './history-read';

export type { CheckOutcome } from './checks';
export { restore, targetOf, type PointConfig, type PointStatus } from './points';
export type { HistoryAnswer } from './rollups';

/** The registry side the engine listens to (CameraService.onChange). */
export interface RegistryFeed {
  onChange(listener: (c: CameraChange) => void): () => void;
}

export interface MonitoringOptions {
  config: Config;
  logger: Logger;
  conn: Connection;
  registry?: RegistryFeed;
  probes?: Readonly<Record<ProbeKind, Probe>>;
}

/**
 * The polling engine: points from the registry (the mirror) → deadline-queue scheduler → probes → state
 * machine (the check runner) → change feed + batched store writes, with time accounted in the compact history (day and month documents).
 * This façade wires those parts, owns the lifecycle (start, flush, stop, housekeeping) and answers reads.
 * One instance per app (no globals).
 */
export class MonitoringService {
  readonly feed: ChangeFeed<Transition>;
  readonly metrics: MonitoringMetrics;
  readonly store: MonitoringStore;
  private readonly mirror: PointMirror;
  private readonly checks: CheckRunner;
  private readonly rollups: Rollups;
  private readonly abort = new AbortController();
  private readonly config: Config;
  private readonly logger: Logger;
  private flushTimer: NodeJS.Timeout | undefined;
  private cronTasks: ScheduledTask[] = [];
  private unsubscribe: (() => void) | undefined;
  private started = false;
  private stopped = false;
  /** Polling on? (MONITOR_ENABLED; unset = on except under NODE_ENV=test.) Off = the engine is inert. */
  readonly polling: boolean;
  private storeHealthy = true;
  private readonly admission: Admission;
  private readonly intervals = new IntervalMeter();
  private loadTimer: NodeJS.Timeout | undefined;
  private loadNow: MonitoringLoad;
  private readonly loadListeners = new Set<(l: MonitoringLoad) => void>();
  private reader: HistoryRead | undefined;

  constructor(private readonly opts: MonitoringOptions) {
    this.config = opts.config;
    this.logger = opts.logger.child({ component: 'monitoring' });
    useConnKind(this.config.PROBE_SOCKET);
    this.polling = this.config.MONITOR_ENABLED ?? this.config.NODE_ENV !== 'test';
    // every running probe listens on the one stop signal
    setMaxListeners(0, this.abort.signal);
    this.feed = new ChangeFeed((err) => this.logger.error('change-feed subscriber failed', { err }));
    this.admission = new Admission({
      targetDelayMs: this.config.MONITOR_LOOP_DELAY_TARGET_MS,
      maxPerSec: this.config.MONITOR_MAX_CHECKS_PER_SEC,
      tickMs: this.config.MONITOR_DISPATCH_TICK_MS,
    });
    this.loadNow = { overloaded: false, effectiveIntervalSec: null, setIntervalSec: null, capacityUsed: null, admittedPerSec: null, at: new Date().toISOString() };
    this.metrics = createMonitoringMetrics({
      load: () => this.loadNow,
      admission: () => this.admission.state,
      longestGapRatio: () => this.intervals.last?.maxGapRatio ?? 0,
      stretchMs: () => this.checks.scheduler.stretchMs,
      inFlight: () => this.checks.scheduler.inFlight,
      lagMs: () => this.checks.scheduler.currentLagMs(),
      pointsByState: () => this.mirror.countStates().by,
      flapping: () => this.mirror.countStates().flapping,
      bufferedTransitions: () => this.store.bufferedTransitions,
      bufferedStatus: () => this.store.bufferedStatus,
    });
    const statusRefreshMs = this.config.MONITOR_STATUS_REFRESH_SEC * 1000;
    this.store = new MonitoringStore(
      opts.conn,
      {
        transitionBufferMax: this.config.MONITOR_TRANSITION_BUFFER_MAX,
        maxOpsPerFlush: this.config.MONITOR_FLUSH_MAX_OPS,
        transitionsRetentionDays: this.config.TRANSITIONS_RETENTION_DAYS,
        calendar: new Calendar(this.config.REPORT_TZ),
      },
      this.metrics,
      this.logger,
    );
    this.rollups = new Rollups(this.store, this.store.history.calendar);
    this.checks = new CheckRunner({
      probes: guardProbes(opts.probes ?? defaultProbes, denyListOf(this.config.PROBE_DENY_CIDRS)),
      store: this.store,
      feed: this.feed,
      metrics: this.metrics,
      rollups: this.rollups,
      logger: this.logger,
      concurrency: this.config.MONITOR_CONCURRENCY,
      tickMs: this.config.MONITOR_DISPATCH_TICK_MS,
      gate: this.admission.bucket,
      intervals: this.intervals,
      retryIntervalMs: this.config.MONITOR_RETRY_INTERVAL_MS,
      statusRefreshMs,
      signal: this.abort.signal,
      stopped: () => this.stopped,
      onRetired: (p) => this.mirror.settle(p),
    });
    this.mirror = new PointMirror({ config: this.config, logger: this.logger, conn: opts.conn, store: this.store, checks: this.checks, rollups: this.rollups, statusRefreshMs });
  }

  get running(): boolean {
    return this.started && !this.stopped && (this.checks.scheduler.isRunning || !this.polling);
  }

  /** The dispatcher (in-flight checks, lag: benchmarks sample it). */
  get scheduler(): CheckRunner['scheduler'] {
    return this.checks.scheduler;
  }

  get pointCount(): number {
    return this.mirror.size;
  }

  /** Loads every point (restoring its state), then starts polling, flushing and housekeeping. */
  async start(): Promise<void> {
    if (!this.polling) {
      this.started = true;
      this.logger.info('monitoring is off (MONITOR_ENABLED)');
      return;
    }
    await this.store.ensureIndexes().catch((err: unknown) => this.logger.warn('monitoring indexes not created', { err }));
    // before anything writes history: earlier versions' hourly rollups move into it (once; safe to re-run)
    await migrateRollups(this.opts.conn, this.store.history, this.logger);
    await this.pruneHistory();
    await this.mirror.load(await this.store.latestTransitions());
    this.unsubscribe = this.opts.registry?.onChange((c) => this.onRegistryChange(c));
    // A tick that finds a flush still running (a slow or unreachable store) skips: no queue of flushes.
    this.flushTimer = setInterval(() => {
      if (this.store.isFlushing) return;
      this.spillSlice();
      void this.flush();
    }, this.config.MONITOR_FLUSH_MS);
    this.cronTasks.push(
      cron.schedule(this.config.MONITOR_RESYNC_CRON, () => this.resync().catch((err: unknown) => this.logger.warn('registry resync failed', { err })), {
        name: 'monitoring-resync',
        noOverlap: true,
      }),
      // Rollups are accumulated on each point and written by a pass over all points, a slice per flush tick
      // (one synchronous pass over 300,000 points, and one write of 300,000 upserts, would stall the
      // event loop for seconds). A point's hour slot is also written when its first check of a new hour
      // comes; the hourly pass catches points that are not checked (maintenance ends, disabled).
      cron.schedule(this.config.MONITOR_ROLLUP_CRON, () => this.startSpillPass(), { name: 'monitoring-rollups', noOverlap: true }),
      cron.schedule('5 0 * * * *', () => this.startSpillPass(), { name: 'monitoring-hourly', noOverlap: true }),
      cron.schedule('40 0 * * *', () => void this.pruneHistory(), { name: 'history-prune', noOverlap: true, timezone: this.config.REPORT_TZ }),
    );
    this.startPolling();
    this.logger.info('monitoring started', { points: this.mirror.size });
  }

  /** Starts dispatching checks for the points loaded so far (start() calls it; benchmarks use it alone). */
  startPolling(): void {
    this.started = true;
    this.checks.scheduler.start();
    this.admission.start();
    this.loadTimer = setInterval(() => this.loadTick(), 1000);
    this.loadTimer.unref();
  }

  // ---- load: admission control and the capacity figure --------------------------------------------

  /** Once a second: one admission-control step, and the load figure (listeners hear when it changes). */
  private loadTick(): void {
    const now = Date.now();
    const a = this.admission.adjust(this.checks.scheduler.window);
    const iv = this.intervals.roll(now);
    const before = this.loadNow;
    let overloaded = before.overloaded;
    if (iv) {
      const ratio = iv.effectiveMs / iv.setMs;
      if (!overloaded && ratio >= 1.1 && iv.effectiveMs - iv.setMs >= 1000) overloaded = true;
      else if (overloaded && ratio < 1.05) overloaded = false;
    }
    const demand = this.demandPerSec();
    // what the engine can carry: the admitted rate when admission binds, otherwise what it did scaled to a
    // nearly busy event loop (ELU 0.9)
    const capacity = a.limited && a.ratePerSec < Infinity ? a.ratePerSec : a.utilization > 0.01 && a.achievedPerSec > 0 ? (a.achievedPerSec / a.utilization) * 0.9 : null;
    const next: MonitoringLoad = {
      overloaded,
      effectiveIntervalSec: iv ? Math.round(iv.effectiveMs / 100) / 10 : null,
      setIntervalSec: iv ? Math.round(iv.setMs / 100) / 10 : null,
      capacityUsed: capacity ? Math.round((demand / capacity) * 100) / 100 : null,
      admittedPerSec: a.ratePerSec < Infinity ? Math.round(a.ratePerSec) : null,
      at: new Date(now).toISOString(),
    };
    this.loadNow = next;
    const changed =
      next.overloaded !== before.overloaded ||
      (next.overloaded && Math.round(next.effectiveIntervalSec ?? 0) !== Math.round(before.effectiveIntervalSec ?? 0));
    if (changed) {
      if (next.overloaded !== before.overloaded) this.logger.warn(next.overloaded ? 'monitoring overloaded: routine checks run late' : 'monitoring keeps its intervals again', { ...next });
      for (const l of this.loadListeners) l(next);
    }
  }

  /**
   * Checks a second that every probed point's set interval asks for. A walk over every point (7–25 ms at
   * 150,000), so only when the mirror's settings moved, not every second of the load figure.
   */
  private demandPerSec(): number {
    if (this.demand.version === this.mirror.settingsVersion) return this.demand.perSec;
    let d = 0;
    for (const p of this.mirror.probed()) d += 1000 / p.intervalMs;
    this.demand = { version: this.mirror.settingsVersion, perSec: d };
    return d;
  }

  private demand = { version: -1, perSec: 0 };

  /** The engine's load as the console and `/monitoring/load` show it. */
  load(): MonitoringLoad {
    return this.loadNow;
  }

  /** Hears the load figure when the banner's state or its interval changes. */
  onLoad(listener: (l: MonitoringLoad) => void): () => void {
    this.loadListeners.add(listener);
    return () => this.loadListeners.delete(listener);
  }

  /**
   * The longest time any probed point has gone without a scheduled check, as a multiple of its interval,
   * counting open gaps up to `now` (benchmarks: no point may be starved).
   */
  longestGapRatio(now = Date.now()): number {
    let worst = this.intervals.last?.maxGapRatio ?? 0;
    for (const p of this.mirror.probed()) if (p.lastRunAt > 0) worst = Math.max(worst, (now - p.lastRunAt) / p.intervalMs);
    return worst;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.polling) return;
    this.unsubscribe?.();
    for (const t of this.cronTasks) await t.destroy();
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.loadTimer) clearInterval(this.loadTimer);
    this.admission.stop();
    this.abort.abort();
    await this.checks.scheduler.stop();
    await this.flush({ rollups: true });
  }

  /** The typed read of the history (day/month documents, transitions) that reports use. */
  get historyRead(): HistoryRead {
    return (this.reader ??= new HistoryRead(this.store));
  }

  /** History retention (HISTORY_*): hourly slots, day and month documents past their time. Never throws. */
  async pruneHistory(now = Date.now()): Promise<void> {
    const c = this.config;
    try {
      const r = await this.store.history.prune(now, { hourlyDays: c.HISTORY_HOURLY_DAYS, dayDays: c.HISTORY_DAY_DAYS, months: c.HISTORY_MONTHS });
      if (r.slotsDropped || r.daysDeleted || r.monthsDeleted) this.logger.info('history pruned', r);
    } catch (err) {
      this.logger.warn('history prune failed', { err });
    }
  }

  /** Starts a pass that moves every point's rollup slot into the write buffer, a slice per flush tick. */
  startSpillPass(): void {
    this.rollups.startPass(this.mirror.all());
  }

  get spilling(): boolean {
    return this.rollups.passing;
  }

  /**
   * One slice of the spill pass: as many points as the next flush can write (MONITOR_FLUSH_MAX_OPS less
   * what is buffered already), so a store slower than the pass slows the pass down instead of growing
   * the buffer.
   */
  spillSlice(): void {
    this.rollups.passSlice(Date.now(), this.config.MONITOR_FLUSH_MAX_OPS - this.store.bufferedRollups);
  }

  /**
   * Writes buffered statuses, transitions and rollups. The periodic call writes at most
   * MONITOR_FLUSH_MAX_OPS of each; `{ rollups: true }` first moves every point's rollup slot into the
   * buffer and then writes everything (stop, tests). Never throws: failures stay buffered.
   */
  async flush(what: { rollups?: boolean } = {}): Promise<boolean> {
    if (what.rollups) this.rollups.closeAll(this.mirror.all(), Date.now());
    try {
      await this.store.flush({ all: Boolean(what.rollups) });
      if (!this.storeHealthy) this.logger.info('store reachable again: buffered monitoring writes flushed');
      this.storeHealthy = true;
      return true;
    } catch (err) {
      if (this.storeHealthy) this.logger.warn('store write failed: buffering monitoring writes', { err, buffered: this.store.bufferedTransitions });
      this.storeHealthy = false;
      return false;
    }
  }

  // ---- registry → points (the mirror) -----------------------------------------------------------

  /** Re-reads the registry: adds, updates and removes points. `latest` reconciles seq after a crash. */
  resync(latest?: Map<string, Transition>): Promise<void> {
    return this.mirror.resync(latest);
  }

  private onRegistryChange(c: CameraChange): void {
    if (c.kind !== 'delete' && !this.polling) return;
    this.mirror.onRegistryChange(c);
  }

  /** Adds a point or applies new settings to it. Public for wiring/tests; the registry feed calls it. */
  upsertPoint(cfg: PointConfig, stored?: StoredStatus, latest?: Transition): void {
    this.mirror.upsert(cfg, stored, latest);
  }

  removePoint(id: string): void {
    this.mirror.remove(id);
  }

  // ---- checks and events --------------------------------------------------------------------------

  /** Probe now (POST /cameras/:id/check). Joins a check already running instead of starting a second one. */
  checkNow(id: string): Promise<CheckOutcome> {
    return this.mirror.withPoint(id, (p) => this.checks.checkNow(p, (q) => this.mirror.targetFor(q)));
  }

  /** Maintenance windows (the alerts capability owns them) switch a point's MAINTENANCE state. */
  setMaintenance(id: string, on: boolean): PointStatus {
    const view = this.mirror.update(id, (p) => {
      this.checks.apply(p, { kind: 'maintenance', at: Date.now(), on });
      return viewOf(p);
    });
    if (!view) throw AppError.notFound('monitored point');
    return view;
  }

  // ---- reads --------------------------------------------------------------------------------------

  /** Whether the point is held in maintenance (its mark, whatever its state); undefined when it is not monitored. */
  inMaintenance(id: string): boolean | undefined {
    return this.mirror.inMaintenance(id);
  }

  hasPoint(id: string): boolean {
    return this.mirror.has(id);
  }

  status(id: string): PointStatus | undefined {
    return this.mirror.status(id);
  }

  /** Transitions and uptime of one point over the last `periodMs` (rollups + what is not flushed yet). */
  async history(id: string, period: string, periodMs: number): Promise<HistoryAnswer> {
    try {
      const to = Date.now();
      if (!this.mirror.has(id)) return await this.rollups.history(id, undefined, period, to - periodMs, to);
      return await this.mirror.withPoint(id, (p) => this.rollups.history(id, p, period, to - periodMs, to));
    } catch (err) {
      if (err instanceof AppError) throw err;
      this.logger.warn('history read failed', { cameraId: id, err });
      throw new AppError('unavailable', 'the store is unreachable; status (GET …/status) is still served from memory');
    }
  }
}
