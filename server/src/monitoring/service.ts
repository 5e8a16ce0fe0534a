import { setMaxListeners } from 'node:events';
import net from 'node:net';
import cron, { type ScheduledTask } from 'node-cron';
import type { Connection } from 'mongoose';
import type { CameraChange } from '../cameras/events';
import type { Config } from '../config';
import { AppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { probes as defaultProbes } from '../probes';
import { useConnKind } from '../probes/conn';
import { probeKinds, probeOutcomes, type Probe, type ProbeKind, type ProbeResult, type ProbeTarget } from '../probes/types';
import { ChangeFeed, type ConfirmedState, type Transition } from './events';
import { createMonitoringMetrics, type MonitoringMetrics } from './metrics';
import { addCounts, MonitoringStore, toStoredStatus, transitionFromDoc, storeId, type RollupCounts, type RollupDelta, type StoredStatus } from './persistence';
import { nextDue, phaseOf, Scheduler, type Job } from './scheduler';
import { initialState, steadyCheck, step, type MachineEvent, type MachineRules, type MachineTransition, type PointState, type State } from './state-machine';

/** The registry side the engine listens to (CameraService.onChange). */
export interface RegistryFeed {
  onChange(listener: (c: CameraChange) => void): () => void;
}

/** What the engine needs of a registry point; read straight from the `cameras` collection. */
export interface PointConfig {
  id: string;
  regionId: string;
  enabled: boolean;
  endpoint: { host: string; rtspPort: number; rtspPath?: string | null; httpPort?: number | null; onvifPort?: number | null };
  probe: { kind: ProbeKind; intervalSec: number; timeoutMs: number; retries: number };
}

type CheckDone = { result: ProbeResult; kind: ProbeKind; transition: Transition | null };

/**
 * One monitored point. Kept small and mutated in place (300,000 of these live in one heap): rules objects
 * are shared, the machine state is updated in place on the steady path, and the current hour's rollup is
 * a handful of number fields rather than an entry in a map keyed by a string per check.
 */
interface Point extends Job {
  id: string;
  regionId: string;
  kind: ProbeKind;
  target: ProbeTarget;
  intervalMs: number;
  rules: MachineRules;
  enabled: boolean;
  deleted: boolean;
  m: PointState;
  statusWrittenAt: number;
  acctSince: number;
  /** Callers of checkNow waiting for the running check; null when none. */
  waiters: Array<(o: CheckDone) => void> | null;
  /** The current hour's rollup slot (NaN hour = empty). */
  rHour: number;
  rUp: number;
  rDown: number;
  rMaint: number;
  rUnknown: number;
  rChecks: number;
  rFailures: number;
}

/** Metric series of each probe kind (its position in probeKinds). */
const KIND_INDEX = Object.fromEntries(probeKinds.map((k, i) => [k, i])) as Record<ProbeKind, number>;

/** Rollup categories by index: CAT_FIELDS[cat] is the rollup field a category's seconds go to. */
const CAT_FIELDS = ['upSec', 'downSec', 'maintenanceSec', 'unknownSec'] as const;
const CAT_UP = 0;
const CAT_DOWN = 1;
const CAT_MAINT = 2;
const CAT_UNKNOWN = 3;
const CAT_NONE = -1;

export interface PointStatus {
  cameraId: string;
  state: State;
  confirmed: ConfirmedState;
  since: string;
  lastCheckAt: string | null;
  rttMs: number | null;
  flapping: boolean;
  reason: string | null;
  consecutiveFailures: number;
  maintenance: boolean;
  nextCheckAt: string | null;
}

export interface CheckOutcome {
  result: ProbeResult;
  kind: ProbeKind;
  status: PointStatus;
  transition: Transition | null;
}

export interface HistoryAnswer {
  cameraId: string;
  period: string;
  from: string;
  to: string;
  uptime: { percent: number | null; upSec: number; downSec: number; maintenanceSec: number; unknownSec: number; checks: number; failures: number };
  transitions: Array<Omit<Transition, 'at' | 'failingSince'> & { at: string; failingSince: string | null }>;
}

export interface MonitoringOptions {
  config: Config;
  logger: Logger;
  conn: Connection;
  registry?: RegistryFeed;
  probes?: Readonly<Record<ProbeKind, Probe>>;
}

const HOUR = 3_600_000;

/**
 * The polling engine: points from the registry → deadline-queue scheduler → probes → state machine →
 * change feed + batched store writes. One instance per app (no globals).
 */
export class MonitoringService {
  readonly feed: ChangeFeed;
  readonly metrics: MonitoringMetrics;
  readonly store: MonitoringStore;
  private readonly points = new Map<string, Point>();
  private readonly scheduler: Scheduler<Point>;
  private readonly probes: Readonly<Record<ProbeKind, Probe>>;
  private readonly abort = new AbortController();
  private readonly config: Config;
  private readonly logger: Logger;
  private flushTimer: NodeJS.Timeout | undefined;
  /** probes_total series per kind (row) and outcome (column), resolved once. */
  private readonly outcomeSlots: Record<ProbeResult['outcome'], number>[];
  /** Shared rules objects, one per retries value (not one per point). */
  private readonly rulesByRetries = new Map<number, MachineRules>();
  private readonly statusRefreshMs: number;
  private cronTasks: ScheduledTask[] = [];
  /** Points read by start()'s registry read, scheduled once it is complete (see upsertPoint). */
  private startQueue: Array<{ p: Point; offset: number }> | null = null;
  /** The rollup spill pass in progress (see startSpillPass), or null. */
  private spillPass: Iterator<Point> | null = null;
  private unsubscribe: (() => void) | undefined;
  private started = false;
  private stopped = false;
  /** Polling on? (MONITOR_ENABLED; unset = on except under NODE_ENV=test.) Off = the engine is inert. */
  readonly polling: boolean;
  private storeHealthy = true;

  constructor(private readonly opts: MonitoringOptions) {
    this.config = opts.config;
    this.logger = opts.logger.child({ component: 'monitoring' });
    this.probes = opts.probes ?? defaultProbes;
    useConnKind(this.config.PROBE_SOCKET);
    this.polling = this.config.MONITOR_ENABLED ?? this.config.NODE_ENV !== 'test';
    // every running probe listens on the one stop signal
    setMaxListeners(0, this.abort.signal);
    this.feed = new ChangeFeed((err) => this.logger.error('change-feed subscriber failed', { err }));
    this.metrics = createMonitoringMetrics({
      inFlight: () => this.scheduler.inFlight,
      lagMs: () => this.scheduler.currentLagMs(),
      pointsByState: () => {
        const by: Record<string, number> = {};
        for (const p of this.points.values()) by[p.m.state] = (by[p.m.state] ?? 0) + 1;
        return by;
      },
      flapping: () => {
        let n = 0;
        for (const p of this.points.values()) if (p.m.flapping) n++;
        return n;
      },
      bufferedTransitions: () => this.store.bufferedTransitions,
      bufferedStatus: () => this.store.bufferedStatus,
    });
    this.outcomeSlots = probeKinds.map((_k, ki) => Object.fromEntries(probeOutcomes.map((o, oi) => [o, this.metrics.probes.slot(ki, oi)])) as Record<ProbeResult['outcome'], number>);
    this.statusRefreshMs = this.config.MONITOR_STATUS_REFRESH_SEC * 1000;
    this.store = new MonitoringStore(
      opts.conn,
      {
        transitionBufferMax: this.config.MONITOR_TRANSITION_BUFFER_MAX,
        maxOpsPerFlush: this.config.MONITOR_FLUSH_MAX_OPS,
        transitionsRetentionDays: this.config.TRANSITIONS_RETENTION_DAYS,
        rollupsRetentionDays: this.config.ROLLUPS_RETENTION_DAYS,
      },
      this.metrics,
      this.logger,
    );
    this.scheduler = new Scheduler<Point>({
      concurrency: this.config.MONITOR_CONCURRENCY,
      tickMs: this.config.MONITOR_DISPATCH_TICK_MS,
      run: (p, lag, done) => this.runScheduled(p, lag, done),
      onError: (p, err) => this.logger.error('check failed unexpectedly', { cameraId: p.id, err }),
    });
  }

  get running(): boolean {
    return this.started && !this.stopped && (this.scheduler.isRunning || !this.polling);
  }

  get pointCount(): number {
    return this.points.size;
  }

  /** Loads every point (restoring its state), then starts polling, flushing and housekeeping. */
  async start(): Promise<void> {
    if (!this.polling) {
      this.started = true;
      this.logger.info('monitoring is off (MONITOR_ENABLED)');
      return;
    }
    await this.store.ensureIndexes().catch((err: unknown) => this.logger.warn('monitoring indexes not created', { err }));
    const latest = await this.store.latestTransitions();
    this.startQueue = [];
    try {
      await this.resync(latest);
    } finally {
      const base = Date.now();
      for (const { p, offset } of this.startQueue) if (p.enabled && !p.deleted && !p.running && p.qIndex < 0) this.scheduler.schedule(p, base + offset);
      this.startQueue = null;
    }
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
    );
    this.startPolling();
    this.logger.info('monitoring started', { points: this.points.size });
  }

  /** Starts dispatching checks for the points loaded so far (start() calls it; benchmarks use it alone). */
  startPolling(): void {
    this.started = true;
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.polling) return;
    this.unsubscribe?.();
    for (const t of this.cronTasks) await t.destroy();
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.abort.abort();
    await this.scheduler.stop();
    await this.flush({ rollups: true });
  }

  /** Starts a pass that moves every point's rollup slot into the write buffer, a slice per flush tick. */
  startSpillPass(): void {
    this.spillPass ??= this.points.values();
  }

  get spilling(): boolean {
    return this.spillPass !== null;
  }

  /**
   * One slice of the spill pass: as many points as the next flush can write (MONITOR_FLUSH_MAX_OPS less
   * what is buffered already), so a store slower than the pass slows the pass down instead of growing
   * the buffer.
   */
  spillSlice(): void {
    const pass = this.spillPass;
    if (!pass) return;
    const now = Date.now();
    const room = this.config.MONITOR_FLUSH_MAX_OPS - this.store.bufferedRollups;
    for (let i = 0; i < room; i++) {
      const next = pass.next();
      if (next.done) {
        this.spillPass = null;
        return;
      }
      this.closeSlot(next.value, now);
    }
  }

  /**
   * Writes buffered statuses, transitions and rollups. The periodic call writes at most
   * MONITOR_FLUSH_MAX_OPS of each; `{ rollups: true }` first moves every point's rollup slot into the
   * buffer and then writes everything (stop, tests). Never throws: failures stay buffered.
   */
  async flush(what: { rollups?: boolean } = {}): Promise<boolean> {
    const now = Date.now();
    if (what.rollups) {
      this.spillPass = null;
      for (const p of this.points.values()) this.closeSlot(p, now);
    }
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

  // ---- registry → points ------------------------------------------------------------------------

  /** Re-reads the registry: adds, updates and removes points. `latest` reconciles seq after a crash. */
  async resync(latest?: Map<string, Transition>): Promise<void> {
    const seen = new Set<string>();
    const cursor = this.store.cameras.find(
      {},
      // batches of 1,000: the embedded store answers a getMore on the event loop polling shares, and a
      // default (16 MB) batch of a 300,000-point registry would hold it for a second
      { projection: { regionId: 1, enabled: 1, endpoint: 1, probe: 1, status: 1 }, batchSize: 1000 },
    ) as unknown as AsyncIterable<{ _id: unknown; regionId: unknown; enabled?: boolean; endpoint: PointConfig['endpoint']; probe?: Partial<PointConfig['probe']>; status?: StoredStatus }>;
    for await (const row of cursor) {
      const id = String(row._id);
      const cfg = this.configOf(id, row);
      if (!cfg) continue;
      seen.add(id);
      this.upsertPoint(cfg, row.status, latest?.get(id));
    }
    for (const p of [...this.points.values()]) if (!seen.has(p.id)) this.removePoint(p.id);
  }

  /** Null for a point without an endpoint host (nothing to probe). */
  private configOf(id: string, row: { regionId: unknown; enabled?: boolean; endpoint?: (Omit<PointConfig['endpoint'], 'host'> & { host: string | null }) | null; probe?: Partial<PointConfig['probe']> }): PointConfig | null {
    const c = this.config;
    if (!row.endpoint?.host) return null;
    return {
      id,
      regionId: String(row.regionId),
      enabled: row.enabled !== false,
      endpoint: { ...row.endpoint, host: row.endpoint.host },
      probe: {
        kind: row.probe?.kind ?? c.PROBE_DEFAULT_KIND,
        intervalSec: row.probe?.intervalSec ?? c.PROBE_DEFAULT_INTERVAL_SEC,
        timeoutMs: row.probe?.timeoutMs ?? c.PROBE_DEFAULT_TIMEOUT_MS,
        retries: row.probe?.retries ?? c.PROBE_DEFAULT_RETRIES,
      },
    };
  }

  private onRegistryChange(c: CameraChange): void {
    if (c.kind === 'delete') {
      this.removePoint(c.id);
      return;
    }
    if (!this.polling) return;
    if (c.camera) {
      const cfg = this.configOf(c.id, c.camera);
      if (cfg) this.upsertPoint(cfg);
      else this.removePoint(c.id);
      return;
    }
    void this.store.cameras
      .findOne({ _id: storeId(c.id) }, { projection: { regionId: 1, enabled: 1, endpoint: 1, probe: 1 } })
      .then((row) => {
        const cfg = row ? this.configOf(c.id, row as unknown as Parameters<MonitoringService['configOf']>[1]) : null;
        if (cfg) this.upsertPoint(cfg);
      })
      .catch((err: unknown) => this.logger.warn('could not read changed camera', { cameraId: c.id, err }));
  }

  /** Adds a point or applies new settings to it. Public for wiring/tests; the registry feed calls it. */
  upsertPoint(cfg: PointConfig, stored?: StoredStatus, latest?: Transition): void {
    const now = Date.now();
    const intervalMs = this.config.MONITOR_INTERVAL_OVERRIDE_MS ?? cfg.probe.intervalSec * 1000;
    let rules = this.rulesByRetries.get(cfg.probe.retries);
    if (!rules) {
      rules = {
        failuresToDown: cfg.probe.retries,
        successesToUp: this.config.MONITOR_SUCCESSES_TO_UP,
        flapHigh: this.config.MONITOR_FLAP_HIGH_PERCENT,
        flapLow: this.config.MONITOR_FLAP_LOW_PERCENT,
      };
      this.rulesByRetries.set(cfg.probe.retries, rules);
    }
    let p = this.points.get(cfg.id);
    // the periodic resync hands every point in again: an unchanged one costs a comparison, no allocation
    if (p && !p.deleted && sameSettings(p, cfg, intervalMs, rules)) return;
    const target = targetOf(cfg, Math.min(cfg.probe.timeoutMs, intervalMs));
    if (!p) {
      p = {
        id: cfg.id,
        dueAt: 0,
        qIndex: -1,
        running: false,
        removed: false,
        regionId: cfg.regionId,
        kind: cfg.probe.kind,
        target,
        intervalMs,
        rules,
        enabled: cfg.enabled,
        deleted: false,
        m: restore(stored, latest, now, cfg.enabled),
        // Refreshes of unchanged statuses are spread over the refresh period (a phase per point), not all due
        // together one period after a restart (that would be one interval-long burst of N writes).
        statusWrittenAt: now - phaseOf(cfg.id, this.statusRefreshMs),
        acctSince: now,
        waiters: null,
        rHour: NaN,
        rUp: 0,
        rDown: 0,
        rMaint: 0,
        rUnknown: 0,
        rChecks: 0,
        rFailures: 0,
      };
      this.points.set(cfg.id, p);
      if (!stored) this.store.setStatus(p.id, toStoredStatus(p.m));
      if (cfg.enabled !== (p.m.state !== 'DISABLED')) this.apply(p, { kind: 'enabled', at: now, on: cfg.enabled });
      // Restored points keep their phase (spread over the interval); new ones are checked within a second.
      if (cfg.enabled) {
        const offset = stored ? phaseOf(p.id, intervalMs) : phaseOf(p.id, Math.min(intervalMs, 1000));
        // During the start-up read, phases count from when polling starts, not from when the point was read
        // (a 300,000-point read takes seconds: counting from the read would make those seconds' worth of
        // checks all due at once, a catch-up burst).
        if (this.startQueue) this.startQueue.push({ p, offset });
        else this.scheduler.schedule(p, now + offset);
      }
      return;
    }
    const wasEnabled = p.enabled;
    const intervalChanged = p.intervalMs !== intervalMs;
    if (p.regionId !== cfg.regionId) {
      // the hour so far belongs to the old region's rollup
      this.closeSlot(p, now);
    }
    Object.assign(p, { regionId: cfg.regionId, kind: cfg.probe.kind, target, intervalMs, rules, enabled: cfg.enabled, deleted: false });
    if (wasEnabled !== cfg.enabled) this.apply(p, { kind: 'enabled', at: now, on: cfg.enabled });
    if (!cfg.enabled) this.scheduler.unschedule(p);
    else if (!wasEnabled) this.scheduler.schedule(p, now + phaseOf(p.id, Math.min(intervalMs, 1000)));
    else if (intervalChanged && !p.running) this.scheduler.schedule(p, now + phaseOf(p.id, intervalMs));
  }

  removePoint(id: string): void {
    const p = this.points.get(id);
    if (!p) return;
    this.closeSlot(p, Date.now());
    p.deleted = true;
    this.scheduler.unschedule(p);
    this.points.delete(id);
  }

  // ---- checks -------------------------------------------------------------------------------------

  private runScheduled(p: Point, lagMs: number, done: (next: number | null) => void): undefined {
    this.metrics.dispatchLag.observe(lagMs / 1000);
    this.startCheck(p, () => {
      if (!p.enabled || p.deleted || this.stopped) {
        done(null);
        return;
      }
      const retrying = p.m.state === 'PENDING' || (p.m.state === 'DOWN' && p.m.successes > 0);
      done(nextDue(p.dueAt, retrying ? Math.min(this.config.MONITOR_RETRY_INTERVAL_MS, p.intervalMs) : p.intervalMs, Date.now()));
    });
    return undefined;
  }

  /**
   * Probes a point once and applies the result; `after` runs when the state is updated, then every
   * checkNow caller that joined this check is answered. Callback style on purpose: this runs thousands
   * of times a second, and each promise costs allocations and microtask hops.
   */
  private startCheck(p: Point, after: () => void): void {
    const kind = p.kind;
    const kindIdx = KIND_INDEX[kind];
    const t0 = performance.now();
    // No abort signal on the hot path (≈8 µs per probe for the listener): stop() waits for running
    // checks instead, each bounded by its timeout.
    const onResult = (result: ProbeResult): void => {
      this.metrics.probes.inc(this.outcomeSlots[kindIdx][result.outcome]);
      this.metrics.probeDuration.observe((performance.now() - t0) / 1000, kindIdx);
      const transition = p.deleted || this.stopped ? null : this.onCheck(p, result);
      after();
      const waiters = p.waiters;
      if (waiters) {
        p.waiters = null;
        const out: CheckDone = { result, kind, transition };
        for (const w of waiters) w(out);
      }
    };
    const probe = this.probes[kind];
    if (probe.run) probe.run(p.target, onResult);
    else probe.check(p.target).then(onResult, (err: unknown) => onResult({ outcome: 'protocol_error', up: false, rttMs: performance.now() - t0, detail: String(err) }));
  }

  private onCheck(p: Point, result: ProbeResult): Transition | null {
    const at = Date.now();
    const reason = result.outcome === 'ok' ? 'ok' : result.detail ? `${result.outcome}: ${result.detail}` : result.outcome;
    const rttMs = result.up ? result.rttMs : null;
    if (steadyCheck(p.m, at, result.up, rttMs, reason, p.rules)) {
      // nothing changed but the counters: the status document is only refreshed now and then
      this.account(p, at, result.up ? 1 : 2);
      if (at - p.statusWrittenAt >= this.statusRefreshMs) {
        this.store.setStatus(p.id, toStoredStatus(p.m));
        p.statusWrittenAt = at;
      }
      return null;
    }
    return this.apply(p, { kind: 'check', at, up: result.up, rttMs, reason });
  }

  /** Probe now (POST /cameras/:id/check). Joins a check already running instead of starting a second one. */
  async checkNow(id: string): Promise<CheckOutcome> {
    const p = this.points.get(id);
    if (!p) throw AppError.notFound('monitored point');
    if (!p.enabled) {
      const result = await this.probes[p.kind].check(p.target, this.abort.signal);
      return { result, kind: p.kind, status: this.view(p), transition: null };
    }
    const joined = new Promise<CheckDone>((resolve) => (p.waiters ??= []).push(resolve));
    if (!p.running && !this.scheduler.runNow(p)) {
      p.waiters = null;
      throw new AppError('unavailable', 'check could not be started');
    }
    const out = await joined;
    return { ...out, status: this.view(p) };
  }

  /** Maintenance windows (the alerts capability owns them) switch a point's MAINTENANCE state. */
  setMaintenance(id: string, on: boolean): PointStatus {
    const p = this.points.get(id);
    if (!p) throw AppError.notFound('monitored point');
    this.apply(p, { kind: 'maintenance', at: Date.now(), on });
    return this.view(p);
  }

  private apply(p: Point, ev: MachineEvent): Transition | null {
    const before = p.m;
    this.account(p, ev.at, ev.kind === 'check' ? (ev.up ? 1 : 2) : 0);
    const r = step(before, ev, p.rules);
    if (r.point === before) return null;
    p.m = r.point;
    let transition: Transition | null = null;
    if (r.transition) transition = this.emit(p, r.transition);
    const m = r.point;
    if (
      m.state !== before.state ||
      m.seq !== before.seq ||
      m.flapping !== before.flapping ||
      m.maintenance !== before.maintenance ||
      ev.at - p.statusWrittenAt >= this.statusRefreshMs
    ) {
      this.store.setStatus(p.id, toStoredStatus(m));
      p.statusWrittenAt = ev.at;
    }
    return transition;
  }

  private emit(p: Point, mt: MachineTransition): Transition {
    const t: Transition = {
      id: `${p.id}:${mt.seq}`,
      cameraId: p.id,
      regionId: p.regionId,
      seq: mt.seq,
      from: mt.from,
      to: mt.to,
      at: new Date(mt.at),
      reason: mt.reason,
      rttMs: mt.rttMs,
      flapping: mt.flapping,
      failingSince: mt.failingSince === null ? null : new Date(mt.failingSince),
    };
    this.metrics.transitions.labels(t.to).inc();
    this.store.addTransition(t);
    this.feed.emit(t);
    return t;
  }

  /**
   * Attributes the time since the last accounting to the point's confirmed state, hour by hour, and
   * counts a check (1 = up, 2 = failed; 0 = no check). Adds to the point's own hour slot; only when the
   * hour turns does the slot move into the store's write buffer.
   */
  private account(p: Point, now: number, check: 0 | 1 | 2): void {
    const cat = categoryOfPoint(p);
    let t = p.acctSince;
    p.acctSince = Math.max(now, t);
    const nowHour = Math.floor(now / HOUR) * HOUR;
    // earlier hours (a point not checked since before the hour turned): one delta each
    while (t < nowHour) {
      const hour = Math.floor(t / HOUR) * HOUR;
      const end = hour + HOUR;
      if (cat !== CAT_NONE) this.addToSlot(p, hour, cat, (end - t) / 1000, 0);
      t = end;
    }
    if (cat !== CAT_NONE || check !== 0) this.addToSlot(p, nowHour, cat, Math.max(0, now - t) / 1000, check);
  }

  private addToSlot(p: Point, hour: number, cat: number, seconds: number, check: 0 | 1 | 2): void {
    if (p.rHour !== hour) {
      this.spill(p);
      p.rHour = hour;
    }
    if (cat === CAT_UP) p.rUp += seconds;
    else if (cat === CAT_DOWN) p.rDown += seconds;
    else if (cat === CAT_MAINT) p.rMaint += seconds;
    else if (cat === CAT_UNKNOWN) p.rUnknown += seconds;
    if (check !== 0) {
      p.rChecks += 1;
      if (check === 2) p.rFailures += 1;
    }
  }

  /** Accounts the time up to `now` and moves the point's hour slot into the write buffer. */
  private closeSlot(p: Point, now: number): void {
    this.account(p, now, 0);
    this.spill(p);
  }

  /** Moves the point's hour slot into the store's rollup buffer (written on the next rollup flush). */
  private spill(p: Point): void {
    const d = slotOf(p);
    if (d) this.store.mergeRollup(d);
    p.rHour = NaN;
    p.rUp = p.rDown = p.rMaint = p.rUnknown = p.rChecks = p.rFailures = 0;
  }

  // ---- reads --------------------------------------------------------------------------------------

  hasPoint(id: string): boolean {
    return this.points.has(id);
  }

  status(id: string): PointStatus | undefined {
    const p = this.points.get(id);
    return p ? this.view(p) : undefined;
  }

  private view(p: Point): PointStatus {
    return {
      cameraId: p.id,
      state: p.m.state,
      confirmed: p.m.confirmed,
      since: new Date(p.m.since).toISOString(),
      lastCheckAt: p.m.lastCheckAt === null ? null : new Date(p.m.lastCheckAt).toISOString(),
      rttMs: p.m.rttMs,
      flapping: p.m.flapping,
      reason: p.m.reason,
      consecutiveFailures: p.m.failures,
      maintenance: p.m.maintenance,
      nextCheckAt: p.qIndex >= 0 ? new Date(p.dueAt).toISOString() : null,
    };
  }

  /** Transitions and uptime of one point over the last `periodMs` (rollups + what is not flushed yet). */
  async history(id: string, period: string, periodMs: number): Promise<HistoryAnswer> {
    try {
      return await this.readHistory(id, period, periodMs);
    } catch (err) {
      if (err instanceof AppError) throw err;
      this.logger.warn('history read failed', { cameraId: id, err });
      throw new AppError('unavailable', 'the store is unreachable; status (GET …/status) is still served from memory');
    }
  }

  private async readHistory(id: string, period: string, periodMs: number): Promise<HistoryAnswer> {
    const p = this.points.get(id);
    const to = Date.now();
    const from = to - periodMs;
    const docs = await this.store.transitions
      .find({ cameraId: storeId(id), at: { $gte: new Date(from) } })
      .sort({ at: -1, seq: -1 })
      .limit(1000)
      .toArray();
    const uptime: RollupCounts = { upSec: 0, downSec: 0, maintenanceSec: 0, unknownSec: 0, checks: 0, failures: 0 };
    const firstHour = Math.floor(from / HOUR) * HOUR;
    const rows = await this.store.rollupCol.find({ cameraId: storeId(id), hour: { $gte: new Date(firstHour) } }).toArray();
    const add = (r: RollupCounts): void => addCounts(uptime, r);
    for (const r of rows) add(r);
    for (const d of this.store.pendingRollups(id)) if (d.hour >= firstHour) add(d);
    const slot = p ? slotOf(p) : null;
    if (slot && slot.hour >= firstHour) add(slot);
    if (p) {
      const cat = categoryOfPoint(p);
      if (cat !== CAT_NONE) uptime[CAT_FIELDS[cat]] += Math.max(0, to - Math.max(p.acctSince, firstHour)) / 1000;
    }
    const known = uptime.upSec + uptime.downSec;
    return {
      cameraId: id,
      period,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      uptime: {
        percent: known > 0 ? Math.round((uptime.upSec / known) * 1e6) / 1e4 : null,
        upSec: Math.round(uptime.upSec),
        downSec: Math.round(uptime.downSec),
        maintenanceSec: Math.round(uptime.maintenanceSec),
        unknownSec: Math.round(uptime.unknownSec),
        checks: uptime.checks,
        failures: uptime.failures,
      },
      transitions: docs.map((d) => {
        const t = transitionFromDoc(d);
        return { ...t, at: t.at.toISOString(), failingSince: t.failingSince ? t.failingSince.toISOString() : null };
      }),
    };
  }
}

