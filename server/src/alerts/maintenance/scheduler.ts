import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { pointPredicate, type Viewer } from '../../auth/scope';
import type { PointMatcher } from '../../contracts/incidents';
import type { MaintenanceSchedule } from '../../contracts/maintenance';
import type { Calendar } from '../../lib/calendar';
import type { Logger } from '../../lib/logger';
import type { RegionTree } from '../../regions/tree';
import type { AlertPoint } from '../incidents/engine';
import { compileMatcher } from '../matcher';
import { nextChange, occurrenceAt } from './recurrence';

/** What the scheduler needs of a window. */
export interface WindowRule {
  id: string;
  name: string;
  enabled: boolean;
  matcher: PointMatcher;
  schedule: MaintenanceSchedule;
  /** The creator's view: a window only ever covers points its creator can see. */
  viewer: Viewer;
}

/** Monitoring's side: its MAINTENANCE state (MonitoringService). */
export interface MaintenanceTarget {
  /** Whether monitoring holds the point in maintenance; undefined when it does not monitor the point (yet). */
  inMaintenance(id: string): boolean | undefined;
  setMaintenance(id: string, on: boolean): void;
}

export interface SchedulerDeps {
  windows(): readonly WindowRule[];
  points: { get(id: string): AlertPoint | undefined; ids(): Iterable<string> };
  tree(): RegionTree;
  target: MaintenanceTarget;
  calendar: Calendar;
  /** Milliseconds since the epoch: when windows open and close (tests inject one). */
  clock(): number;
  logger: Logger;
  /** At most this long between two looks (the timer also wakes at the next start or end of any window). */
  tickMs: number;
  /** A full comparison of every point at least this often (by the clock), whatever changed. */
  fullPassMs?: number;
  /** Points switched per event-loop turn (a district-wide window switches thousands). */
  sliceSize?: number;
}

interface OpenWindow {
  rule: WindowRule;
  covers: (p: AlertPoint) => boolean;
}

/** A window's state as last computed: open or not from `at` until `until` (null: for ever). */
interface Cached {
  rule: WindowRule;
  at: number;
  open: boolean;
  until: number | null;
}

/** Points compared per event-loop turn in a full pass. */
const COMPARE_SLICE = 20_000;

/** A point monitoring did not know yet (registered a moment ago): looked at again on the next runs. */
const PENDING_RUNS = 20;

/**
 * Drives monitoring's MAINTENANCE state from the windows, as a reconciler: the state each point should have
 * (in maintenance exactly when an open window covers it) is computed from the windows, the points and the
 * clock, compared with what monitoring holds, and only the differences are switched. So it is crash-safe by
 * construction — after a restart the first run puts right whatever changed while the process was down (a
 * window that ended, one that opened, one deleted) — and a point registered into an open window's scope is
 * switched on the next run after its registry change.
 *
 * Runs: at start, after every window change, after registry changes (those points only), at the next start or
 * end of any window (a timer aimed at it), and at least every `tickMs`. A full comparison of every point runs
 * when the set of open windows changed and at least every `fullPassMs`; otherwise only changed points are looked at.
 */
export class MaintenanceScheduler {
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private running: Promise<void> = Promise.resolve();
  private queued = false;
  private readonly dirty = new Set<string>();
  private readonly pending = new Map<string, number>();
  private openKey: string | null = null;
  private lastFullAt = -Infinity;
  private rulesChanged = true;
  private readonly cache = new Map<string, Cached>();
  private compiled: { tree: RegionTree; rules: readonly WindowRule[]; open: Map<string, OpenWindow> } | null = null;

  constructor(private readonly deps: SchedulerDeps) {}

  /** The first run (awaited: the states are right when it resolves), then the timer. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Windows were created, changed or deleted: every point is compared on the next run (now). */
  windowsChanged(): Promise<void> {
    this.rulesChanged = true;
    this.cache.clear();
    return this.run();
  }

  /** A point was added or changed in the registry (region, organisation, tags, enabled…). */
  pointChanged(id: string): void {
    this.dirty.add(id);
    this.pending.delete(id);
    void this.run();
  }

  /** Whether an open window covers the point now (by the last run's open windows). */
  covered(id: string): boolean {
    const p = this.deps.points.get(id);
    if (!p || !this.compiled) return false;
    for (const w of this.compiled.open.values()) if (w.covers(p)) return true;
    return false;
  }

  /** One reconciliation; runs never overlap (a call during a run queues one more run after it). */
  run(): Promise<void> {
    if (this.stopped) return this.running;
    if (this.queued) return this.running;
    this.queued = true;
    const next = this.running.then(async () => {
      this.queued = false;
      try {
        await this.runOnce();
      } catch (err) {
        this.deps.logger.error('maintenance: reconciliation failed', { err });
      }
      this.arm();
    });
    this.running = next;
    return next;
  }

