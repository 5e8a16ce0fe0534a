import type { Connection } from 'mongoose';
import { canSeeRegion, viewerOf } from '../auth/scope';
import { pointsCollection, storeId } from '../cameras/read-model';
import { pointVisibilityFilter } from '../cameras/visibility';
import type { Principal } from '../contracts/access';
import type { OnlineRate, OnlineRateQuery, OnlineRateRow } from '../contracts/reports';
import { AppError } from '../lib/errors';
import type { HistoryRead } from '../monitoring';
import type { RegionTree } from '../regions/tree';
import type { RateExclusion } from '../contracts/exclusions';
import type { ExclusionLookup } from './exclusions';
import { addRate, emptyRate, pointRates, snapshotRate, timeRate, type RateFigures } from './online-rate';

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
  /** Approved exclusion periods (reports/exclusions.ts): they leave the denominator. */
  exclusions?: ExclusionLookup;
  now?: () => number;
}

const METHOD =
  'time-weighted, pooled: Σ up seconds ÷ Σ (up + down) seconds over the points of each row (not an average of point rates); ' +
  'PENDING counts as the confirmed state it may leave; maintenance, never-checked, not-connected and disabled time is excluded; ' +
  'exact to the second: whole calendar days from the daily history, days the range cuts from transitions; ' +
  'snapshot: UP or DOWN at each configured local time, online ÷ (online + offline); ' +
  'approved exclusion periods (power cut, roadworks, force majeure) leave both figures and are named per row with reason and approver';

interface PointInfo {
  id: string;
  regionId: string;
  org: string;
  name: string;
}

/** The reports capability: online rate (this file), later coverage, exclusions, assessment, month close. */
export class ReportService {
  constructor(private readonly o: ReportOptions) {}

  private instant(v: string, field: string): number {
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return this.o.history.calendar.day(Number(v.replaceAll('-', ''))).start;
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw new AppError('bad_request', `${field} is not a valid instant`, [{ field, message: 'not a valid instant' }]);
    return t;
  }

  /** The online rate of a region's visible points over [from, to), grouped by child node, organisation or point. */
  async onlineRate(principal: Principal, q: OnlineRateQuery): Promise<OnlineRate> {
    const tree = this.o.regions.current();
    const region = tree.get(q.region);
    if (!region || !canSeeRegion(principal, tree, q.region)) throw AppError.notFound('region');
    const from = this.instant(q.from, 'from');
    const to = this.instant(q.to, 'to');
    if (to <= from) throw new AppError('bad_request', 'to must be after from', [{ field: 'to', message: 'must be after from' }]);
    const now = (this.o.now ?? Date.now)();
    const points = await this.visiblePoints(principal, tree, q.region);
    const ids = new Set(points.keys());
    const figures = await pointRates(this.o.history, ids, { from, to, now, snapshotTimes: this.o.snapshotTimes, exclusions: this.o.exclusions });
    // the rows name the approved exclusions that touched their points
    const windows: ReadonlyMap<string, ReadonlyArray<{ exclusion: RateExclusion }>> = this.o.exclusions ? await this.o.exclusions(ids, from, Math.min(to, now)) : new Map();

    const groups = new Map<string, { name: string; points: number; f: RateFigures; ex: Map<string, RateExclusion> }>();
    const add = (key: string, name: string, f: RateFigures, id: string): void => {
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { name, points: 0, f: emptyRate(), ex: new Map() }));
      g.points++;
      addRate(g.f, f);
      for (const w of windows.get(id) ?? []) g.ex.set(w.exclusion.id, w.exclusion);
    };
    if (q.by === 'node') for (const child of tree.children(q.region)) groups.set(child, { name: tree.get(child)?.name ?? child, points: 0, f: emptyRate(), ex: new Map() });
    const total = emptyRate();
    const totalEx = new Map<string, RateExclusion>();
    for (const [id, f] of figures) {
      const p = points.get(id) as PointInfo;
      addRate(total, f);
      for (const w of windows.get(id) ?? []) totalEx.set(w.exclusion.id, w.exclusion);
      if (q.by === 'node') {
        // a point on the node itself (not in a child) gets the node's own row
        const key = tree.childToward(q.region, p.regionId) ?? q.region;
        add(key, tree.get(key)?.name ?? key, f, id);
      } else if (q.by === 'org') {
        add(p.org, p.org, f, id);
      } else {
        add(id, p.name, f, id);
      }
    }
    let rows = [...groups].map(([key, g]) => rowOf(key, g.name, g.points, g.f, g.ex));
    if (q.by === 'point') rows = rows.sort((a, b) => (a.rate ?? 101) - (b.rate ?? 101) || a.key.localeCompare(b.key)).slice(0, q.limit);
    if (q.by === 'org') rows.sort((a, b) => a.key.localeCompare(b.key, 'zh'));
    return {
      region: { id: region.id, name: region.name, tier: region.tier },
      from: new Date(from).toISOString(),
      to: new Date(Math.min(to, Math.floor(now / 1000) * 1000)).toISOString(),
      timeZone: this.o.timeZone,
      by: q.by,
      method: METHOD,
      snapshotTimes: [...this.o.snapshotTimes],
      total: rowOf(region.id, region.name, points.size, total, totalEx),
      rows,
    };
  }

  /** The points of the region's subtree the caller may see (the one visibility rule, auth/scope.ts). */
  private async visiblePoints(principal: Principal, tree: RegionTree, regionId: string): Promise<Map<string, PointInfo>> {
    const filter: Record<string, unknown> = { regionId: { $in: tree.subtree(regionId).map(storeId) } };
    const visibility = pointVisibilityFilter(viewerOf(principal), tree);
    const cursor = pointsCollection(this.o.conn).find(visibility ? { $and: [filter, visibility] } : filter, {
      projection: { _id: 1, regionId: 1, name: 1, 'maintainer.org': 1 },
      batchSize: 5000,
    });
    const out = new Map<string, PointInfo>();
    for await (const p of cursor) {
      const id = String(p._id);
      out.set(id, { id, regionId: String(p.regionId), org: p.maintainer?.org ?? '', name: p.name ?? '' });
    }
    return out;
  }
}

function rowOf(key: string, name: string, points: number, f: RateFigures, ex: ReadonlyMap<string, RateExclusion>): OnlineRateRow {
  const [up, down, maint, never, notConnected, disabled] = f.sec;
  return {
    key,
    name,
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
    exclusions: [...ex.values()].sort((a, b) => a.from.localeCompare(b.from) || a.id.localeCompare(b.id)),
  };
}
