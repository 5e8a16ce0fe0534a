import type { Connection, mongo } from 'mongoose';
import { canSeeRegion, pointPredicate, regionPredicate, viewerOf } from '../auth/scope';
import { deviceTypes, industryInfo, parseGbCode } from '../cameras/gbcode';
import { isConnected, pointsCollection, storeId } from '../cameras/read-model';
import { pointVisibilityFilter } from '../cameras/visibility';
import type { Principal } from '../contracts/access';
import type { AreaShape, CoverageArea, CoverageAreaInput, CoverageCounts, CoverageGaps, CoverageGrid, CoverageQuery, CoverageRow } from '../contracts/coverage';
import type { Sharing } from '../contracts/vocabulary';
import { AppError } from '../lib/errors';
import type { RegionNode, RegionTree } from '../regions/tree';

/**
 * Counts and coverage for planners: points per tier node by GB/T 28181 type and industry (the stored decoding of
 * the code, cameras/gbcode.ts), maintainer organisation, sharing, connected / not connected and enabled; gaps
 * (grids and communities without points, grids without a households figure, points per 1,000 households); points
 * inside a planned site's circle or polygon. Always over the points the caller may see (auth/scope.ts).
 *
 * Where a point counts: at its grid when it has one, else at the region it is registered at (its "leaf"); a node
 * counts every point whose leaf lies in its subtree, so a node's total is the sum of its children's rows plus the
 * points registered at the node itself (`direct`) — in every figure, at every level.
 */

/** Registry points grouped by everything the counts and the visibility rule read. */
interface Bucket {
  regionId: string;
  gridId: string | null;
  sharing: Sharing;
  org: string;
  type: string;
  industry: string;
  enabled: boolean;
  n: number;
  /** Of the n points, those with an endpoint host (the rest are not connected, 未接入). */
  connected: number;
}

export interface CoverageDeps {
  conn: Connection;
  regions: { current(): RegionTree };
  /** Calls back after any registry change (points, regions): the buckets are recounted on the next read. */
  onRegistryChange(listener: () => void): () => void;
}

type Counts = Omit<CoverageRow, 'id' | 'name' | 'tier' | 'code' | 'households' | 'per1000Households' | 'grids'>;

function emptyCounts(): Counts {
  return { points: 0, enabled: 0, connected: 0, notConnected: 0, byType: {}, byIndustry: {}, byOrg: {}, bySharing: { own: 0, up: 0, all: 0 } };
}

function addTo(c: Counts, b: Pick<Bucket, 'type' | 'industry' | 'org' | 'sharing' | 'connected' | 'enabled' | 'n'>): void {
  c.points += b.n;
  if (b.enabled) c.enabled += b.n;
  c.connected += b.connected;
  c.notConnected += b.n - b.connected;
  c.byType[b.type] = (c.byType[b.type] ?? 0) + b.n;
  c.byIndustry[b.industry] = (c.byIndustry[b.industry] ?? 0) + b.n;
  c.byOrg[b.org] = (c.byOrg[b.org] ?? 0) + b.n;
  c.bySharing[b.sharing] += b.n;
}

/** points ÷ households × 1,000 with 2 decimals; null without households. */
export function per1000(points: number, households: number | null): number | null {
  return households ? Math.round((points / households) * 100_000) / 100 : null;
}

const EARTH_M = 6_371_008.8;
const rad = (d: number): number => (d * Math.PI) / 180;

/** Great-circle distance in metres (haversine). */
export function distanceM(a: { lon: number; lat: number }, b: { lon: number; lat: number }): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Whether a position lies inside a closed ring (even-odd rule; a point on an edge may fall either side). */
export function insideRing(ring: ReadonlyArray<readonly [number, number]>, lon: number, lat: number): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The bounding box of a shape, for the store's pre-filter. */
function boxOf(shape: AreaShape): { lon0: number; lon1: number; lat0: number; lat1: number } {
  if (shape.type === 'circle') {
    const dLat = (shape.radiusM / EARTH_M) * (180 / Math.PI);
    const dLon = dLat / Math.max(0.01, Math.cos(rad(shape.center.lat)));
    return { lon0: shape.center.lon - dLon, lon1: shape.center.lon + dLon, lat0: shape.center.lat - dLat, lat1: shape.center.lat + dLat };
  }
  const lons = shape.coordinates.map((c) => c[0]);
  const lats = shape.coordinates.map((c) => c[1]);
  return { lon0: Math.min(...lons), lon1: Math.max(...lons), lat0: Math.min(...lats), lat1: Math.max(...lats) };
}

