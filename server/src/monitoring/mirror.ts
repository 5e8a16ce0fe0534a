import { monitoredProjection, monitoredSettingsProjection, pointsCollection, storeId, type MonitoredPointRow, type StoredStatus } from '../cameras/read-model';
import type { CameraChange } from '../cameras/events';
import type { Config } from '../config';
import type { Logger } from '../lib/logger';
import type { Connection } from 'mongoose';
import type { CheckRunner } from './checks';
import type { Transition } from './events';
import type { MonitoringStore } from './persistence';
import { interned } from '../lib/intern';
import { configOf, isProbed, restore, sameSettings, targetOf, toStoredStatus, type Point, type PointConfig, type PointRow } from './points';
import type { Rollups } from './rollups';
import { Intake, phaseOf, restoredDue } from './scheduler';
import type { MachineRules } from './state-machine';

/**
 * The point mirror: the engine's in-memory config of every registry point, kept in step with the registry
 * by a full read (start-up, the periodic resync) and the camera change feed in between. It decides when a
 * point is scheduled: enabled and connected (with an endpoint host). Registry facts that the state machine
 * models (enabled, connected) go to it as events, so their transitions are announced like any other.
 */
export class PointMirror {
  readonly points = new Map<string, Point>();
  /** Shared rules objects, one per retries value (not one per point). */
  private readonly rulesByRetries = new Map<number, MachineRules>();
  /** Points read by start()'s registry read, scheduled once it is complete (see upsert). */
  private startQueue: Array<{ p: Point; restored: boolean }> | null = null;
  /** Paces the first checks of points added in bulk while running. */
  private readonly intake = new Intake();

  constructor(
    private readonly o: {
      config: Config;
      logger: Logger;
      conn: Connection;
      store: MonitoringStore;
      checks: CheckRunner;
      rollups: Rollups;
      statusRefreshMs: number;
    },
  ) {}

  /** The first registry read: phases count from when polling starts, once the read is complete. */
  async load(latest: Map<string, Transition>): Promise<void> {
    this.startQueue = [];
    try {
      await this.resync(latest);
    } finally {
      const base = Date.now();
      for (const { p, restored } of this.startQueue) {
        if (isProbed(p) && !p.deleted && !p.running && p.qIndex < 0) this.o.checks.scheduler.schedule(p, restored ? restoredDue(p.id, p.intervalMs, base) : base + phaseOf(p.id, Math.min(p.intervalMs, 1000)));
      }
      this.startQueue = null;
    }
  }

  /** Re-reads the registry: adds, updates and removes points. `latest` reconciles seq after a crash. */
  async resync(latest?: Map<string, Transition>): Promise<void> {
    const seen = new Set<string>();
    // batches of 1,000: the embedded store answers a getMore on the event loop polling shares, and a
    // default (16 MB) batch of a 300,000-point registry would hold it for a second
    const cursor = pointsCollection(this.o.conn).find<MonitoredPointRow>({}, { projection: monitoredProjection, batchSize: 1000 });
    for await (const row of cursor) {
      const id = String(row._id);
      const cfg = configOf(id, row, this.o.config);
      if (!cfg) continue;
      seen.add(id);
      this.upsert(cfg, row.status, latest?.get(id));
    }
    for (const p of [...this.points.values()]) if (!seen.has(p.id)) this.remove(p.id);
  }

  /** A registry change (CameraService.onChange). */
  onRegistryChange(c: CameraChange): void {
    if (c.kind === 'delete') {
      this.remove(c.id);
      return;
    }
    if (c.camera) {
      this.applyRow(c.id, c.camera);
      return;
    }
    void pointsCollection(this.o.conn)
      .findOne({ _id: storeId(c.id) }, { projection: monitoredSettingsProjection })
      .then((row) => {
        if (row) this.applyRow(c.id, row);
      })
      .catch((err: unknown) => this.o.logger.warn('could not read changed camera', { cameraId: c.id, err }));
  }

  private applyRow(id: string, row: PointRow): void {
    const cfg = configOf(id, row, this.o.config);
    if (cfg) this.upsert(cfg);
    else this.remove(id);
  }

