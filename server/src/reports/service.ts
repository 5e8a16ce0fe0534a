import type { Connection } from 'mongoose';
import { canSeeRegion, pointPredicate, viewerOf } from '../auth/scope';
import { pointsCollection, storeId } from '../cameras/read-model';
import { pointVisibilityFilter } from '../cameras/visibility';
import type { Principal } from '../contracts/access';
import {
  classOfGbCode,
  pointClasses,
  type OnlineRate,
  type OnlineRateQuery,
  type OnlineRateRow,
  type OnlineRateTrend,
  type OnlineRateTrendQuery,
  type PointClass,
} from '../contracts/reports';
import { monthsBefore, nextMonth, type Calendar, type CalendarDay } from '../lib/calendar';
import { AppError } from '../lib/errors';
import { categoryOfState, type HistoryRead, type MonthDoc, type StateChange } from '../monitoring';
import type { RegionTree } from '../regions/tree';
import type { RateExclusion } from '../contracts/exclusions';
import type { ExclusionLookup, ExclusionWindow } from './exclusions';
import { addRate, emptyRate, pointRates, snapshotRate, timeRate, type RateFigures } from './online-rate';
import { groupOfKey, type PointIndex } from './point-index';
import { addPointMonth, addSteady, addWholeDay, hasFirstMidnight, monthFrame, R_E, R_Z, type MonthBuild, type MonthSums, type SumsStore } from './sums';

/** The region tree as the regions service hands it out (regions/tree.ts is the one tree). */
export interface RegionSource {
  current(): RegionTree;
}

export interface ReportOptions {
  conn: Connection;
  regions: RegionSource;
  history: HistoryRead;
  snapshotTimes: readonly string[];
  timeZone: string;
  targets: Readonly<Record<PointClass, number>>;
  keyPublicIndustries: readonly string[];
  /** The per-group sums and the point index they are keyed by; absent: every report reads per point. */
  sums?: { store: SumsStore; index: PointIndex };
  /** Approved exclusion periods (reports/exclusions.ts): they leave the denominator. */
  exclusions?: ExclusionLookup;
  now?: () => number;
}

const METHOD =
  'time-weighted, pooled: Σ up seconds ÷ Σ (up + down) seconds over the points of each row (not an average of point rates); ' +
  'PENDING counts as the confirmed state it may leave; maintenance, never-checked, not-connected and disabled time is excluded; ' +
  'exact to the second: whole calendar days from the daily history (or its per-group sums), days the range cuts from transitions; ' +
  'snapshot: UP or DOWN at each configured local time, online ÷ (online + offline); ' +
  'targets per classification (key public areas, industry): a row is flagged when a classification in it is below its target; ' +
  'approved exclusion periods (power cut, roadworks, force majeure) leave both figures and are named per row with reason and approver';

/** Above this many points moved since the sums were built or changing state in a cut day, a report reads per point. */
const SPECIAL_MAX = 20_000;
/** Point sets read with `$in` (history-read.ts reads larger sets as whole ranges). */
const CHUNK = 2000;

interface PointInfo {
  id: string;
  /** Where the point is counted: its grid, else its region. */
  at: string;
  org: string;
  name: string;
  cls: PointClass;
}

/** Figures of one row, per classification. */
interface RowAcc {
  name: string;
  byCls: Map<PointClass, { points: number; f: RateFigures }>;
  /** The approved exclusions that touched the row's points, by id. */
  ex: Map<string, RateExclusion>;
}

class Rows {
  readonly rows = new Map<string, RowAcc>();
  row(key: string, name: string): RowAcc {
    let r = this.rows.get(key);
    if (!r) this.rows.set(key, (r = { name, byCls: new Map(), ex: new Map() }));
    return r;
  }
  cell(key: string, name: string, cls: PointClass): { points: number; f: RateFigures } {
    const r = this.row(key, name);
    let c = r.byCls.get(cls);
    if (!c) r.byCls.set(cls, (c = { points: 0, f: emptyRate() }));
    return c;
  }
  /** Names the exclusions of a point's windows on its row. */
  exclude(key: string, name: string, windows: readonly ExclusionWindow[] | undefined): void {
    if (!windows?.length) return;
    const r = this.row(key, name);
    for (const w of windows) r.ex.set(w.exclusion.id, w.exclusion);
  }
}

/** How a request's range splits over calendar days. */
interface Plan {
  from: number;
  to: number;
  /** Whole days by month (days of month). */
  whole: Map<number, number[]>;
  /** Days the range cuts: [a, b) within `day`, its snapshot instants. */
  cuts: Array<{ day: CalendarDay; a: number; b: number; instants: number }>;
}

