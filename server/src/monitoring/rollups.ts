import { storeId } from '../cameras/read-model';
import type { Calendar } from '../lib/calendar';
import type { Transition } from './events';
import { addFigures, categoryOfState, emptyFigures, historyFields, type DayDoc, type Figures, type HistoryDelta } from './history-store';
import { transitionFromDoc, type MonitoringStore } from './persistence';
import type { Point } from './points';

const HOUR = 3_600_000;

export interface HistoryAnswer {
  cameraId: string;
  period: string;
  from: string;
  to: string;
  uptime: { percent: number | null; upSec: number; downSec: number; maintenanceSec: number; unknownSec: number; checks: number; failures: number };
  transitions: Array<Omit<Transition, 'at' | 'failingSince'> & { at: string; failingSince: string | null }>;
}

/** Adds seconds to the point's slot by category index (inline fields: see Point). */
function addSeconds(p: Point, cat: number, s: number): void {
  switch (cat) {
    case 0:
      p.rU += s;
      break;
    case 1:
      p.rD += s;
      break;
    case 2:
      p.rM += s;
      break;
    case 3:
      p.rN += s;
      break;
    case 4:
      p.rC += s;
      break;
    default:
      p.rX += s;
  }
}

function slotFigures(p: Point): Figures {
  return { sec: [p.rU, p.rD, p.rM, p.rN, p.rC, p.rX], p: p.rP, k: p.rChecks, f: p.rFailures };
}

/**
 * Time accounting of every point into the compact history (history-store.ts). Time counts in whole
 * seconds (an event at t takes effect at ⌊t⌋ s, as the online-rate engine reads transitions), for the
 * confirmed state the point was in, so a fully watched day sums to exactly its length. Each point carries
 * its current hour slot; when the hour turns, or a pass over all points comes by, the slot moves into the
 * store's write buffer (written by the next flush into the day and the month document).
 */
export class Rollups {
  /** The spill pass in progress (see startPass), or null. */
  private pass: Iterator<Point> | null = null;

  constructor(
    private readonly store: MonitoringStore,
    private readonly calendar: Calendar,
  ) {}

  /**
   * Attributes the time since the last accounting to the point's confirmed state, slot by slot, and counts
   * a check (1 = up, 2 = failed; 0 = no check). Called before each event is applied, so the time up to the
   * event goes to the state before it.
   */
  account(p: Point, now: number, check: 0 | 1 | 2): void {
    const t1 = Math.floor(now / 1000) * 1000;
    let t = Math.floor(p.acctSince / 1000) * 1000;
    if (t < t1) {
      const cat = categoryOfState[p.m.confirmed];
      const pending = p.m.state === 'PENDING';
      while (t < t1) {
        if (!(t >= p.rHour && t < p.rEnd)) this.open(p, t);
        if (t === p.rHour && this.calendar.dayOf(t).start === t) p.rS = cat;
        const end = Math.min(t1, p.rEnd);
        // `| 0`: whole seconds as a small integer. A division's result is a heap double even when whole, and
        // one stored into a slot field whose every value so far was a small integer changes the field's
        // representation: V8 gives the point a new hidden class and deprecates the old one, so the next walk
        // over all points (the pass, the load figure's demand) migrates each of them, ~300 ms at 150,000.
        const s = ((end - t) / 1000) | 0;
        addSeconds(p, cat, s);
        if (pending) p.rP += s;
        t = end;
      }
      p.acctSince = t1;
    } else if (p.acctSince < t1) {
      p.acctSince = t1;
    }
    if (check !== 0) {
      if (!(t1 >= p.rHour && t1 < p.rEnd)) this.open(p, t1);
      p.rChecks += 1;
      if (check === 2) p.rFailures += 1;
    }
  }

  /** Spills the current slot and opens the one holding t. */
  private open(p: Point, t: number): void {
    this.spill(p);
    const slot = this.calendar.hourSlot(t);
    p.rHour = slot.start;
    p.rEnd = slot.end;
  }

  /** Accounts the time up to `now` and moves the point's slot into the write buffer. */
  closeSlot(p: Point, now: number): void {
    this.account(p, now, 0);
    this.spill(p);
  }

