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
  /** `${tier}\u0001${normalised name}` → nodes; grids also by code (`grid\u0002${code}`). */
  private readonly byName = new Map<string, RegionNode[]>();
  private readonly byCode = new Map<string, RegionNode[]>();
  private readonly byParentName = new Map<string, RegionNode[]>();
  private readonly ancestorsMemo = new Map<string, string[]>();

  constructor(nodes: Iterable<RegionNode>) {
    const push = <K>(m: Map<K, RegionNode[]>, k: K, n: RegionNode): void => {
      const list = m.get(k);
      if (list) list.push(n);
      else m.set(k, [n]);
    };
    for (const n of nodes) {
      this.byId.set(n.id, n);
      push(this.children, n.parentId, n);
      push(this.byName, `${n.tier}\u0001${norm(n.name)}`, n);
      push(this.byParentName, `${n.parentId ?? ''}\u0001${norm(n.name)}`, n);
      if (n.code) push(this.byCode, n.code, n);
    }
  }

  get(id: string): RegionNode | undefined {
    return this.byId.get(id);
  }

  ancestorsOrSelf(id: string): string[] {
    const memo = this.ancestorsMemo.get(id);
    if (memo) return memo;
    const out: string[] = [];
    let cur = this.byId.get(id);
    while (cur && out.length < 16) {
      out.push(cur.id);
      cur = cur.parentId ? this.byId.get(cur.parentId) : undefined;
    }
    this.ancestorsMemo.set(id, out);
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

  roots(): RegionNode[] {
    return this.children.get(null) ?? [];
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
      const where = regionId ? ` inside ${this.byId.get(regionId)?.name ?? regionId}` : '';
      return { ok: false, field: 'grid', reason: `no grid named or coded "${v.grid}"${where}` };
    }
    if (inside.length > 1) return { ok: false, field: 'grid', reason: `${inside.length} grids are named "${v.grid}"; add 所属社区 or use the grid code` };
    const grid = inside[0];
    return { ok: true, regionId: regionId ?? (grid.parentId as string), gridId: grid.id };
  }
}
