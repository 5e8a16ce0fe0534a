import type { RegionIndex } from '../../server/src/auth/scope';

/** A fixed region tree for scope tests: district D → streets S1, S2 → communities C1 (in S1), C2 (in S2). */
export const testParents: Record<string, string | null> = { D: null, S1: 'D', S2: 'D', C1: 'S1', C2: 'S2' };

/** RegionIndex over a parent map (unknown ids have no ancestors and no subtree, like the real index). */
export function fixedRegionIndex(parent: Record<string, string | null> = testParents): RegionIndex {
  const index: RegionIndex = {
    ancestorsOrSelf(id) {
      const out: string[] = [];
      for (let cur: string | null | undefined = id; cur; cur = parent[cur]) {
        if (!(cur in parent)) return [];
        out.push(cur);
      }
      return out;
    },
    subtree(id) {
      if (!(id in parent)) return [];
      return Object.keys(parent).filter((r) => index.ancestorsOrSelf(r).includes(id));
    },
  };
  return index;
}