  /** Adds a point or applies new settings to it. Public for wiring/tests; the registry feed calls it. */
  upsert(cfg: PointConfig, stored?: StoredStatus, latest?: Transition): void {
    const { config, checks, rollups, store } = this.o;
    const now = Date.now();
    const intervalMs = config.MONITOR_INTERVAL_OVERRIDE_MS ?? cfg.probe.intervalSec * 1000;
    const connected = cfg.endpoint.host !== null;
    let rules = this.rulesByRetries.get(cfg.probe.retries);
    if (!rules) {
      rules = {
        failuresToDown: cfg.probe.retries,
        successesToUp: config.MONITOR_SUCCESSES_TO_UP,
        flapHigh: config.MONITOR_FLAP_HIGH_PERCENT,
        flapLow: config.MONITOR_FLAP_LOW_PERCENT,
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
        regionId: interned.str(cfg.regionId),
        kind: cfg.probe.kind,
        target,
        intervalMs,
        lastRunAt: 0,
        rules,
        enabled: cfg.enabled,
        connected,
        deleted: false,
        m: restore(stored, latest, now, cfg.enabled, connected),
        // Refreshes of unchanged statuses are spread over the refresh period (a phase per point), not all due
        // together one period after a restart (that would be one interval-long burst of N writes).
        statusWrittenAt: now - phaseOf(cfg.id, this.o.statusRefreshMs),
        acctSince: now,
        waiters: null,
        // the empty history slot (emptySlot()), written out: properties spread into a literal are added one by
        // one after it is built and land in a separate property array, ~140 bytes more per point
        rHour: NaN,
        rEnd: NaN,
        rU: 0,
        rD: 0,
        rM: 0,
        rN: 0,
        rC: 0,
        rX: 0,
        rP: 0,
        rChecks: 0,
        rFailures: 0,
        rS: -1,
      };
      this.points.set(cfg.id, p);
      if (!stored) store.setStatus(p.id, toStoredStatus(p.m));
      // a stored state that disagrees with the registry (edited while the engine was down) is corrected
      // through the machine, so the change is announced
      if (cfg.enabled !== (p.m.state !== 'DISABLED')) checks.apply(p, { kind: 'enabled', at: now, on: cfg.enabled });
      if (p.m.state !== 'DISABLED' && connected !== (p.m.state !== 'NOT_CONNECTED')) checks.apply(p, { kind: 'connected', at: now, on: connected });
      // Restored points keep their phase (spread over the interval); new ones are checked at once, a burst of
      // them (an import) at the intake's pace, and then each on its own slot of the interval (routineNext).
      if (isProbed(p)) {
        // During the start-up read, phases count from when polling starts, not from when the point was read
        // (a 300,000-point read takes seconds: counting from the read would make those seconds' worth of
        // checks all due at once, a catch-up burst).
        if (this.startQueue) this.startQueue.push({ p, restored: Boolean(stored) });
        else checks.scheduler.schedule(p, stored ? restoredDue(p.id, intervalMs, now) : this.intake.firstDue(now));
      }
      return;
    }
    const wasProbed = isProbed(p);
    const wasEnabled = p.enabled;
    const wasConnected = p.connected;
    const intervalChanged = p.intervalMs !== intervalMs;
    if (p.regionId !== cfg.regionId) {
      // the time so far is accounted under the old settings
      rollups.closeSlot(p, now);
    }
    Object.assign(p, { regionId: interned.str(cfg.regionId), kind: cfg.probe.kind, target, intervalMs, rules, enabled: cfg.enabled, connected, deleted: false });
    // DISABLED wins over NOT_CONNECTED: disabling goes first and enabling last, so a point disabled and
    // stripped of its host at once is one X → DISABLED, and one enabled and given a host is DISABLED → UNKNOWN
    if (wasEnabled && !cfg.enabled) checks.apply(p, { kind: 'enabled', at: now, on: false });
    if (wasConnected !== connected) checks.apply(p, { kind: 'connected', at: now, on: connected });
    if (!wasEnabled && cfg.enabled) checks.apply(p, { kind: 'enabled', at: now, on: true });
    if (!isProbed(p)) checks.scheduler.unschedule(p);
    else if (!wasProbed) {
      p.lastRunAt = 0;
      checks.scheduler.schedule(p, this.intake.firstDue(now));
    }
    else if (intervalChanged && !p.running) checks.scheduler.schedule(p, restoredDue(p.id, intervalMs, now));
  }

  remove(id: string): void {
    const p = this.points.get(id);
    if (!p) return;
    this.o.rollups.closeSlot(p, Date.now());
    p.deleted = true;
    this.o.checks.scheduler.unschedule(p);
    this.points.delete(id);
  }
}