export class CoverageService {
  private buckets: Promise<Bucket[]> | null = null;
  /** Bumped by every registry change; a count that saw a bump while it ran is not kept. */
  private changes = 0;

  constructor(private readonly deps: CoverageDeps) {
    deps.onRegistryChange(() => {
      this.changes += 1;
      this.buckets = null;
    });
  }

  private allBuckets(): Promise<Bucket[]> {
    if (this.buckets) return this.buckets;
    const seen = this.changes;
    const run = this.count().then(
      (rows) => {
        if (this.changes !== seen && this.buckets === run) this.buckets = null;
        return rows;
      },
      (err: unknown) => {
        if (this.buckets === run) this.buckets = null;
        throw err;
      },
    );
    this.buckets = run;
    return run;
  }

  /**
   * One aggregation over the registry: points per (region, grid, sharing, org, type, industry, enabled), and how many
   * of them have an endpoint host. Plain field paths and a `$cond` on one, so the embedded store answers it from the
   * stored bytes (embedded-mongo/commands/group.ts) as it does the registry's own counts.
   */
  private async count(): Promise<Bucket[]> {
    type Key = { r: mongo.ObjectId | string; g?: mongo.ObjectId | string | null; s?: string; o?: string | null; t?: string | null; i?: string | null; e?: boolean };
    const rows = await pointsCollection(this.deps.conn)
      .aggregate<{ _id: Key; n: number; c: number }>([
        {
          $group: {
            _id: { r: '$regionId', g: '$gridId', s: '$sharing', o: '$maintainer.org', t: '$gb.type', i: '$gb.industry', e: '$enabled' },
            n: { $sum: 1 },
            // connected (cameras/read-model.ts isConnected): a host is a non-empty string or null (the schema stores "" as null)
            c: { $sum: { $cond: ['$endpoint.host', 1, 0] } },
          },
        },
      ])
      .toArray();
    return rows.map(({ _id: k, n, c }) => ({
      regionId: String(k.r),
      gridId: k.g ? String(k.g) : null,
      sharing: k.s === 'up' || k.s === 'all' ? k.s : 'own',
      org: k.o ?? '',
      type: k.t ?? '',
      industry: k.i ?? '',
      enabled: k.e !== false,
      n,
      connected: c,
    }));
  }

  private node(principal: Principal, tree: RegionTree, id: string): RegionNode {
    const node = tree.get(id);
    if (!node || !canSeeRegion(principal, tree, id)) throw AppError.notFound('region');
    return node;
  }

  /** The buckets the caller may see, each with the node it counts at (its grid, else its region). */
  private async visible(principal: Principal, tree: RegionTree): Promise<Array<Bucket & { leaf: string }>> {
    const sees = pointPredicate(viewerOf(principal), tree);
    const out: Array<Bucket & { leaf: string }> = [];
    for (const b of await this.allBuckets()) {
      if (!sees({ regionId: b.regionId, sharing: b.sharing, org: b.org })) continue;
      const leaf = b.gridId !== null && tree.has(b.gridId) && tree.within(b.regionId, b.gridId) ? b.gridId : b.regionId;
      out.push({ ...b, leaf });
    }
    return out;
  }

  /** A node's households: its own figure, else the sum over its children when every child has one. */
  private householdsOf(tree: RegionTree): (id: string) => number | null {
    const memo = new Map<string, number | null>();
    const of = (id: string): number | null => {
      if (memo.has(id)) return memo.get(id) ?? null;
      const n = tree.get(id);
      let v: number | null = n?.households ?? null;
      if (v === null && n && n.tier !== 'grid') {
        const kids = tree.children(id);
        let sum = 0;
        for (const k of kids) {
          const h = of(k);
          if (h === null) {
            sum = -1;
            break;
          }
          sum += h;
        }
        v = kids.length > 0 && sum >= 0 ? sum : null;
      }
      memo.set(id, v);
      return v;
    };
    return of;
  }

