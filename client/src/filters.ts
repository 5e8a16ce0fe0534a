import { computed, reactive, ref, type ComputedRef, type Ref } from 'vue';
import { board } from './live';

/** Each field holds a state code / dictionary index; -1 means "any". */
export interface PointFilter {
  state: number;
  vendor: number;
  maintainer: number;
  tag: number;
  sharing: number;
  q: string;
}

export function emptyFilter(): PointFilter {
  return { state: -1, vendor: -1, maintainer: -1, tag: -1, sharing: -1, q: '' };
}

/** Board selection shared by the board and the map (region + filters survive switching pages). */
export const selectedRegion = ref<string | null>(null);
export const filter = reactive<PointFilter>(emptyFilter());

export type SortKey = 'state' | 'name' | 'gbCode' | 'since';
// DOWN first, then PENDING, UNKNOWN, MAINTENANCE, DISABLED, UP: what needs attention on top
const severity = [2, 5, 1, 0, 3, 4];

/** Catalog indexes of the points in a region subtree that pass the filters, sorted. Recomputed per batch. */
export function usePointRows(region: Ref<string | null>, f: PointFilter, sort: Ref<SortKey> = ref('state')): ComputedRef<Int32Array> {
  return computed(() => {
    void board.version.value;
    const cat = board.catalog;
    const rid = region.value ?? board.rootId.value;
    if (!cat || !rid) return new Int32Array(0);
    const inSubtree = board.subtreeIds(rid);
    const q = f.q.trim().toLowerCase();
    const out: number[] = [];
    const n = cat.ids.length;
    for (let i = 0; i < n; i++) {
      if (!inSubtree.has(board.pointRegion[i])) continue;
      if (f.state !== -1 && board.st[i] !== f.state) continue;
      if (f.vendor !== -1 && cat.vendor[i] !== f.vendor) continue;
      if (f.maintainer !== -1 && cat.maintainer[i] !== f.maintainer) continue;
      if (f.sharing !== -1 && cat.sharing[i] !== f.sharing) continue;
      if (f.tag !== -1 && !cat.tags[i].includes(f.tag)) continue;
      if (q && !cat.name[i].toLowerCase().includes(q) && !cat.gbCode[i].includes(q) && !cat.address[i].toLowerCase().includes(q)) continue;
      out.push(i);
    }
    const k = sort.value;
    const byName = (a: number, b: number): number => (cat.name[a] < cat.name[b] ? -1 : cat.name[a] > cat.name[b] ? 1 : 0);
    if (k === 'state') {
      // recomputed on every batch: bucket by severity (linear) and order only the buckets that need
      // attention by time, so 100,000 rows never cost a long task
      const buckets: number[][] = [[], [], [], [], [], []];
      for (const i of out) buckets[severity[board.st[i]]].push(i);
      buckets[0].sort((a, b) => board.since[b] - board.since[a]);
      buckets[1].sort((a, b) => board.since[b] - board.since[a]);
      return Int32Array.from(buckets.flat());
    }
    if (k === 'name') out.sort(byName);
    else if (k === 'gbCode') out.sort((a, b) => (cat.gbCode[a] < cat.gbCode[b] ? -1 : 1));
    else out.sort((a, b) => board.since[b] - board.since[a]);
    return Int32Array.from(out);
  });
}
