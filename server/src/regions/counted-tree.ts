import type { RegionTreeNode, TierCounts } from '../contracts/regions';
import type { RegionTree } from './tree';

/** Point counts per (regionId, gridId) bucket, already restricted to what a caller may see. */
export interface PointBucket {
  regionId: string;
  gridId: string | null;
  total: number;
  enabled: number;
}

interface Count {
  total: number;
  enabled: number;
}

/**
 * The region tree with point counts per node and per tier, over the visible nodes only. `buckets` are the
 * caller's visible points grouped by (region, grid); a grid's count is the points whose gridId is that grid
 * (they are also counted at their community). Totals never depend on how deep the tree is drawn.
 */
export function countedTree(
  tree: RegionTree,
  visible: ReadonlySet<string>,
  buckets: PointBucket[],
  opts: { rootId?: string; depth: number },
): { roots: RegionTreeNode[]; counts: TierCounts } {
  const direct = new Map<string, Count>();
  const byGrid = new Map<string, Count>();
  const add = (m: Map<string, Count>, k: string, b: PointBucket): void => {
    const cur = m.get(k) ?? { total: 0, enabled: 0 };
    cur.total += b.total;
    cur.enabled += b.enabled;
    m.set(k, cur);
  };
  const counts: TierCounts = {
    byTier: { district: 0, street: 0, community: 0 },
    total: 0,
    enabled: 0,
    regions: { district: 0, street: 0, community: 0, grid: 0 },
    grids: { total: 0, withPoints: 0, withoutPoints: 0 },
  };
  const scopeSubtree = opts.rootId ? tree.subtreeSet(opts.rootId) : null;
  for (const b of buckets) {
    if (scopeSubtree && !scopeSubtree.has(b.regionId)) continue;
    add(direct, b.regionId, b);
    if (b.gridId) add(byGrid, b.gridId, b);
    const tier = tree.tierOf(b.regionId);
    if (tier && tier !== 'grid') counts.byTier[tier] += b.total;
    counts.total += b.total;
    counts.enabled += b.enabled;
  }

  const subtreeTotals = (id: string): Count => {
    const out = { total: 0, enabled: 0 };
    for (const n of tree.subtree(id)) {
      const c = direct.get(n);
      if (c) {
        out.total += c.total;
        out.enabled += c.enabled;
      }
    }
    return out;
  };

  const build = (id: string, depthLeft: number): RegionTreeNode => {
    const d = tree.get(id);
    if (!d) throw new Error(`region ${id} is not in the tree`);
    const kids = depthLeft > 0 ? tree.children(id).filter((c) => visible.has(c)).map((c) => build(c, depthLeft - 1)) : [];
    let own: Count;
    let total: number;
    let enabled: number;
    if (d.tier === 'grid') {
      own = byGrid.get(id) ?? { total: 0, enabled: 0 };
      total = own.total;
      enabled = own.enabled;
    } else {
      own = direct.get(id) ?? { total: 0, enabled: 0 };
      total = own.total;
      enabled = own.enabled;
      // children beyond the depth limit are still counted
      for (const c of tree.children(id)) {
        if (tree.tierOf(c) === 'grid') continue;
        const sub = subtreeTotals(c);
        total += sub.total;
        enabled += sub.enabled;
      }
    }
    return { id, name: d.name, tier: d.tier, code: d.code, households: d.households, points: { direct: own.total, total, enabled }, children: kids };
  };

  const rootIds = opts.rootId ? [opts.rootId] : tree.roots().filter((id) => visible.has(id));
  for (const id of scopeSubtree ?? visible) {
    if (!visible.has(id)) continue;
    const tier = tree.tierOf(id);
    if (!tier) continue;
    counts.regions[tier] += 1;
    if (tier === 'grid') {
      counts.grids.total += 1;
      if ((byGrid.get(id)?.total ?? 0) > 0) counts.grids.withPoints += 1;
      else counts.grids.withoutPoints += 1;
    }
  }
  return { roots: rootIds.map((id) => build(id, opts.depth)), counts };
}