  async counts(principal: Principal, q: CoverageQuery): Promise<CoverageCounts> {
    const tree = this.deps.regions.current();
    const node = this.node(principal, tree, q.region);
    const buckets = await this.visible(principal, tree);
    const households = this.householdsOf(tree);
    const seesRegion = regionPredicate(principal, tree);
    const inNode = tree.subtreeSet(node.id);
    const byKey = new Map<string, Counts>();
    const gridPoints = new Map<string, number>();
    const total = emptyCounts();
    const direct = emptyCounts();
    const types = new Set<string>();
    const inds = new Set<string>();
    for (const b of buckets) {
      if (!inNode.has(b.leaf)) continue;
      addTo(total, b);
      types.add(b.type);
      inds.add(b.industry);
      if (tree.tierOf(b.leaf) === 'grid') gridPoints.set(b.leaf, (gridPoints.get(b.leaf) ?? 0) + b.n);
      const key = b.leaf === node.id ? null : tree.childToward(node.id, b.leaf);
      if (key === null) {
        addTo(direct, b);
        continue;
      }
      let c = byKey.get(key);
      if (!c) byKey.set(key, (c = emptyCounts()));
      addTo(c, b);
    }
    const gridsOf = (id: string): CoverageRow['grids'] => {
      const g = { total: 0, withoutPoints: 0, withoutHouseholds: 0 };
      for (const r of tree.subtree(id)) {
        const n = tree.get(r);
        if (n?.tier !== 'grid' || !seesRegion(r)) continue;
        g.total += 1;
        if (!gridPoints.get(r)) g.withoutPoints += 1;
        if (n.households === null) g.withoutHouseholds += 1;
      }
      return g;
    };
    const row = (n: RegionNode, c: Counts): CoverageRow => {
      const hh = households(n.id);
      return { id: n.id, name: n.name, tier: n.tier, code: n.code, households: hh, ...c, per1000Households: per1000(c.points, hh), grids: gridsOf(n.id) };
    };
    const rows: CoverageRow[] = [];
    for (const child of tree.children(node.id)) {
      const c = byKey.get(child);
      // a child the caller may not see as a region still gets its row when it holds points he sees (shared ones)
      if (!c && !seesRegion(child)) continue;
      const n = tree.get(child);
      if (n) rows.push(row(n, c ?? emptyCounts()));
    }
    const label = <T>(codes: Set<string>, f: (code: string) => T | undefined): Record<string, T> => {
      const out: Record<string, T> = {};
      for (const code of [...codes].sort()) {
        const v = f(code);
        if (v) out[code] = v;
      }
      return out;
    };
    return {
      region: {
        id: node.id,
        name: node.name,
        tier: node.tier,
        path: tree.pathOf(node.id).filter(seesRegion).map((id) => ({ id, name: tree.get(id)?.name ?? id })),
      },
      total: row(node, total),
      direct: { ...row(node, direct), households: null, per1000Households: null, grids: { total: 0, withoutPoints: 0, withoutHouseholds: 0 } },
      rows,
      labels: {
        type: label(types, (c) => (deviceTypes[c] ? { name: deviceTypes[c].name, nameZh: deviceTypes[c].nameZh } : undefined)),
        industry: label(inds, (c) => (c ? industryInfo(c) : undefined)),
      },
    };
  }

