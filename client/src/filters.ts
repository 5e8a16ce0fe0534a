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
// DOWN first, then PENDING, UNKNOWN, MAINTENANCE, DISABLED, NOT_CONNECTED, UP: what needs attention on top
// (indexed by state code; a point not yet connected is planned work, below the monitored faults)
const severity = [2, 6, 1, 0, 3, 4, 5];

/** Catalog indexes of the points in a region subtree that pass the filters, sorted. Recomputed per batch. */
export function usePointRows(region: Ref<string | null>, f: PointFilter, sort: Ref<SortKey> = ref('state')): ComputedRef<Int32Array> {
  return computed(() => {
    void board.version.value;
    const cat = board.catalog;
    const rid = region.value ?? board.rootId.value;
    if (!cat || !rid) return new Int32Array(0);
    const inSubtree = board.subtreeIds(rid);
    // the filter is reactive: read it once, not 100,000 times through its proxy (each read is tracked)
    const { state, vendor, maintainer, sharing, tag } = f;
    const q = f.q.trim().toLowerCase();
    const { st, pointRegion } = board;
    const out: number[] = [];
    const n = cat.ids.length;
    // a region's membership is looked up once per region, not once per point
    const member = new Map<string, boolean>();
    for (let i = 0; i < n; i++) {
      const r = pointRegion[i];
      let m = member.get(r);
      if (m === undefined) member.set(r, (m = inSubtree.has(r)));
      if (!m) continue;
      if (state !== -1 && st[i] !== state) continue;
      if (vendor !== -1 && cat.vendor[i] !== vendor) continue;
      if (maintainer !== -1 && cat.maintainer[i] !== maintainer) continue;
      if (sharing !== -1 && cat.sharing[i] !== sharing) continue;
      if (tag !== -1 && !cat.tags[i].includes(tag)) continue;
      if (q && !cat.name[i].toLowerCase().includes(q) && !cat.gbCode[i].includes(q) && !cat.address[i].toLowerCase().includes(q)) continue;
      out.push(i);
    }
    const k = sort.value;
    const byName = (a: number, b: number): number => (cat.name[a] < cat.name[b] ? -1 : cat.name[a] > cat.name[b] ? 1 : 0);
    if (k === 'state') {
      // recomputed on every batch: bucket by severity (linear) and order only the buckets that need
      // attention by time, so 100,000 rows never cost a long task
      const buckets: number[][] = severity.map(() => []);
      for (const i of out) buckets[severity[st[i]]].push(i);
      const since = board.since;
      buckets[0].sort((a, b) => since[b] - since[a]);
      buckets[1].sort((a, b) => since[b] - since[a]);
      const sorted = new Int32Array(out.length);
      let o = 0;
      for (const b of buckets) {
        sorted.set(b, o);
        o += b.length;
      }
      return sorted;
    }
    if (k === 'name') out.sort(byName);
    else if (k === 'gbCode') out.sort((a, b) => (cat.gbCode[a] < cat.gbCode[b] ? -1 : 1));
    else out.sort((a, b) => board.since[b] - board.since[a]);
    return Int32Array.from(out);
  });
}
