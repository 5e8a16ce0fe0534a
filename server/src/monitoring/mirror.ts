import { monitoredProjection, monitoredSettingsProjection, pointsCollection, storeId, type MonitoredPointRow, type StoredStatus } from '../cameras/read-model';
import type { CameraState } from '../contracts/live';
import type { CameraChange } from '../cameras/events';
import type { Config } from '../config';
import type { Logger } from '../lib/logger';
import type { Connection } from 'mongoose';
import type { CheckRunner } from './checks';
import type { Transition } from './events';
import type { MonitoringStore } from './persistence';
import { interned } from '../lib/intern';
import { AppError } from '../lib/errors';
import type { ProbeKind, ProbeTarget } from '../probes/types';
import { DormantPoints } from './dormant';
import { configOf, isProbed, makePoint, NO_TARGET, restore, sameSettings, statusSec, targetOf, toStoredStatus, viewOf, type Point, type PointConfig, type PointRow, type PointStatus } from './points';
import type { Rollups } from './rollups';
import { Intake, phaseOf, restoredDue } from './scheduler';
import type { MachineRules } from './state-machine';

/**
 * The point mirror: the engine's in-memory config of every registry point, kept in step with the registry
 * by a full read (start-up, the periodic resync) and the camera change feed in between. It decides when a
 * point is scheduled: enabled and connected (with an endpoint host). Registry facts that the state machine
 * models (enabled, connected) go to it as events, so their transitions are announced like any other.
 *
 * Two homes for a point: `awake` holds the engine's `Point` objects (every probed point, and a point that is
 * not probed while something works on it: a check still running, a read, an event); `dormant` holds the
 * others as compact columns (dormant.ts), ~10× smaller. Whatever works on a point goes through `wake`, which
 * moves it back into an object, and `settle` puts it to sleep again when it is idle and not probed: the
 * object is then the only copy while awake, so every path works on one truth.
 */
