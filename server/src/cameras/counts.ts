import type { Types } from 'mongoose';
import type { Principal } from '../contracts/access';
import { pointPredicate, pointVisibility, viewerOf } from '../auth/scope';
import type { PointBucket } from '../regions/counted-tree';
import type { RegionService } from '../regions/service';
import type { CameraCollection } from './documents';
import type { Camera } from '../contracts/cameras';
import type { CameraListQuery } from './schema';

const SEP = '\u0001';

/** What the counts key on, as the public shape holds it. */
export type CountedPoint = Pick<Camera, 'regionId' | 'gridId' | 'sharing' | 'vendor' | 'enabled'> & { maintainer: { org: string } };

/** The counts as one write saw them before it wrote; handed back to `afterWrite`. */
export interface CountsSnapshot {
  map: Map<string, { total: number; enabled: number }>;
  /** The map's keys split into their dimensions; rebuilt after a write (lists total from it per request). */
  rows: BucketRow[] | null;
  /** The rows summed over grid and vendor: what a list total without those filters needs (far fewer rows). */
  coarse: BucketRow[] | null;
}

interface BucketRow {
  regionId: string;
  gridId: string;
  sharing: string;
  org: string;
  vendor: string;
  /** regionId, sharing and org joined: visibility depends on these only. */
  vk: string;
  n: { total: number; enabled: number };
}

function bucketKey(regionId: string, gridId: string | null, sharing: string, org: string | null | undefined, vendor: string | null | undefined): string {
  return [regionId, gridId ?? '', sharing, org ?? '', vendor ?? ''].join(SEP);
}

function bucketRows(state: CountsSnapshot): BucketRow[] {
  state.rows ??= [...state.map].map(([k, n]) => {
    const [regionId, gridId, sharing, org, vendor] = k.split(SEP);
    return { regionId, gridId, sharing, org, vendor, vk: regionId + SEP + sharing + SEP + org, n };
  });
  return state.rows;
}

function coarseRows(state: CountsSnapshot): BucketRow[] {
  if (!state.coarse) {
    const byVk = new Map<string, BucketRow>();
    for (const r of bucketRows(state)) {
      const c = byVk.get(r.vk);
      if (c) {
        c.n.total += r.n.total;
        c.n.enabled += r.n.enabled;
      } else byVk.set(r.vk, { ...r, gridId: '', vendor: '', n: { ...r.n } });
    }
    state.coarse = [...byVk.values()];
  }
  return state.coarse;
}

/**
 * Point counts per (region, grid, sharing, maintainer org, vendor): one aggregation, then kept current in
 * memory by the registry's writes. They answer the region tree's counts and most list totals without a
 * count over the collection (a scan in the embedded store).
 */
export class PointCounts {
  private state: CountsSnapshot | null = null;
  private building: Promise<CountsSnapshot> | null = null;
  /** Bumped by every write; a rebuild that saw a bump during its scan is stale. */
  private writeSeq = 0;

  constructor(
    private readonly coll: CameraCollection,
    private readonly regions: RegionService,
  ) {}

  /** Taken right before a write, handed to `afterWrite` after it. */
  snapshot(): CountsSnapshot | null {
    return this.state;
  }

  /** Drops the counts so that the next read rebuilds them from the store. */
  invalidate(): void {
    this.writeSeq += 1;
    this.state = null;
  }

  /**
   * Keeps the counts exact after a write: deltas apply only when the counts in memory are the ones that
   * existed before the write (a rebuild in between may or may not include it, so it is dropped and
   * redone). Bumping writeSeq makes a rebuild that is still scanning start over.
   */
  afterWrite(snap: CountsSnapshot | null, pairs: Array<[CountedPoint | null, CountedPoint | null]>): void {
    this.writeSeq += 1;
    const state = this.state;
    if (!state) return;
    if (state !== snap) {
      this.state = null;
      return;
    }
    state.rows = null;
    state.coarse = null;
    const apply = (c: CountedPoint, sign: 1 | -1): void => {
      const k = bucketKey(c.regionId, c.gridId, c.sharing, c.maintainer.org, c.vendor);
      const cur = state.map.get(k) ?? { total: 0, enabled: 0 };
      cur.total += sign;
      if (c.enabled) cur.enabled += sign;
      if (cur.total === 0) state.map.delete(k);
      else state.map.set(k, cur);
    };
    for (const [before, after] of pairs) {
      if (before) apply(before, -1);
      if (after) apply(after, 1);
    }
  }