/** Whether a point already runs with these settings (then a registry re-read changes nothing). */
function sameSettings(p: Point, cfg: PointConfig, intervalMs: number, rules: MachineRules): boolean {
  const t = p.target;
  const e = cfg.endpoint;
  if (p.regionId !== cfg.regionId || p.kind !== cfg.probe.kind || p.enabled !== cfg.enabled || p.intervalMs !== intervalMs || p.rules !== rules) return false;
  if (t.host !== e.host || t.timeoutMs !== Math.min(cfg.probe.timeoutMs, intervalMs)) return false;
  const fresh = targetPort(cfg);
  return t.port === fresh.port && (t.path ?? null) === (fresh.path ?? null);
}

function targetPort(cfg: PointConfig): { port: number; path?: string } {
  const e = cfg.endpoint;
  switch (cfg.probe.kind) {
    case 'tcp':
      return { port: e.rtspPort || 554 };
    case 'rtsp':
      return { port: e.rtspPort || 554, path: e.rtspPath || '/' };
    case 'onvif':
      return { port: e.onvifPort ?? e.httpPort ?? 80, path: '/onvif/device_service' };
    case 'http':
      return { port: e.httpPort ?? 80, path: '/ISAPI/System/status' };
  }
}

/** The rollup category the point's time counts for now (maintenance wins over the confirmed state). */
function categoryOfPoint(p: Point): number {
  if (p.m.maintenance) return CAT_MAINT;
  switch (p.m.confirmed) {
    case 'UP':
      return CAT_UP;
    case 'DOWN':
      return CAT_DOWN;
    case 'MAINTENANCE':
      return CAT_MAINT;
    case 'UNKNOWN':
      return CAT_UNKNOWN;
    case 'DISABLED':
      return CAT_NONE;
  }
}

