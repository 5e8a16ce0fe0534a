/**
 * A sorted map from string keys to _id keys whose leaves hold their keys packed into one string.
 *
 * Why not one string per key (a B+tree of strings, as before): a camera point has ~45 index entries (35
 * of them search bigrams), so 300,000 points made 13 million key strings. Every major GC of the store
 * must visit every live heap object, and marking that many took ~1.2 s of the store thread's time, during
 * which list requests went from ~6 ms to 60–90 ms. Packed, the same entries are ~60,000 leaf strings, and
 * the offsets are small integers the collector does not visit one by one.
 *
 * Layout: an ordered array of leaves; a leaf is immutable (a change builds a new leaf object), so an
 * iteration in progress keeps walking the leaf it holds and finds its way on by key if the leaf was
 * replaced meanwhile. Keys are compared as UTF-16 code units, like `<` on strings.
 */

interface Leaf {
  /** The leaf's keys, in order, concatenated. */
  readonly s: string;
  /** Start of key i at off[i]; off[n] = s.length. */
  readonly off: number[];
  /** The value (an _id key) of key i. */
  readonly ids: string[];
}

/** Entries a leaf holds at most; a longer merge splits into leaves of about equal size. */
const MAX = 256;
/** A leaf left this small by deletions is joined with a neighbour. */
const MIN = 32;

/** Compares `s[a, b)` with `key`. */
function cmpAt(s: string, a: number, b: number, key: string): number {
  const la = b - a;
  const lk = key.length;
  const n = la < lk ? la : lk;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(a + i) - key.charCodeAt(i);
    if (d !== 0) return d;
  }
  return la - lk;
}