/** Where a group's figures go in a request: its row and classification, or null (not visible, filtered out). */
type Placement = { key: string; name: string; cls: PointClass } | null;

/** The reports capability: online rate (this file), later coverage, exclusions, assessment, month close. */
export class ReportService {
  constructor(private readonly o: ReportOptions) {}

  private get cal(): Calendar {
    return this.o.history.calendar;
  }

  private instant(v: string, field: string): number {
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return this.cal.day(Number(v.replaceAll('-', ''))).start;
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw new AppError('bad_request', `${field} is not a valid instant`, [{ field, message: 'not a valid instant' }]);
    return t;
  }

  private region(principal: Principal, regionId: string): { tree: RegionTree; region: { id: string; name: string; tier: OnlineRate['region']['tier'] } } {
    const tree = this.o.regions.current();
    const region = tree.get(regionId);
    if (!region || !canSeeRegion(principal, tree, regionId)) throw AppError.notFound('region');
    return { tree, region: { id: region.id, name: region.name, tier: region.tier } };
  }

  /** The online rate of a region's visible points over [from, to), grouped by child node, organisation or point. */
  async onlineRate(principal: Principal, q: OnlineRateQuery, opts: { perPoint?: boolean } = {}): Promise<OnlineRate> {
    const { tree, region } = this.region(principal, q.region);
    const from = this.instant(q.from, 'from');
    const to = this.instant(q.to, 'to');
    if (to <= from) throw new AppError('bad_request', 'to must be after from', [{ field: 'to', message: 'must be after from' }]);
    const now = (this.o.now ?? Date.now)();
    const { rows, total, source, end } = await this.compute(principal, tree, q, from, to, now, opts.perPoint === true);
    return {
      region,
      from: new Date(from).toISOString(),
      to: new Date(end).toISOString(),
      timeZone: this.o.timeZone,
      by: q.by,
      method: METHOD,
      snapshotTimes: [...this.o.snapshotTimes],
      targets: { ...this.o.targets },
      source,
      total,
      rows,
    };
  }

  /** Month by month (REPORT_TZ calendar months) up to the current one, each with its rows. */
  async onlineRateTrend(principal: Principal, q: OnlineRateTrendQuery): Promise<OnlineRateTrend> {
    const { tree, region } = this.region(principal, q.region);
    const now = (this.o.now ?? Date.now)();
    const current = this.cal.dayOf(now).month;
    const months: OnlineRateTrend['months'] = [];
    for (let m = monthsBefore(current, q.months - 1); m <= current; m = nextMonth(m)) {
      const from = this.cal.monthStart(m);
      const to = this.cal.monthStart(nextMonth(m));
      const rq: OnlineRateQuery = { region: q.region, from: '', to: '', by: q.by, limit: 10_000, org: q.org, class: q.class };
      const r = await this.compute(principal, tree, rq, from, to, now, false);
      months.push({ month: `${Math.floor(m / 100)}-${String(m % 100).padStart(2, '0')}`, from: new Date(from).toISOString(), to: new Date(r.end).toISOString(), source: r.source, total: r.total, rows: r.rows });
    }
    return { region, timeZone: this.o.timeZone, by: q.by, method: METHOD, targets: { ...this.o.targets }, months };
  }

  private async compute(
    principal: Principal,
    tree: RegionTree,
    q: OnlineRateQuery,
    from: number,
    to: number,
    now: number,
    perPoint: boolean,
  ): Promise<{ rows: OnlineRateRow[]; total: OnlineRateRow; source: 'sums' | 'points'; end: number }> {
    const end = Math.min(to, Math.floor(now / 1000) * 1000);
    let acc: Rows | null = null;
    let source: 'sums' | 'points' = 'sums';
    if (!perPoint) acc = await this.fromSums(principal, tree, q, from, end);
    if (!acc) {
      source = 'points';
      acc = await this.fromPoints(principal, tree, q, from, to, now);
    }
    if (q.by === 'node') for (const child of tree.children(q.region)) acc.row(child, tree.get(child)?.name ?? child);
    const totalAcc = new Rows();
    for (const r of acc.rows.values()) {
      for (const e of r.ex.values()) totalAcc.row(q.region, tree.get(q.region)?.name ?? q.region).ex.set(e.id, e);
      for (const [cls, c] of r.byCls) {
        const t = totalAcc.cell(q.region, tree.get(q.region)?.name ?? q.region, cls);
        t.points += c.points;
        addRate(t.f, c.f);
      }
    }
    let rows = [...acc.rows].map(([key, r]) => this.rowOf(key, r));
    const sort = q.sort ?? (q.by === 'point' ? 'rate' : 'key');
    if (sort === 'rate') rows.sort((a, b) => (a.rate ?? 101) - (b.rate ?? 101) || a.key.localeCompare(b.key));
    else rows.sort((a, b) => a.name.localeCompare(b.name, 'zh') || a.key.localeCompare(b.key));
    rows = rows.slice(0, q.limit);
    const totalRow = totalAcc.rows.get(q.region) ?? { name: tree.get(q.region)?.name ?? q.region, byCls: new Map(), ex: new Map() };
    return { rows, total: this.rowOf(q.region, totalRow), source, end: Math.max(from, end) };
  }