  async gaps(principal: Principal, q: CoverageQuery): Promise<CoverageGaps> {
    const tree = this.deps.regions.current();
    const node = this.node(principal, tree, q.region);
    const buckets = await this.visible(principal, tree);
    const inNode = tree.subtreeSet(node.id);
    const leafPoints = new Map<string, number>();
    for (const b of buckets) if (inNode.has(b.leaf)) leafPoints.set(b.leaf, (leafPoints.get(b.leaf) ?? 0) + b.n);
    const subtreePoints = (id: string): number => tree.subtree(id).reduce((s, r) => s + (leafPoints.get(r) ?? 0), 0);
    const households = this.householdsOf(tree);
    const seesRegion = regionPredicate(principal, tree);
    const entry = (n: RegionNode, points: number): CoverageGrid => {
      const names = tree.pathNames(n.id);
      const path = [names.street, n.tier === 'grid' ? names.community : ''].filter(Boolean).join(' / ');
      const hh = n.tier === 'grid' ? n.households : households(n.id);
      return { id: n.id, name: n.name, tier: n.tier, path, households: hh, points, per1000Households: per1000(points, hh) };
    };
    const nodes = tree
      .subtree(node.id)
      .filter(seesRegion)
      .map((id) => tree.get(id) as RegionNode)
      .sort((a, b) => (a.code ?? '').localeCompare(b.code ?? '') || a.name.localeCompare(b.name, 'zh') || a.id.localeCompare(b.id));
    const grids = nodes.filter((n) => n.tier === 'grid').map((n) => entry(n, leafPoints.get(n.id) ?? 0));
    const communitiesWithoutPoints = nodes
      .filter((n) => n.tier === 'community')
      .map((n) => entry(n, subtreePoints(n.id)))
      .filter((e) => e.points === 0);
    return {
      region: { id: node.id, name: node.name, tier: node.tier },
      grids,
      gridsWithoutPoints: grids.filter((g) => g.points === 0),
      communitiesWithoutPoints,
      gridsWithoutHouseholds: grids.filter((g) => g.households === null),
    };
  }

  /** The caller's visible points of a region's subtree inside a circle or polygon (a planned site). */
  async area(principal: Principal, input: CoverageAreaInput): Promise<CoverageArea> {
    const tree = this.deps.regions.current();
    const node = this.node(principal, tree, input.region);
    const box = boxOf(input.shape);
    const where: Record<string, unknown> =
      node.tier === 'grid' ? { gridId: storeId(node.id) } : { regionId: { $in: tree.subtree(node.id).filter((id) => tree.tierOf(id) !== 'grid').map(storeId) } };
    const filter: Record<string, unknown> = {
      ...where,
      'location.lon': { $gte: box.lon0, $lte: box.lon1 },
      'location.lat': { $gte: box.lat0, $lte: box.lat1 },
    };
    const visibility = pointVisibilityFilter(viewerOf(principal), tree);
    const cursor = pointsCollection(this.deps.conn).find(visibility ? { $and: [filter, visibility] } : filter, {
      projection: { _id: 1, name: 1, gbCode: 1, location: 1, sharing: 1, 'maintainer.org': 1, 'endpoint.host': 1, enabled: 1 },
      batchSize: 5000,
    });
    const counts = emptyCounts();
    const found: CoverageArea['points'] = [];
    const shape = input.shape;
    for await (const p of cursor) {
      const loc = p.location;
      if (!loc || typeof loc.lon !== 'number' || typeof loc.lat !== 'number') continue;
      let d: number | null = null;
      if (shape.type === 'circle') {
        d = distanceM(shape.center, loc);
        if (d > shape.radiusM) continue;
      } else if (!insideRing(shape.coordinates, loc.lon, loc.lat)) continue;
      const gb = parseGbCode(p.gbCode ?? '');
      const sharing: Sharing = p.sharing === 'up' || p.sharing === 'all' ? p.sharing : 'own';
      addTo(counts, {
        type: gb.ok ? gb.info.type : '',
        industry: gb.ok ? gb.info.industry : '',
        org: p.maintainer?.org ?? '',
        sharing,
        connected: isConnected(p.endpoint) ? 1 : 0,
        enabled: p.enabled !== false,
        n: 1,
      });
      found.push({ id: String(p._id), name: p.name ?? '', gbCode: p.gbCode ?? '', lon: loc.lon, lat: loc.lat, distanceM: d === null ? null : Math.round(d * 10) / 10 });
    }
    found.sort((a, b) => (a.distanceM ?? 0) - (b.distanceM ?? 0) || a.gbCode.localeCompare(b.gbCode));
    return { counts, points: found.slice(0, input.limit), truncated: found.length > input.limit };
  }
}