  async current(): Promise<CountsSnapshot> {
    if (this.state) return this.state;
    this.building ??= (async () => {
      try {
        for (;;) {
          const seq = this.writeSeq;
          const rows = await this.coll
            .aggregate<{ _id: { r: Types.ObjectId; g: Types.ObjectId | null; s: string; o: string | null; v: string | null }; n: number; e: number }>([
              { $group: { _id: { r: '$regionId', g: '$gridId', s: '$sharing', o: '$maintainer.org', v: '$vendor' }, n: { $sum: 1 }, e: { $sum: { $cond: ['$enabled', 1, 0] } } } },
            ])
            .toArray();
          const map = new Map<string, { total: number; enabled: number }>();
          for (const r of rows) map.set(bucketKey(r._id.r.toHexString(), r._id.g ? r._id.g.toHexString() : null, r._id.s, r._id.o, r._id.v), { total: r.n, enabled: r.e });
          if (seq === this.writeSeq) {
            this.state = { map, rows: null, coarse: null };
            return this.state;
          }
          // a write landed during the scan: its delta is not in these rows, scan again
        }
      } finally {
        this.building = null;
      }
    })();
    return this.building;
  }

  /**
   * Whether `principal` sees the points of a count row; null when it sees every point. Visibility depends
   * on region, sharing and org only, so each combination (the row's `vk`) is decided once.
   */
  private visibility(principal: Principal): ((row: Pick<BucketRow, 'regionId' | 'sharing' | 'org' | 'vk'>) => boolean) | null {
    const viewer = viewerOf(principal);
    if (pointVisibility(viewer, this.regions) === null) return null;
    const sees = pointPredicate(viewer, this.regions);
    const seen = new Map<string, boolean>();
    return ({ regionId, sharing, org, vk }) => {
      let ok = seen.get(vk);
      if (ok === undefined) {
        ok = sees({ regionId, sharing: sharing as Camera['sharing'], org });
        seen.set(vk, ok);
      }
      return ok;
    };
  }

  async buckets(principal: Principal): Promise<PointBucket[]> {
    const state = await this.current();
    const byRegion = new Map<string, PointBucket>();
    const sees = this.visibility(principal);
    for (const row of bucketRows(state)) {
      const { regionId, gridId, n: v } = row;
      if (sees && !sees(row)) continue;
      const bk = `${regionId}${SEP}${gridId}`;
      const b = byRegion.get(bk) ?? { regionId, gridId: gridId || null, total: 0, enabled: 0 };
      b.total += v.total;
      b.enabled += v.enabled;
      byRegion.set(bk, b);
    }
    return [...byRegion.values()];
  }

  /**
   * The total of a list when every filter is one of the counts' dimensions (region, tier, sharing,
   * maintainer, vendor, enabled). Null when another filter is present.
   */
  async totalOf(principal: Principal, q: CameraListQuery): Promise<number | null> {
    if (q.tag?.length || q.state?.length || q.type?.length || q.upstreamId || q.q) return null;
    const state = await this.current();
    let regionSet: Set<string> | null = null;
    let gridOnly: string | null = null;
    if (q.regionId) {
      const r = this.regions.get(q.regionId);
      if (!r) return null;
      if (r.tier === 'grid') gridOnly = r.id;
      else regionSet = new Set(q.subtree ? this.regions.subtree(r.id) : [r.id]);
    }
    const maintainers = q.maintainer?.length ? new Set(q.maintainer) : null;
    const vendors = q.vendor?.length ? new Set(q.vendor) : null;
    const sharings = q.sharing?.length ? new Set<string>(q.sharing) : null;
    const sees = this.visibility(principal);
    const tierOf = new Map<string, boolean>();
    let total = 0;
    const rows = vendors || gridOnly || q.tier === 'grid' ? bucketRows(state) : coarseRows(state);
    for (const { regionId, gridId, sharing, org, vendor, vk, n: v } of rows) {
      if (regionSet && !regionSet.has(regionId)) continue;
      if (vendors && !vendors.has(vendor)) continue;
      if (gridOnly && gridId !== gridOnly) continue;
      if (q.tier === 'grid') {
        if (!gridId) continue;
      } else if (q.tier) {
        let ok = tierOf.get(regionId);
        if (ok === undefined) tierOf.set(regionId, (ok = this.regions.get(regionId)?.tier === q.tier));
        if (!ok) continue;
      }
      if (maintainers && !maintainers.has(org)) continue;
      if (sharings && !sharings.has(sharing)) continue;
      if (sees && !sees({ regionId, sharing, org, vk })) continue;
      total += q.enabled === undefined ? v.total : q.enabled ? v.enabled : v.total - v.enabled;
    }
    return total;
  }
}