  private rowOf(key: string, r: RowAcc): OnlineRateRow {
    const f = emptyRate();
    let points = 0;
    const classes: OnlineRateRow['classes'] = [];
    for (const cls of pointClasses) {
      const c = r.byCls.get(cls);
      if (!c) continue;
      addRate(f, c.f);
      points += c.points;
      const rate = timeRate(c.f);
      const target = this.o.targets[cls];
      classes.push({ class: cls, points: c.points, upSec: c.f.sec[0], downSec: c.f.sec[1], rate, target, below: rate !== null && rate < target });
    }
    const [up, down, maint, never, notConnected, disabled] = f.sec;
    return {
      key,
      name: r.name,
      points,
      rate: timeRate(f),
      upSec: up,
      downSec: down,
      maintenanceSec: maint,
      neverCheckedSec: never,
      notConnectedSec: notConnected,
      disabledSec: disabled,
      pendingSec: f.pending,
      snapshot: { online: f.online, offline: f.offline, rate: snapshotRate(f) },
      excludedSec: f.excluded,
      exclusions: [...r.ex.values()].sort((a, b) => a.from.localeCompare(b.from) || a.id.localeCompare(b.id)),
      classes,
      belowTarget: classes.some((c) => c.below),
    };
  }

  // ---- per point: every visible point's own history ----------------------------------------------

  private async fromPoints(principal: Principal, tree: RegionTree, q: OnlineRateQuery, from: number, to: number, now: number): Promise<Rows> {
    const points = await this.visiblePoints(principal, tree, q);
    const ids = new Set(points.keys());
    const figures = await pointRates(this.o.history, ids, { from, to, now, snapshotTimes: this.o.snapshotTimes, exclusions: this.o.exclusions });
    // the rows name the approved exclusions that touched their points
    const windows = this.o.exclusions ? await this.o.exclusions(ids, from, Math.min(to, now)) : new Map<string, ExclusionWindow[]>();
    const acc = new Rows();
    for (const [id, f] of figures) {
      const p = points.get(id) as PointInfo;
      let key: string;
      let name: string;
      if (q.by === 'node') {
        // a point on the node itself (not in a child) gets the node's own row; a point in a grid counts there
        key = tree.childToward(q.region, p.at) ?? q.region;
        name = tree.get(key)?.name ?? key;
      } else if (q.by === 'org') {
        key = name = p.org;
      } else {
        key = id;
        name = p.name;
      }
      const c = acc.cell(key, name, p.cls);
      c.points++;
      addRate(c.f, f);
      acc.exclude(key, name, windows.get(id));
    }
    return acc;
  }

  /** The points of the region's subtree the caller may see (the one visibility rule, auth/scope.ts), filtered. */
  private async visiblePoints(principal: Principal, tree: RegionTree, q: OnlineRateQuery): Promise<Map<string, PointInfo>> {
    // where a point is: its grid when it has one (grids are not points' regions), else its region
    const inside = tree.subtreeSet(q.region);
    const sub = tree.subtree(q.region).map(storeId);
    const and: Array<Record<string, unknown>> = [{ $or: [{ regionId: { $in: sub } }, { gridId: { $in: sub } }] }];
    const visibility = pointVisibilityFilter(viewerOf(principal), tree);
    if (visibility) and.push(visibility);
    if (q.org !== undefined) and.push({ 'maintainer.org': q.org });
    if (q.type !== undefined) and.push({ gbCode: { $regex: `^\\d{10}${q.type}` } });
    const cursor = pointsCollection(this.o.conn).find(and.length === 1 ? and[0] : { $and: and }, {
      projection: { _id: 1, regionId: 1, gridId: 1, name: 1, gbCode: 1, 'maintainer.org': 1 },
      batchSize: 5000,
    });
    const out = new Map<string, PointInfo>();
    for await (const p of cursor) {
      const cls = classOfGbCode(p.gbCode ?? '', this.o.keyPublicIndustries);
      const at = p.gridId ? String(p.gridId) : String(p.regionId);
      if ((q.class !== undefined && cls !== q.class) || !inside.has(at)) continue;
      const id = String(p._id);
      out.set(id, { id, at, org: p.maintainer?.org ?? '', name: p.name ?? '', cls });
    }
    return out;
  }