/** Whether `s[a, b)` starts with `prefix`. */
function startsAt(s: string, a: number, b: number, prefix: string): boolean {
  if (b - a < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (s.charCodeAt(a + i) !== prefix.charCodeAt(i)) return false;
  return true;
}

/** Builds a leaf from parts that concatenate to its keys (join makes one flat string, not a rope). */
function leafOf(parts: string[], lengths: number[], ids: string[]): Leaf {
  const off = new Array<number>(lengths.length + 1);
  let o = 0;
  for (let i = 0; i < lengths.length; i++) {
    off[i] = o;
    o += lengths[i];
  }
  off[lengths.length] = o;
  return { s: parts.join(''), off, ids };
}

/** Leaves of about equal size, at most MAX entries each, from keys given as (leaf, index) or strings. */
class LeafBuilder {
  readonly out: Leaf[] = [];
  private parts: string[] = [];
  private lengths: number[] = [];
  private ids: string[] = [];

  constructor(private chunk: number) {}

  static chunkFor(n: number): number {
    return Math.ceil(n / Math.ceil(n / MAX));
  }

  push(key: string, id: string): void {
    this.parts.push(key);
    this.lengths.push(key.length);
    this.ids.push(id);
    if (this.ids.length >= this.chunk) this.cut();
  }

  /** Entries [from, to) of `leaf`, copied as one slice where they all fit in the current leaf. */
  pushRange(leaf: Leaf, from: number, to: number): void {
    while (from < to) {
      const room = this.chunk - this.ids.length;
      const end = to - from <= room ? to : from + room;
      this.parts.push(leaf.s.slice(leaf.off[from], leaf.off[end]));
      for (let i = from; i < end; i++) {
        this.lengths.push(leaf.off[i + 1] - leaf.off[i]);
        this.ids.push(leaf.ids[i]);
      }
      from = end;
      if (this.ids.length >= this.chunk) this.cut();
    }
  }

  finish(): Leaf[] {
    if (this.ids.length) this.cut();
    return this.out;
  }

  private cut(): void {
    this.out.push(leafOf(this.parts, this.lengths, this.ids));
    this.parts = [];
    this.lengths = [];
    this.ids = [];
  }
}

export class PackedTree {
  private leaves: Leaf[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.leaves = [];
    this.count = 0;
  }

  /** Index of the leaf `key` belongs in: the last whose first key is ≤ key (0 when none is). */
  private leafFor(key: string): number {
    const leaves = this.leaves;
    let lo = 0;
    let hi = leaves.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const l = leaves[mid];
      if (cmpAt(l.s, 0, l.off[1], key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Position of the first key ≥ `key` in `leaf` at or after `from` (its length when there is none). */
  private static lowerBound(leaf: Leaf, key: string, from = 0): number {
    let lo = from;
    let hi = leaf.ids.length;
    // appends (ascending codes, ascending ObjectIds) are the common case: one comparison with the last key
    if (lo < hi && cmpAt(leaf.s, leaf.off[hi - 1], leaf.off[hi], key) < 0) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmpAt(leaf.s, leaf.off[mid], leaf.off[mid + 1], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * lowerBound from `from` for keys that come in ascending order: the next one's place is usually close to
   * the last one's, so the search widens from there (a few comparisons) instead of halving the whole rest.
   */
  private static gallop(leaf: Leaf, key: string, from: number): number {
    const n = leaf.ids.length;
    const off = leaf.off;
    if (from >= n || cmpAt(leaf.s, off[from], off[from + 1], key) >= 0) return from;
    let lo = from + 1; // every key before lo is below `key`
    let hi = lo;
    let step = 1;
    while (hi < n && cmpAt(leaf.s, off[hi], off[hi + 1], key) < 0) {
      lo = hi + 1;
      hi = Math.min(n, hi + step);
      step *= 2;
    }
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmpAt(leaf.s, off[mid], off[mid + 1], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private static keyAt(leaf: Leaf, i: number): string {
    return leaf.s.slice(leaf.off[i], leaf.off[i + 1]);
  }

  /** Sets `key` to `id` (replacing the value of an equal key). */
  set(key: string, id: string): void {
    this.setRun([key], [id]);
  }

  /** The value of the first key starting with `prefix` whose value is not `except`, if any. */
  firstWithPrefix(prefix: string, except: string): string | undefined {
    if (this.leaves.length === 0) return undefined;
    let li = this.leafFor(prefix);
    let p = PackedTree.lowerBound(this.leaves[li], prefix);
    for (; li < this.leaves.length; li++, p = 0) {
      const leaf = this.leaves[li];
      for (; p < leaf.ids.length; p++) {
        if (!startsAt(leaf.s, leaf.off[p], leaf.off[p + 1], prefix)) return undefined;
        if (leaf.ids[p] !== except) return leaf.ids[p];
      }
    }
    return undefined;
  }

  /**
   * Merges ascending `keys` (with their `ids`) into the tree: each leaf they fall in is rebuilt once, so a
   * sorted run of a bulk write costs one copy of each touched leaf, not one per key.
   */
  setRun(keys: string[], ids: string[]): void {
    if (keys.length === 0) return;
    if (this.leaves.length === 0) {
      const b = new LeafBuilder(LeafBuilder.chunkFor(keys.length));
      let prev: string | undefined;
      for (let i = 0; i < keys.length; i++) {
        if (keys[i] === prev) continue;
        b.push(keys[i], ids[i]);
        prev = keys[i];
      }
      this.leaves = b.finish();
      this.count = this.leaves.reduce((n, l) => n + l.ids.length, 0);
      return;
    }
    // replacements: leaf index → its new leaves, in ascending leaf order
    const at: number[] = [];
    const repl: Leaf[][] = [];
    let i = 0;
    while (i < keys.length) {
      const li = this.leafFor(keys[i]);
      const next = this.leaves[li + 1];
      // the keys of this run that fall in leaf li: below the next leaf's first key
      let j = i + 1;
      if (next === undefined) j = keys.length;
      else {
        // galloping search for the first key ≥ the next leaf's first: few comparisons for long groups
        const below = (k: number): boolean => cmpAt(next.s, 0, next.off[1], keys[k]) > 0;
        let step = 1;
        let lo = j; // keys[lo - 1] is below
        let hi = j;
        while (hi < keys.length && below(hi)) {
          lo = hi + 1;
          hi = Math.min(keys.length, hi + step);
          step *= 2;
        }
        // keys[lo - 1] is below the next leaf, keys[hi] (if any) is not
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (below(mid)) lo = mid + 1;
          else hi = mid;
        }
        j = lo;
      }
      const leaf = this.leaves[li];
      const before = leaf.ids.length;
      const merged = this.merge(leaf, keys, ids, i, j);
      this.count += merged.reduce((n, l) => n + l.ids.length, 0) - before;
      at.push(li);
      repl.push(merged);
      i = j;
    }
    this.replaceLeaves(at, repl);
  }

  /** Leaf `leaf` with keys[i, j) merged in (an equal key takes the new id). */
  private merge(leaf: Leaf, keys: string[], ids: string[], i: number, j: number): Leaf[] {
    const n = leaf.ids.length;
    const b = new LeafBuilder(LeafBuilder.chunkFor(n + (j - i)));
    let p = 0;
    let prev: string | undefined;
    for (let k = i; k < j; k++) {
      const key = keys[k];
      if (key === prev) continue;
      prev = key;
      const q = PackedTree.gallop(leaf, key, p);
      b.pushRange(leaf, p, q);
      b.push(key, ids[k]);
      p = q < n && cmpAt(leaf.s, leaf.off[q], leaf.off[q + 1], key) === 0 ? q + 1 : q;
    }
    b.pushRange(leaf, p, n);
    return b.finish();
  }

  private replaceLeaves(at: number[], repl: Leaf[][]): void {
    if (repl.every((r) => r.length === 1)) {
      for (let k = 0; k < at.length; k++) this.leaves[at[k]] = repl[k][0];
      return;
    }
    if (at.length === 1) {
      this.leaves.splice(at[0], 1, ...repl[0]);
      return;
    }
    const out: Leaf[] = [];
    let from = 0;
    for (let k = 0; k < at.length; k++) {
      for (let li = from; li < at[k]; li++) out.push(this.leaves[li]);
      for (const l of repl[k]) out.push(l);
      from = at[k] + 1;
    }
    for (let li = from; li < this.leaves.length; li++) out.push(this.leaves[li]);
    this.leaves = out;
  }

  /** Removes `key`; whether it was there. */
  delete(key: string): boolean {
    if (this.leaves.length === 0) return false;
    const li = this.leafFor(key);
    const leaf = this.leaves[li];
    const p = PackedTree.lowerBound(leaf, key);
    if (p >= leaf.ids.length || cmpAt(leaf.s, leaf.off[p], leaf.off[p + 1], key) !== 0) return false;
    this.count--;
    const n = leaf.ids.length;
    if (n === 1) {
      this.leaves.splice(li, 1);
      return true;
    }
    // a small leaf is joined with its right (or left) neighbour when the two fit in one
    const left = n - 1 < MIN && li > 0 && this.leaves[li - 1].ids.length + n - 1 <= MAX ? li - 1 : -1;
    const right = left < 0 && n - 1 < MIN && li + 1 < this.leaves.length && this.leaves[li + 1].ids.length + n - 1 <= MAX ? li + 1 : -1;
    const b = new LeafBuilder(MAX);
    if (left >= 0) b.pushRange(this.leaves[left], 0, this.leaves[left].ids.length);
    b.pushRange(leaf, 0, p);
    b.pushRange(leaf, p + 1, n);
    if (right >= 0) b.pushRange(this.leaves[right], 0, this.leaves[right].ids.length);
    const [built] = b.finish();
    if (left >= 0) this.leaves.splice(left, 2, built);
    else if (right >= 0) this.leaves.splice(li, 2, built);
    else this.leaves[li] = built;
    return true;
  }

  /** The value of `key`, if present. */
  get(key: string): string | undefined {
    if (this.leaves.length === 0) return undefined;
    const leaf = this.leaves[this.leafFor(key)];
    const p = PackedTree.lowerBound(leaf, key);
    return p < leaf.ids.length && cmpAt(leaf.s, leaf.off[p], leaf.off[p + 1], key) === 0 ? leaf.ids[p] : undefined;
  }

  /**
   * Where to go on after `leaf` (at index `li` when it was read): the next leaf, or, when the tree changed
   * meanwhile, the position of the first key above `last`.
   */
  private nextAfter(leaf: Leaf, li: number, last: string): [number, number] {
    if (this.leaves[li] === leaf) return [li + 1, 0];
    if (this.leaves.length === 0) return [0, 0];
    const nli = this.leafFor(last);
    const l = this.leaves[nli];
    let p = PackedTree.lowerBound(l, last);
    if (p < l.ids.length && cmpAt(l.s, l.off[p], l.off[p + 1], last) === 0) p++;
    return p < l.ids.length ? [nli, p] : [nli + 1, 0];
  }

  /** Values of the keys in [start, end) (end undefined: to the last key), ascending. */
  *ids(start: string, end?: string): Generator<string> {
    if (this.leaves.length === 0) return;
    let li = this.leafFor(start);
    let p = PackedTree.lowerBound(this.leaves[li], start);
    while (li < this.leaves.length) {
      const leaf = this.leaves[li];
      const n = leaf.ids.length;
      for (; p < n; p++) {
        if (end !== undefined && cmpAt(leaf.s, leaf.off[p], leaf.off[p + 1], end) >= 0) return;
        yield leaf.ids[p];
      }
      [li, p] = this.nextAfter(leaf, li, PackedTree.keyAt(leaf, n - 1));
    }
  }

  /** Values of the keys in [start, end) (end undefined: from the last key), descending. */
  *idsReversed(start: string, end?: string): Generator<string> {
    if (this.leaves.length === 0) return;
    let li: number;
    let p: number;
    if (end === undefined) {
      li = this.leaves.length - 1;
      p = this.leaves[li].ids.length - 1;
    } else {
      li = this.leafFor(end);
      p = PackedTree.lowerBound(this.leaves[li], end) - 1;
    }
    while (li >= 0) {
      const leaf = this.leaves[li];
      for (; p >= 0; p--) {
        if (cmpAt(leaf.s, leaf.off[p], leaf.off[p + 1], start) < 0) return;
        yield leaf.ids[p];
      }
      // going down: the previous leaf, or, when the tree changed meanwhile, the last key below this leaf's first
      if (this.leaves[li] === leaf) {
        li--;
        if (li >= 0) p = this.leaves[li].ids.length - 1;
      } else {
        const first = PackedTree.keyAt(leaf, 0);
        if (this.leaves.length === 0) return;
        li = this.leafFor(first);
        p = PackedTree.lowerBound(this.leaves[li], first) - 1;
        if (p < 0) {
          li--;
          if (li >= 0) p = this.leaves[li].ids.length - 1;
        }
      }
    }
  }
}
