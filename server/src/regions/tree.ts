import type { RegionTier } from '../contracts/vocabulary';

/** A node as every reader of the tree sees it (no boundary, no note: those stay with the regions service). */
export interface RegionNode {
  id: string;
  name: string;
  tier: RegionTier;
  parentId: string | null;
  code: string | null;
  households: number | null;
}

/** district / street / community names on the path to a node (export columns, catalog labels). */
export interface PathNames {
  district: string;
  street: string;
  community: string;
}

const MAX_DEPTH = 16;

/**
 * THE region tree: district → street → community → grid, immutable, built once per registry change and
 * shared by regions, cameras, import/export, live push and the scope checks (auth/scope.ts reads it
 * through `RegionIndex`). Lookups are map reads; ancestor paths and subtrees are memoised, so scope
 * checks stay O(1) amortised at a province's 10^5 nodes. Children are ordered by division code, then
 * name (zh collation), so every listing of the tree agrees.
 */
export class RegionTree {
  private readonly byId = new Map<string, RegionNode>();
  private readonly kids = new Map<string | null, string[]>();
  private readonly ancestorsMemo = new Map<string, string[]>();
  private readonly subtreeMemo = new Map<string, string[]>();
  private readonly subtreeSets = new Map<string, ReadonlySet<string>>();

  constructor(nodes: Iterable<RegionNode>) {
    for (const n of nodes) this.byId.set(n.id, n);
    for (const n of this.byId.values()) {
      // a node whose parent is unknown is a root of the forest (a corrupt or partial store still loads)
      const parent = n.parentId !== null && this.byId.has(n.parentId) ? n.parentId : null;
      let list = this.kids.get(parent);
      if (!list) this.kids.set(parent, (list = []));
      list.push(n.id);
    }
    const order = (a: string, b: string): number => {
      const na = this.byId.get(a) as RegionNode;
      const nb = this.byId.get(b) as RegionNode;
      return (na.code ?? '').localeCompare(nb.code ?? '') || na.name.localeCompare(nb.name, 'zh');
    };
    for (const list of this.kids.values()) list.sort(order);
  }

  static readonly empty = new RegionTree([]);

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): RegionNode | undefined {
    return this.byId.get(id);
  }

  tierOf(id: string): RegionTier | undefined {
    return this.byId.get(id)?.tier;
  }

  all(): RegionNode[] {
    return [...this.byId.values()];
  }

  /** Children of a node (null: the roots), in code / name order. */
  children(id: string | null): string[] {
    return this.kids.get(id) ?? [];
  }

  roots(): string[] {
    return this.children(null);
  }

  /** The node followed by its ancestors up to the root; empty when unknown. */
  ancestorsOrSelf(id: string): string[] {
    const memo = this.ancestorsMemo.get(id);
    if (memo) return memo;
    const out: string[] = [];
    let cur = this.byId.get(id);
    // the depth cap guards against a parent cycle in a corrupt store
    while (cur && out.length < MAX_DEPTH) {
      out.push(cur.id);
      cur = cur.parentId !== null ? this.byId.get(cur.parentId) : undefined;
    }
    this.ancestorsMemo.set(id, out);
    return out;
  }

  /** The node and every descendant; empty when unknown. */
  subtree(id: string): string[] {
    const memo = this.subtreeMemo.get(id);
    if (memo) return memo;
    if (!this.byId.has(id)) return [];
    const out: string[] = [];
    const stack = [id];
    while (stack.length && out.length <= this.byId.size) {
      const cur = stack.pop() as string;
      out.push(cur);
      for (const k of this.children(cur)) stack.push(k);
    }
    this.subtreeMemo.set(id, out);
    return out;
  }

  /** The subtree as a set (membership tests over many points). */
  subtreeSet(id: string): ReadonlySet<string> {
    let set = this.subtreeSets.get(id);
    if (!set) this.subtreeSets.set(id, (set = new Set(this.subtree(id))));
    return set;
  }

  /** True when `id` is `ancestor` or lies below it. */
  within(ancestor: string, id: string): boolean {
    return this.ancestorsOrSelf(id).includes(ancestor);
  }

  /** The child of `ancestor` whose subtree holds `id`; null when `id` is the ancestor itself or outside it. */
  childToward(ancestor: string, id: string): string | null {
    const path = this.ancestorsOrSelf(id);
    const i = path.indexOf(ancestor);
    return i > 0 ? path[i - 1] : null;
  }

  /** Ancestors from the root down to the parent (the breadcrumb of a node). */
  pathOf(id: string): string[] {
    return this.ancestorsOrSelf(id).slice(1).reverse();
  }

  pathNames(id: string): PathNames {
    const out: PathNames = { district: '', street: '', community: '' };
    for (const rid of this.ancestorsOrSelf(id)) {
      const n = this.byId.get(rid);
      if (n && n.tier !== 'grid') out[n.tier] = n.name;
    }
    return out;
  }

  /** The nearest division code on the node's path up (a node without a code inherits its parent's). */
  effectiveCode(id: string): string | null {
    for (const rid of this.ancestorsOrSelf(id)) {
      const code = this.byId.get(rid)?.code;
      if (code) return code;
    }
    return null;
  }
}