export class PointMirror {
  private readonly awake = new Map<string, Point>();
  /**
   * Bumped whenever a point is added, removed or given other settings (what is probed, and how often):
   * figures derived from every point's settings are recomputed only when it moved (service.ts demand).
   */
  settingsVersion = 0;
  private readonly dormant = new DormantPoints();
  /** Points a read holds across an await (they stay awake until it ends). */
  private readonly pinned = new Set<Point>();
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
    const gone: string[] = [];
    for (const id of this.awake.keys()) if (!seen.has(id)) gone.push(id);
    for (const id of this.dormant.ids()) if (!seen.has(id)) gone.push(id);
    for (const id of gone) this.remove(id);
  }

  /** A registry change (CameraService.onChange). */
  onRegistryChange(c: CameraChange): void {
    if (c.kind === 'delete') {
      this.remove(c.id);
      return;
    }
    if (c.camera) {
      this.applyRow(c.id, c.camera, c.created ? c.camera.status.state : undefined);
      return;
    }
    void pointsCollection(this.o.conn)
      .findOne({ _id: storeId(c.id) }, { projection: monitoredSettingsProjection })
      .then((row) => {
        if (row) this.applyRow(c.id, row);
      })
      .catch((err: unknown) => this.o.logger.warn('could not read changed camera', { cameraId: c.id, err }));
  }

  /** `storedState`: a new point's first state as the registry's insert stored it. */
  private applyRow(id: string, row: PointRow, storedState?: CameraState): void {
    const cfg = configOf(id, row, this.o.config);
    if (cfg) this.upsert(cfg, undefined, undefined, storedState);
    else this.remove(id);
  }

  /**
   * Adds a point or applies new settings to it. Public for wiring/tests; the registry feed calls it.
   * `storedState`: a new point's first state, in the store already (the registry wrote it with the point):
   * when it is the engine's initial state, it is not written again (an import of a million points would
   * queue a million writes).
   */
  upsert(cfg: PointConfig, stored?: StoredStatus, latest?: Transition, storedState?: CameraState): void {
    // the periodic resync hands every point in again: a sleeping one whose facts are unchanged costs a lookup
    if (this.dormant.same(cfg.id, cfg.regionId, cfg.enabled, cfg.endpoint.host !== null)) return;
    this.settle(this.upsertAwake(cfg, stored, latest, storedState));
  }

  private rulesFor(retries: number): MachineRules {
    let rules = this.rulesByRetries.get(retries);
    if (!rules) {
      const { config } = this.o;
      rules = {
        failuresToDown: retries,
        successesToUp: config.MONITOR_SUCCESSES_TO_UP,
        flapHigh: config.MONITOR_FLAP_HIGH_PERCENT,
        flapLow: config.MONITOR_FLAP_LOW_PERCENT,
      };
      this.rulesByRetries.set(retries, rules);
    }
    return rules;
  }

  /** upsert on the point's object (woken when it sleeps); returns it. */
  private upsertAwake(cfg: PointConfig, stored?: StoredStatus, latest?: Transition, storedState?: CameraState): Point {
    const { config, checks, rollups, store } = this.o;
    const now = Date.now();
    const intervalMs = config.MONITOR_INTERVAL_OVERRIDE_MS ?? cfg.probe.intervalSec * 1000;
    const connected = cfg.endpoint.host !== null;
    const rules = this.rulesFor(cfg.probe.retries);
    let p = this.wake(cfg.id);
    // the periodic resync hands every point in again: an unchanged one costs a comparison, no allocation
    if (p && !p.deleted && sameSettings(p, cfg, intervalMs, rules)) return p;
    this.settingsVersion++;
    const target = targetOf(cfg, Math.min(cfg.probe.timeoutMs, intervalMs));
    if (!p) {
      p = makePoint(
        cfg.id,
        interned.str(cfg.regionId),
        cfg.probe.kind,
        target,
        intervalMs,
        rules,
        cfg.enabled,
        connected,
        restore(stored, latest, now, cfg.enabled, connected),
        // Refreshes of unchanged statuses are spread over the refresh period (a phase per point), not all due
        // together one period after a restart (that would be one interval-long burst of N writes).
        statusSec(now - phaseOf(cfg.id, this.o.statusRefreshMs)),
        now,
      );
      this.awake.set(cfg.id, p);
      if (!stored && storedState !== p.m.state) store.setStatus(p.id, toStoredStatus(p.m));
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
      return p;
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
    else if (intervalChanged) {
      // The gap to the next check is kept against the new interval from now: one opened under the old setting
      // (a 20 s point set to 60 s, or the other way round) says nothing about the new one, and counted from the
      // last check it read as a point starved for 2–4× its interval after every change (the interval meter,
      // /metrics' longest gap).
      if (p.lastRunAt > 0) p.lastRunAt = now;
      if (!p.running) checks.scheduler.schedule(p, restoredDue(p.id, intervalMs, now));
    }
    return p;
  }

  remove(id: string): void {
    const p = this.wake(id);
    if (!p) return;
    this.settingsVersion++;
    this.o.rollups.closeSlot(p, Date.now());
    p.deleted = true;
    this.o.checks.scheduler.unschedule(p);
    this.awake.delete(id);
    this.pinned.delete(p);
  }

  // ---- one point: awake (an object) or asleep (dormant.ts) -------------------------------------------

  get size(): number {
    return this.awake.size + this.dormant.size;
  }

  has(id: string): boolean {
    return this.awake.has(id) || this.dormant.has(id);
  }

  /** The point's object, woken from the dormant table when it sleeps; undefined when it is not monitored. */
  wake(id: string): Point | undefined {
    const p = this.awake.get(id);
    if (p) return p;
    const d = this.dormant.take(id);
    if (!d) return undefined;
    const f = d.facts;
    const woken = makePoint(id, f.regionId, f.kind, NO_TARGET, f.intervalMs, this.rulesFor(f.retries), f.enabled, f.connected, d.m, f.statusWrittenSec, f.acctSince);
    woken.removed = true;
    this.awake.set(id, woken);
    return woken;
  }

  /**
   * Puts a point to sleep when nothing needs its object: not probed, no check running or waited for, not
   * queued, not held by a read. Its open history slot is closed into the write buffer first (the dormant
   * table keeps no slot; time after that is accounted from its cursor when it is next accounted).
   */
  settle(p: Point): void {
    if (isProbed(p) || p.running || p.waiters !== null || p.qIndex >= 0 || p.deleted || this.pinned.has(p)) return;
    if (this.awake.get(p.id) !== p || !fitsDormant(p)) return;
    if (!Number.isNaN(p.rHour)) this.o.rollups.closeSlot(p, Date.now());
    this.awake.delete(p.id);
    this.dormant.put(
      p.id,
      {
        regionId: p.regionId,
        kind: p.kind,
        intervalMs: p.intervalMs,
        retries: p.rules.failuresToDown,
        enabled: p.enabled,
        connected: p.connected,
        statusWrittenSec: p.statusWrittenSec,
        acctSince: p.acctSince,
      },
      p.m,
    );
  }

  /** Runs `use` on the point's object, kept awake until the promise settles. */
  async withPoint<T>(id: string, use: (p: Point) => Promise<T>): Promise<T> {
    const p = this.wake(id);
    if (!p) throw AppError.notFound('monitored point');
    this.pinned.add(p);
    try {
      return await use(p);
    } finally {
      this.pinned.delete(p);
      this.settle(p);
    }
  }

  /** Applies `change` to the point (woken for it, put back to sleep after); undefined when it is not monitored. */
  update<T>(id: string, change: (p: Point) => T): T | undefined {
    const p = this.wake(id);
    if (!p) return undefined;
    const out = change(p);
    this.settle(p);
    return out;
  }

  status(id: string): PointStatus | undefined {
    return this.update(id, viewOf);
  }

  /** Whether the point is held in maintenance (its mark, whatever its state); undefined when it is not monitored. */
  inMaintenance(id: string): boolean | undefined {
    return this.awake.get(id)?.m.maintenance ?? this.dormant.maintenanceOf(id);
  }

  /** Points by state, and how many are flapping. */
  countStates(): { by: Record<string, number>; flapping: number } {
    const by: Record<string, number> = {};
    let flapping = this.dormant.count(by);
    for (const p of this.awake.values()) {
      by[p.m.state] = (by[p.m.state] ?? 0) + 1;
      if (p.m.flapping) flapping++;
    }
    return { by, flapping };
  }

  /** The points that may be probed (every probed point is awake). */
  *probed(): Generator<Point> {
    for (const p of this.awake.values()) if (isProbed(p)) yield p;
  }

  /**
   * Every point, for the history passes: a sleeping one is woken for its turn and put back to sleep when
   * the caller asks for the next (one that stays awake because a pass was abandoned goes back to sleep at
   * its next turn). Sleeping points are listed when the awake ones are done, so none is missed or repeated.
   */
  *all(): Generator<Point> {
    for (const p of this.awake.values()) {
      yield p;
      this.settle(p);
    }
    for (const id of this.dormant.idsSnapshot()) {
      const p = this.wake(id);
      if (!p) continue;
      yield p;
      this.settle(p);
    }
  }

  /**
   * The probe target of a point that is not probed (a manual check of a disabled point): the registry's
   * settings now, as the mirror would build them.
   */
  async targetFor(p: Point): Promise<{ kind: ProbeKind; target: ProbeTarget }> {
    if (p.target !== NO_TARGET) return { kind: p.kind, target: p.target };
    const row = await pointsCollection(this.o.conn).findOne({ _id: storeId(p.id) }, { projection: monitoredSettingsProjection });
    const cfg = row ? configOf(p.id, row, this.o.config) : null;
    if (!cfg) throw AppError.notFound('monitored point');
    const intervalMs = this.o.config.MONITOR_INTERVAL_OVERRIDE_MS ?? cfg.probe.intervalSec * 1000;
    return { kind: cfg.probe.kind, target: targetOf(cfg, Math.min(cfg.probe.timeoutMs, intervalMs)) };
  }
}

/** Whether the dormant table's columns hold the point's settings (retries in a byte, interval in 32 bits). */
function fitsDormant(p: Point): boolean {
  const r = p.rules.failuresToDown;
  return Number.isInteger(r) && r >= 0 && r <= 255 && Number.isInteger(p.intervalMs) && p.intervalMs >= 0 && p.intervalMs <= 0xffff_ffff;
}