  // ---- from the per-group sums (sums.ts) -----------------------------------------------------------

  private plan(from: number, to0: number): Plan {
    const cal = this.cal;
    // whole seconds, as the per-point engine counts
    const to = Math.floor(to0 / 1000) * 1000;
    const plan: Plan = { from, to, whole: new Map(), cuts: [] };
    const a0 = Math.floor(from / 1000) * 1000;
    if (a0 >= to) return plan;
    for (let key = cal.dayOf(a0).key; ; key = cal.nextDay(key)) {
      const day = cal.day(key);
      if (day.start >= to) break;
      const a = Math.max(a0, day.start);
      const b = Math.min(to, day.end);
      if (a === day.start && b === day.end) {
        let doms = plan.whole.get(day.month);
        if (!doms) plan.whole.set(day.month, (doms = []));
        doms.push(day.dom);
      } else {
        const instants = cal.instantsOn(key, this.o.snapshotTimes).filter((t) => t >= a && t < b).length;
        plan.cuts.push({ day, a, b, instants });
      }
    }
    return plan;
  }

  /**
   * The rows from the per-group sums: whole days from the sums, each cut day from its points' state at the day's
   * start (counts in the sums) for the points without a transition in it, and per point for the points that
   * changed state in a cut day or moved between groups since the sums were built (their share in the sums is
   * taken out and their own figures put in). Null when the sums cannot answer (not built that far, a day written
   * since, a filter they are not keyed by, too many such points): the caller then reads per point.
   */
  private async fromSums(principal: Principal, tree: RegionTree, q: OnlineRateQuery, from: number, to: number): Promise<Rows | null> {
    const s = this.o.sums;
    if (!s || !s.index.loaded || q.by === 'point' || q.type !== undefined) return null;
    const plan = this.plan(from, to);
    const oldest = s.store.oldestMonth();
    const builds = new Map<number, MonthBuild>();
    const need = (month: number, dom: number): boolean => {
      const b = s.store.buildOf(month);
      if (!b || month < oldest || dom > b.sealed) return false;
      builds.set(month, b);
      return true;
    };
    for (const [month, doms] of plan.whole) if (!need(month, Math.max(...doms))) return null;
    const bases: Array<{ month: number; dom: number; row: number }> = [];
    for (const c of plan.cuts) {
      if (need(c.day.month, c.day.dom)) {
        bases.push({ month: c.day.month, dom: c.day.dom, row: R_Z });
        continue;
      }
      const prev = this.cal.dayOf(c.day.start - 1);
      if (!need(prev.month, prev.dom)) return null;
      bases.push({ month: prev.month, dom: prev.dom, row: R_E });
    }
    // a day written since its sums were built is not read from them
    const marks = await this.o.history.marksOf([...builds.keys()]);
    const used = new Map<number, number[]>();
    for (const [m, doms] of plan.whole) used.set(m, [...doms]);
    for (const b of bases) (used.get(b.month) ?? used.set(b.month, []).get(b.month) ?? []).push(b.dom);
    for (const [m, doms] of used) {
      const b = builds.get(m) as MonthBuild;
      const mk = marks.get(m) ?? {};
      if (doms.some((d) => (mk[d] ?? 0) > (b.marks[d] ?? 0))) {
        s.store.markStale(m);
        return null;
      }
    }

    const place = this.placement(principal, tree, q);
    const acc = new Rows();
    const sums = new Map<number, MonthSums>();
    for (const [m, b] of builds) sums.set(m, await s.store.sumsOf(b));
    const addSums = (into: (g: string) => RateFigures | null, month: number, data: MonthSums): void => {
      const doms = plan.whole.get(month) ?? [];
      const cuts = plan.cuts.map((c, i) => ({ c, base: bases[i] })).filter((x) => x.base.month === month);
      for (const [g, a] of data) {
        const f = into(g);
        if (!f) continue;
        for (const d of doms) addWholeDay(f, a, d);
        for (const { c, base } of cuts) addSteady(f, a, base.row, base.dom, (c.b - c.a) / 1000, c.instants);
      }
    };
    const cellOf = (g: string): RateFigures | null => {
      const p = place(g);
      return p ? acc.cell(p.key, p.name, p.cls).f : null;
    };
    for (const [m, data] of sums) addSums(cellOf, m, data);

    // points whose share in the sums is not their figure: moved since the build, or changing state in a cut day
    const special = new Set<string>();
    for (const b of builds.values()) for (const id of s.store.movedSince(b)) special.add(id);
    for (const c of plan.cuts) for (const id of (await this.o.history.changesBetween(null, c.day.start, c.b)).keys()) special.add(id);
    // points with an approved exclusion in the range: the sums count them whole, their own figures leave it out
    const windows = this.o.exclusions
      ? await this.o.exclusions(new Set(Array.from(s.index.values(), (p) => p.id)), plan.from, plan.to)
      : new Map<string, ExclusionWindow[]>();
    for (const id of windows.keys()) special.add(id);
    if (special.size > SPECIAL_MAX) return null;
    const ids = [...special];
    const cal = this.cal;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = new Set(ids.slice(i, i + CHUNK));
      // out: what the sums counted for them, in the group each had when its month was built
      for (const [m, b] of builds) {
        const frame = monthFrame(cal, m, b.sealed, this.o.snapshotTimes);
        const docs = new Map<string, MonthDoc>();
        for await (const { cameraId, doc } of this.o.history.monthDocs(m, chunk)) docs.set(cameraId, doc);
        const changes = await this.o.history.changesBetween(chunk, cal.monthStart(m), frame.ends[b.sealed]);
        const before = await this.o.history.stateBefore(
          [...chunk].filter((id) => !hasFirstMidnight(docs.get(id))),
          cal.monthStart(m),
        );
        const none: StateChange[] = [];
        for (const id of chunk) {
          const g = s.store.groupIn(b, id);
          const cell = g === null ? null : cellOf(g);
          if (g === null || !cell) continue;
          const doc = docs.get(id);
          const state = hasFirstMidnight(doc) ? undefined : before.get(id);
          const one: MonthSums = new Map();
          addPointMonth(one, g, doc, changes.get(id) ?? none, frame, state === undefined ? -1 : categoryOfState[state]);
          const share = emptyRate();
          addSums(() => share, m, one);
          subtractRate(cell, share);
        }
      }
      // in: their own figures, in the group each has now
      const mine = [...chunk].filter((id) => {
        const p = s.index.get(id);
        return p !== undefined && place(p.group) !== null;
      });
      const figs = await pointRates(this.o.history, new Set(mine), {
        from: plan.from,
        to: plan.to,
        now: plan.to,
        snapshotTimes: this.o.snapshotTimes,
        exclusions: this.o.exclusions,
      });
      for (const [id, f] of figs) {
        const pl = place((s.index.get(id) as { group: string }).group);
        if (!pl) continue;
        addRate(acc.cell(pl.key, pl.name, pl.cls).f, f);
        acc.exclude(pl.key, pl.name, windows.get(id));
      }
    }

