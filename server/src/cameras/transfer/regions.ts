import type { RegionIndex } from '../../auth/scope';
import type { RegionLookup } from '../schema';

export type Tier = 'district' | 'street' | 'community' | 'grid';

export interface RegionNode {
  id: string;
  name: string;
  tier: Tier;
  parentId: string | null;
  code: string | null;
}

function norm(s: string): string {
  return s.normalize('NFKC').replace(/\s+/g, '').toLowerCase();
}

export type Resolved = { ok: true; regionId: string; gridId?: string | null } | { ok: false; field: 'district' | 'street' | 'community' | 'regionId' | 'regionCode' | 'grid'; reason: string };

/**
 * A snapshot of the region tree taken once per import/export: resolves the names a spreadsheet uses
 * (所属区县 / 所属街道 / 所属社区 / 网格) to ids, gives each point's name path for export, and serves as the
 * RegionLookup and RegionIndex that validation and scope checks need — all in memory, no query per row.
 */
export class RegionDirectory implements RegionLookup, RegionIndex {
  private readonly byId = new Map<string, RegionNode>();
  private readonly children = new Map<string | null, RegionNode[]>();

  constructor(nodes: Iterable<RegionNode>) {
    for (const n of nodes) {
      this.byId.set(n.id, n);
      const list = this.children.get(n.parentId) ?? [];
      list.push(n);
      this.children.set(n.parentId, list);
    }
  }

  get(id: string): RegionNode | undefined {
    return this.byId.get(id);
  }

  ancestorsOrSelf(id: string): string[] {
    const out: string[] = [];
    let cur = this.byId.get(id);
    while (cur && out.length < 16) {
      out.push(cur.id);
      cur = cur.parentId ? this.byId.get(cur.parentId) : undefined;
    }
    return out;
  }

  subtree(id: string): string[] {
    if (!this.byId.has(id)) return [];
    const out: string[] = [];
    const stack = [id];
    while (stack.length) {
      const cur = stack.pop() as string;
      out.push(cur);
      for (const c of this.children.get(cur) ?? []) stack.push(c.id);
    }
    return out;
  }

  /** district / street / community names on the path to a region (export columns). */
  pathNames(id: string): { district: string; street: string; community: string } {
    const out = { district: '', street: '', community: '' };
    for (const rid of this.ancestorsOrSelf(id)) {
      const n = this.byId.get(rid);
      if (n && n.tier !== 'grid') out[n.tier] = n.name;
    }
    return out;
  }

  private named(tier: Tier, name: string, parents: RegionNode[] | null): RegionNode[] {
    const want = norm(name);
    const pool = parents === null ? [...this.byId.values()] : parents.flatMap((p) => this.children.get(p.id) ?? []);
    return pool.filter((n) => n.tier === tier && norm(n.name) === want);
  }

  /**
   * Resolves a row's region columns. Order of preference: an explicit region id; the name path (as deep as
   * given); the division code; else the grid's own community. `preferWithin` (the caller's scope) breaks
   * ties between equal names in different subtrees.
   */
  resolve(v: { regionId?: string; regionCode?: string; district?: string; street?: string; community?: string; grid?: string }, preferWithin?: Set<string>): Resolved | null {
    let regionId: string | undefined;
    if (v.regionId) {
      const n = this.byId.get(v.regionId);
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
      const found = [...this.byId.values()].filter((n) => n.tier !== 'grid' && n.code === v.regionCode);
      if (found.length === 0) return { ok: false, field: 'regionCode', reason: `no region has division code ${v.regionCode}` };
      if (found.length > 1) return { ok: false, field: 'regionCode', reason: `several regions have division code ${v.regionCode}` };
      regionId = found[0].id;
    }
    if (!v.grid) return regionId ? { ok: true, regionId } : null;

    const want = norm(v.grid);
    const grids = [...this.byId.values()].filter((n) => n.tier === 'grid' && (norm(n.name) === want || n.code === v.grid));
    const inside = regionId ? grids.filter((g) => this.ancestorsOrSelf(g.id).includes(regionId)) : grids;
    if (inside.length === 0) {
      const where = regionId ? ` inside ${this.byId.get(regionId)?.name ?? regionId}` : '';
      return { ok: false, field: 'grid', reason: `no grid named or coded "${v.grid}"${where}` };
    }
    if (inside.length > 1) return { ok: false, field: 'grid', reason: `${inside.length} grids are named "${v.grid}"; add 所属社区 or use the grid code` };
    const grid = inside[0];
    return { ok: true, regionId: regionId ?? (grid.parentId as string), gridId: grid.id };
  }
}