function slotOf(p: Point): RollupDelta | null {
  if (Number.isNaN(p.rHour)) return null;
  return { cameraId: p.id, regionId: p.regionId, hour: p.rHour, upSec: p.rUp, downSec: p.rDown, maintenanceSec: p.rMaint, unknownSec: p.rUnknown, checks: p.rChecks, failures: p.rFailures };
}

const HTTP_OK: readonly number[] = [200];

export function targetOf(cfg: PointConfig, timeoutMs: number): ProbeTarget {
  const host = cfg.endpoint.host;
  const t: ProbeTarget = { host, family: net.isIP(host) as 0 | 4 | 6, timeoutMs, ...targetPort(cfg) };
  if (cfg.probe.kind === 'http') t.expectStatus = HTTP_OK;
  return t;
}

const confirmedStates: readonly ConfirmedState[] = ['UNKNOWN', 'UP', 'DOWN', 'MAINTENANCE', 'DISABLED'];

/**
 * The machine state of a point after a restart: what the store holds (a healthy point stays UP), moved
 * forward to the newest stored transition when that is ahead of the status (a crash between the two
 * writes of a flush), so the next transition gets a fresh seq and nothing is announced twice.
 */
export function restore(stored: StoredStatus | undefined, latest: Transition | undefined, now: number, enabled: boolean): PointState {
  const m = initialState(now, enabled);
  if (stored?.state) {
    m.state = stored.state;
    m.confirmed = stored.confirmed ?? (stored.state === 'PENDING' ? 'UNKNOWN' : stored.state);
    m.since = stored.since ? new Date(stored.since).getTime() : now;
    m.lastCheckAt = stored.lastCheckAt ? new Date(stored.lastCheckAt).getTime() : null;
    m.rttMs = stored.rttMs ?? null;
    m.flapping = Boolean(stored.flapping);
    m.reason = stored.reason ?? null;
    m.seq = stored.seq ?? 0;
    m.failures = stored.failures ?? 0;
    m.successes = stored.successes ?? 0;
    m.hist = stored.hist ?? 0;
    m.histLen = stored.histLen ?? 0;
    m.flapFrom = stored.flapFrom ?? null;
    m.maintenance = stored.maintenance ?? stored.state === 'MAINTENANCE';
    m.failingSince = stored.failingSince ? new Date(stored.failingSince).getTime() : null;
  }
  if (latest && latest.seq > m.seq && confirmedStates.includes(latest.to)) {
    m.seq = latest.seq;
    m.confirmed = latest.to;
    m.state = latest.to;
    m.flapping = latest.flapping;
    m.since = latest.at.getTime();
  }
  return m;
}