    // points per row: the visible points now (a cell without any held only points that moved away: dropped)
    for (const [g, n] of s.index.groupCounts()) {
      const pl = place(g);
      if (pl) acc.cell(pl.key, pl.name, pl.cls).points += n;
    }
    for (const [key, r] of acc.rows) {
      for (const [cls, c] of r.byCls) if (c.points === 0) r.byCls.delete(cls);
      if (r.byCls.size === 0) acc.rows.delete(key);
    }
    return acc;
  }

  /** Where each group goes in this request (memoised per group). */
  private placement(principal: Principal, tree: RegionTree, q: OnlineRateQuery): (g: string) => Placement {
    const visible = pointPredicate(viewerOf(principal), tree);
    const inside = tree.subtreeSet(q.region);
    const memo = new Map<string, Placement>();
    return (key) => {
      let p = memo.get(key);
      if (p !== undefined) return p;
      const g = groupOfKey(key);
      p = null;
      const at = g.gridId || g.regionId;
      if (inside.has(at) && visible(g) && (q.org === undefined || g.org === q.org) && (q.class === undefined || g.cls === q.class)) {
        if (q.by === 'org') p = { key: g.org, name: g.org, cls: g.cls };
        else {
          const k = tree.childToward(q.region, at) ?? q.region;
          p = { key: k, name: tree.get(k)?.name ?? k, cls: g.cls };
        }
      }
      memo.set(key, p);
      return p;
    };
  }
}

function subtractRate(from: RateFigures, f: RateFigures): void {
  for (let i = 0; i < from.sec.length; i++) from.sec[i] -= f.sec[i];
  from.pending -= f.pending;
  from.online -= f.online;
  from.offline -= f.offline;
  from.excluded -= f.excluded;
}
