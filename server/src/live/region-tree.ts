import type { RegionIndex } from '../auth/scope';

export interface RegionRecord {
  id: string;
  parentId: string | null;
  name: string;
  tier: string;
}

/** An immutable in-memory copy of the region tree; rebuilt whenever the registry changes. */
export class RegionTree implements RegionIndex {
  private readonly byId = new Map<string, RegionRecord>();
  private readonly kids = new Map<string, string[]>();
  private readonly ancestorCache = new Map<string, string[]>();

  constructor(records: RegionRecord[]) {
    for (const r of records) this.byId.set(r.id, r);
    for (const r of records) {
      if (r.parentId !== null && this.byId.has(r.parentId)) {
        let list = this.kids.get(r.parentId);
        if (!list) this.kids.set(r.parentId, (list = []));
        list.push(r.id);
      }
    }
  }

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): RegionRecord | undefined {
    return this.byId.get(id);
  }

  all(): RegionRecord[] {
    return [...this.byId.values()];
  }

  children(id: string): string[] {
    return this.kids.get(id) ?? [];
  }

  ancestorsOrSelf(id: string): string[] {
    const cached = this.ancestorCache.get(id);
    if (cached) return cached;
    const out: string[] = [];
    const seen = new Set<string>();
    let cur: string | null = id;
    // `seen` guards against a corrupt parent cycle in the store
    while (cur !== null && this.byId.has(cur) && !seen.has(cur)) {
      seen.add(cur);
      out.push(cur);
      cur = this.byId.get(cur)?.parentId ?? null;
    }
    this.ancestorCache.set(id, out);
    return out;
  }

  subtree(id: string): string[] {
    if (!this.byId.has(id)) return [];
    const out: string[] = [];
    const stack = [id];
    while (stack.length) {
      const cur = stack.pop() as string;
      out.push(cur);
      for (const k of this.children(cur)) stack.push(k);
    }
    return out;
  }

  /** The child of `ancestor` whose subtree holds `regionId`; null when regionId is the ancestor itself. */
  childToward(ancestor: string, regionId: string): string | null {
    const path = this.ancestorsOrSelf(regionId);
    const i = path.indexOf(ancestor);
    return i > 0 ? path[i - 1] : null;
  }

  /** Roots of the forest (regions without a known parent). */
  roots(): string[] {
    return this.all()
      .filter((r) => r.parentId === null || !this.byId.has(r.parentId))
      .map((r) => r.id);
  }
}