  /** Moves the point's slot into the store's history buffer (written on the next flush). */
  private spill(p: Point): void {
    const d = this.deltaOf(p);
    if (d) this.store.history.merge(d);
    p.rHour = p.rEnd = NaN;
    p.rU = p.rD = p.rM = p.rN = p.rC = p.rX = p.rP = p.rChecks = p.rFailures = 0;
    p.rS = -1;
  }

  private deltaOf(p: Point): HistoryDelta | null {
    if (Number.isNaN(p.rHour)) return null;
    const slot = this.calendar.hourSlot(p.rHour);
    // a fresh object each time: the write buffer keeps it (history-store.ts merge)
    return { cameraId: p.id, day: slot.day.key, dom: slot.day.dom, hour: slot.index, s: p.rS, sec: [p.rU, p.rD, p.rM, p.rN, p.rC, p.rX], p: p.rP, k: p.rChecks, f: p.rFailures };
  }

  /** Starts a pass that moves every point's slot into the write buffer, a slice at a time. */
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

  /**
   * Transitions and uptime of one point (`p` when it is monitored) from `from` to `to` (epoch ms): the hour
   * slots of the day documents from the hour holding `from`, what is buffered, the point's open slot and
   * the time since it was last accounted.
   */
  async history(id: string, p: Point | undefined, period: string, from: number, to: number): Promise<HistoryAnswer> {
    const cal = this.calendar;
    const docs = await this.store.transitions
      .find({ cameraId: storeId(id), at: { $gte: new Date(from) } })
      .sort({ at: -1, seq: -1 })
      .limit(1000)
      .toArray();
    const firstHour = cal.hourSlot(from).start;
    const dayKeys: number[] = [];
    for (let k = cal.dayOf(from).key; cal.day(k).start <= to; k = cal.nextDay(k)) dayKeys.push(k);
    const sum = emptyFigures();
    for (const doc of await this.store.history.dayDocsOf(id, dayKeys)) addDayFrom(sum, doc, cal.day(Number(doc._id.slice(0, 8))).start, firstHour);
    for (const d of this.store.history.pending(id)) if (cal.day(d.day).start + d.hour * HOUR >= firstHour) addFigures(sum, d);
    if (p && !Number.isNaN(p.rHour) && p.rHour >= firstHour) addFigures(sum, slotFigures(p));
    if (p) sum.sec[categoryOfState[p.m.confirmed]] += Math.max(0, Math.floor(to / 1000) - Math.floor(Math.max(p.acctSince, firstHour) / 1000));
    const [up, down, maint, unknown] = sum.sec;
    const known = up + down;
    return {
      cameraId: id,
      period,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      uptime: {
        percent: known > 0 ? Math.round((up / known) * 1e6) / 1e4 : null,
        upSec: up,
        downSec: down,
        maintenanceSec: maint,
        unknownSec: unknown,
        checks: sum.k,
        failures: sum.f,
      },
      transitions: docs.map((d) => {
        const t = transitionFromDoc(d);
        return { ...t, at: t.at.toISOString(), failingSince: t.failingSince ? t.failingSince.toISOString() : null };
      }),
    };
  }
}

/** Adds a day document's hour slots from `firstHour` on (its totals when the slots were dropped and the whole day counts). */
function addDayFrom(sum: Figures, doc: DayDoc, dayStart: number, firstHour: number): void {
  const h = doc.h;
  if (!h) {
    if (dayStart < firstHour) return;
    historyFields.forEach((f, i) => (sum.sec[i] += doc[f] ?? 0));
    sum.p += doc.p ?? 0;
    sum.k += doc.k ?? 0;
    sum.f += doc.f ?? 0;
    return;
  }
  const from = Math.max(0, Math.floor((firstHour - dayStart) / HOUR));
  const add = (slots: Record<string, number> | undefined): number => {
    let n = 0;
    if (slots) for (const [hour, v] of Object.entries(slots)) if (Number(hour) >= from) n += v;
    return n;
  };
  historyFields.forEach((f, i) => (sum.sec[i] += add(h[f])));
  sum.p += add(h.p);
  sum.k += add(h.k);
  sum.f += add(h.f);
}
