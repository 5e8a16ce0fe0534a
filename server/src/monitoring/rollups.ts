import { storeId } from '../cameras/read-model';
import type { Transition } from './events';
import { addCounts, transitionFromDoc, type MonitoringStore, type RollupCounts, type RollupDelta } from './persistence';
import type { Point } from './points';

const HOUR = 3_600_000;

/** Rollup categories by index: CAT_FIELDS[cat] is the rollup field a category's seconds go to. */
const CAT_FIELDS = ['upSec', 'downSec', 'maintenanceSec', 'unknownSec'] as const;
const CAT_UP = 0;
const CAT_DOWN = 1;
const CAT_MAINT = 2;
const CAT_UNKNOWN = 3;
const CAT_NONE = -1;

/**
 * The rollup category the point's time counts for now. A point that is not connected counts nowhere (it is
 * in no online-rate denominator, like a disabled one); otherwise maintenance wins over the confirmed state.
 */
function categoryOfPoint(p: Point): number {
  if (p.m.confirmed === 'NOT_CONNECTED') return CAT_NONE;
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

export interface HistoryAnswer {
  cameraId: string;
  period: string;
  from: string;
  to: string;
  uptime: { percent: number | null; upSec: number; downSec: number; maintenanceSec: number; unknownSec: number; checks: number; failures: number };
  transitions: Array<Omit<Transition, 'at' | 'failingSince'> & { at: string; failingSince: string | null }>;
}

/**
 * Time accounting of every point (hourly rollups) and the history read. Each point carries its current
 * hour's slot; when the hour turns, or a pass over all points comes by, the slot moves into the store's
 * write buffer (written by the next flush).
 */
export class Rollups {
  /** The rollup spill pass in progress (see startPass), or null. */
  private pass: Iterator<Point> | null = null;

  constructor(private readonly store: MonitoringStore) {}

  /**
   * Attributes the time since the last accounting to the point's confirmed state, hour by hour, and
   * counts a check (1 = up, 2 = failed; 0 = no check). Adds to the point's own hour slot; only when the
   * hour turns does the slot move into the store's write buffer.
   */
  account(p: Point, now: number, check: 0 | 1 | 2): void {
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
  closeSlot(p: Point, now: number): void {
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

  /** Starts a pass that moves every point's rollup slot into the write buffer, a slice at a time. */
  startPass(points: Iterable<Point>): void {
    this.pass ??= points[Symbol.iterator]();
  }

  get passing(): boolean {
    return this.pass !== null;
  }

  /** One slice of the pass: at most `room` points. */
  passSlice(now: number, room: number): void {
    const pass = this.pass;
    if (!pass) return;
    for (let i = 0; i < room; i++) {
      const next = pass.next();
      if (next.done) {
        this.pass = null;
        return;
      }
      this.closeSlot(next.value, now);
    }
  }

  /** Every point's slot into the buffer now (stop, tests); ends a pass in progress. */
  closeAll(points: Iterable<Point>, now: number): void {
    this.pass = null;
    for (const p of points) this.closeSlot(p, now);
  }

  /** Transitions and uptime of one point (`p` when it is monitored) from `from` to `to` (epoch ms). */
  async history(id: string, p: Point | undefined, period: string, from: number, to: number): Promise<HistoryAnswer> {
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
