import type { RegionIndex } from '../../auth/scope';
import { RegionTree, type PathNames, type RegionNode } from '../../regions/tree';
import type { RegionLookup } from '../schema';

type Tier = RegionNode['tier'];

function norm(s: string): string {
  return s.normalize('NFKC').replace(/\s+/g, '').toLowerCase();
}

export type Resolved = { ok: true; regionId: string; gridId?: string | null } | { ok: false; field: 'district' | 'street' | 'community' | 'regionId' | 'regionCode' | 'grid'; reason: string };

/**
 * The names a spreadsheet uses (所属区县 / 所属街道 / 所属社区 / 网格) resolved to ids over the one region tree
 * (regions/tree.ts), taken once per import/export: name and code indexes only; paths, ancestors and
 * subtrees are the tree's. Serves as the RegionLookup and RegionIndex that validation and scope checks need.
 */
export class RegionDirectory implements RegionLookup, RegionIndex {
  readonly tree: RegionTree;
  /** `${tier}\u0001${normalised name}` → nodes. */
  private readonly byName = new Map<string, RegionNode[]>();
  private readonly byCode = new Map<string, RegionNode[]>();
  private readonly byParentName = new Map<string, RegionNode[]>();

  constructor(tree: RegionTree) {
    this.tree = tree;
    const push = <K>(m: Map<K, RegionNode[]>, k: K, n: RegionNode): void => {
      const list = m.get(k);
      if (list) list.push(n);
      else m.set(k, [n]);
    };
    for (const n of tree.all()) {
      push(this.byName, `${n.tier}\u0001${norm(n.name)}`, n);
      push(this.byParentName, `${n.parentId ?? ''}\u0001${norm(n.name)}`, n);
      if (n.code) push(this.byCode, n.code, n);
    }
  }

  get(id: string): RegionNode | undefined {
    return this.tree.get(id);
  }

  ancestorsOrSelf(id: string): string[] {
    return this.tree.ancestorsOrSelf(id);
  }

  subtree(id: string): string[] {
    return this.tree.subtree(id);
  }

  /** district / street / community names on the path to a region (export columns). */
  pathNames(id: string): PathNames {
    return this.tree.pathNames(id);
  }

  private named(tier: Tier, name: string, parents: RegionNode[] | null): RegionNode[] {
    const all = this.byName.get(`${tier}\u0001${norm(name)}`) ?? [];
    if (parents === null) return all;
    const ids = new Set(parents.map((p) => p.id));
    return all.filter((n) => n.parentId !== null && ids.has(n.parentId));
  }

  /**
   * Resolves a row's region columns. Order of preference: an explicit region id; the name path (as deep as
   * given); the division code; else the grid's own community. `preferWithin` (the caller's scope) breaks
   * ties between equal names in different subtrees.
   */
  resolve(v: { regionId?: string; regionCode?: string; district?: string; street?: string; community?: string; grid?: string }, preferWithin?: Set<string>): Resolved | null {
    let regionId: string | undefined;
    if (v.regionId) {
      const n = this.tree.get(v.regionId);
      if (!n) return { ok: false, field: 'regionId', reason: `unknown region id ${v.regionId}` };
      if (n.tier === 'grid') return { ok: false, field: 'regionId', reason: `${n.name} is a grid; put it in the 网格 column` };
      regionId = n.id;
    } else if (v.district || v.street || v.community) {
      let level: RegionNode[] | null = null;
      const steps: Array<['district' | 'street' | 'community', string | undefined]> = [
        ['district', v.district],
        ['street', v.street],
        ['community', v.community],
      ];
      let under = '';
      for (const [tier, name] of steps) {
        if (!name) continue;
        let found = this.named(tier, name, level);
        if (found.length > 1 && preferWithin) {
          const inScope = found.filter((n) => preferWithin.has(n.id));
          if (inScope.length > 0) found = inScope;
        }
        if (found.length === 0) {
          return { ok: false, field: tier, reason: `no ${tier} named "${name}"${under ? ` under ${under}` : ''}` };
        }
        if (found.length > 1) {
          const hint = tier === 'community' ? '所属街道' : '所属区县';
          return { ok: false, field: tier, reason: `${found.length} ${tier === 'community' ? 'communities' : `${tier}s`} are named "${name}"; add the ${hint} column to tell them apart` };
        }
        level = found;
        under = `"${name}"`;
      }
      regionId = level?.[0]?.id;
    } else if (v.regionCode) {
      const found = (this.byCode.get(v.regionCode) ?? []).filter((n) => n.tier !== 'grid');
      if (found.length === 0) return { ok: false, field: 'regionCode', reason: `no region has division code ${v.regionCode}` };
      if (found.length > 1) return { ok: false, field: 'regionCode', reason: `several regions have division code ${v.regionCode}` };
      regionId = found[0].id;
    }
    if (!v.grid) return regionId ? { ok: true, regionId } : null;

    // the usual case, a grid named inside its community, is one map lookup
    const direct = regionId ? (this.byParentName.get(`${regionId}\u0001${norm(v.grid)}`) ?? []).filter((n) => n.tier === 'grid') : [];
    if (direct.length === 1) return { ok: true, regionId: regionId as string, gridId: direct[0].id };
    const grids = [...new Set([...(this.byName.get(`grid\u0001${norm(v.grid)}`) ?? []), ...(this.byCode.get(v.grid) ?? []).filter((n) => n.tier === 'grid')])];
    const inside = regionId ? grids.filter((g) => this.ancestorsOrSelf(g.id).includes(regionId)) : grids;
    if (inside.length === 0) {
      const where = regionId ? ` inside ${this.tree.get(regionId)?.name ?? regionId}` : '';
      return { ok: false, field: 'grid', reason: `no grid named or coded "${v.grid}"${where}` };
    }
    if (inside.length > 1) return { ok: false, field: 'grid', reason: `${inside.length} grids are named "${v.grid}"; add 所属社区 or use the grid code` };
    const grid = inside[0];
    return { ok: true, regionId: regionId ?? (grid.parentId as string), gridId: grid.id };
  }
}