  private arm(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const now = this.deps.clock();
    let delay = this.deps.tickMs;
    for (const c of this.cache.values()) if (c.until !== null) delay = Math.min(delay, Math.max(0, c.until - now));
    // a few ms past the boundary: the occurrence's end is exclusive
    this.timer = setTimeout(() => void this.run(), delay + 5);
    this.timer.unref();
  }

  /** Which enabled windows are open at `now` (each window's state is cached until its next change). */
  private openWindows(now: number): WindowRule[] {
    const rules = this.deps.windows();
    const open: WindowRule[] = [];
    const seen = new Set<string>();
    for (const rule of rules) {
      seen.add(rule.id);
      if (!rule.enabled) continue;
      let c = this.cache.get(rule.id);
      if (!c || c.rule !== rule || now < c.at || (c.until !== null && now >= c.until)) {
        const cal = this.deps.calendar;
        c = { rule, at: now, open: occurrenceAt(rule.schedule, now, cal) !== null, until: nextChange(rule.schedule, now, cal) };
        this.cache.set(rule.id, c);
      }
      if (c.open) open.push(rule);
    }
    for (const id of this.cache.keys()) if (!seen.has(id)) this.cache.delete(id);
    return open;
  }

  private compile(open: WindowRule[]): Map<string, OpenWindow> {
    const tree = this.deps.tree();
    const rules = this.deps.windows();
    const prev = this.compiled;
    const out = new Map<string, OpenWindow>();
    for (const rule of open) {
      const known = prev && prev.tree === tree && prev.rules === rules ? prev.open.get(rule.id) : undefined;
      if (known) {
        out.set(rule.id, known);
        continue;
      }
      const matches = compileMatcher(rule.matcher, tree);
      const visible = pointPredicate(rule.viewer, tree);
      out.set(rule.id, { rule, covers: (p) => matches(p) && visible(p) });
    }
    this.compiled = { tree, rules, open: out };
    return out;
  }

  private async runOnce(): Promise<void> {
    const { deps } = this;
    const now = deps.clock();
    const openRules = this.openWindows(now);
    const open = this.compile(openRules);
    const key = [...open.keys()].sort().join(',');
    const full = this.rulesChanged || key !== this.openKey || now - this.lastFullAt >= (deps.fullPassMs ?? 60_000) || now < this.lastFullAt;
    const before = this.openKey === null ? new Set<string>() : new Set(this.openKey.split(',').filter(Boolean));
    this.rulesChanged = false;
    let ids: Iterable<string>;
    if (full) {
      this.lastFullAt = now;
      this.dirty.clear();
      this.pending.clear();
      // taken as slots at once, each id made when its slice comes (a million made up front held the loop)
      ids = deps.points.ids();
    } else {
      ids = [...this.dirty, ...this.pending.keys()];
      this.dirty.clear();
    }
    const windows = [...open.values()];
    const on: string[] = [];
    const off: string[] = [];
    const counts = new Map<string, number>();
    let seen = 0;
    for (const id of ids) {
      // a province's 300,000 points are compared in slices: polling shares this event loop
      if (++seen % COMPARE_SLICE === 0) await yieldToLoop();
      const p = deps.points.get(id);
      if (!p) {
        this.pending.delete(id);
        continue;
      }
      let want = false;
      for (const w of windows) {
        if (!w.covers(p)) continue;
        want = true;
        counts.set(w.rule.id, (counts.get(w.rule.id) ?? 0) + 1);
        if (!full) break;
      }
      const have = deps.target.inMaintenance(id);
      if (have === undefined) {
        // not monitored (yet): a point just registered reaches monitoring a moment after its registry change
        if (!full && want) {
          const left = (this.pending.get(id) ?? PENDING_RUNS + 1) - 1;
          if (left > 0) this.pending.set(id, left);
          else this.pending.delete(id);
        }
        continue;
      }
      this.pending.delete(id);
      if (want !== have) (want ? on : off).push(id);
    }
    if (full) {
      for (const w of windows) if (!before.has(w.rule.id)) deps.logger.info('maintenance window open', { windowId: w.rule.id, name: w.rule.name, points: counts.get(w.rule.id) ?? 0 });
      for (const id of before) if (!open.has(id)) deps.logger.info('maintenance window closed', { windowId: id });
    }
    this.openKey = key;
    await this.apply(off, false);
    await this.apply(on, true);
  }

  private async apply(ids: string[], on: boolean): Promise<void> {
    const size = this.deps.sliceSize ?? 2000;
    for (let i = 0; i < ids.length; i += size) {
      if (i > 0) await yieldToLoop();
      for (const id of ids.slice(i, i + size)) {
        try {
          this.deps.target.setMaintenance(id, on);
        } catch (err) {
          // removed from monitoring meanwhile: the next run looks at it again if it comes back
          this.deps.logger.debug('maintenance: point not switched', { cameraId: id, on, err });
        }
      }
    }
  }
}
