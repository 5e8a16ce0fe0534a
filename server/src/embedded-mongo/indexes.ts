/**
 * In-memory secondary indexes: a B+tree per index keyed by [field values..., _id key], ordered by MongoDB's
 * BSON comparison order and each field's direction. Arrays are expanded (multikey), a missing field is
 * indexed as null unless the index is sparse, a partial index holds only documents matching its filter.
 */
import BTree from 'sorted-btree';
import { Query } from 'mingo';
import { compareValues, HIGHEST, LOWEST, pathValues, toNumber, type Doc } from './compare';

export interface IndexSpec extends Doc {
  v?: number;
  key: Doc;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Doc;
  expireAfterSeconds?: number;
}

export type IndexKey = unknown[];

// Bound once: under tsx/esbuild every access to an imported binding is a getter call, and the comparator
// below runs millions of times during a bulk insert.
const cmpValues = compareValues;
const valuesAt = pathValues;

/** One interval of values for one field, in value order (not index direction). */
export interface Interval {
  lo: unknown;
  loInc: boolean;
  hi: unknown;
  hiInc: boolean;
}

export function isPoint(iv: Interval): boolean {
  return iv.loInc && iv.hiInc && compareValues(iv.lo, iv.hi) === 0;
}

export class Index {
  readonly fields: [string, number][];
  /** text, 2dsphere, hashed …: kept for listIndexes, never used to answer queries. */
  readonly special: boolean;
  readonly tree: BTree<IndexKey, string>;
  private readonly partial?: Query;
  /** Field name of a single-field, top-level index: the common case, keyed without array juggling. */
  private readonly single?: string;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.entries(spec.key).map(([f, d]) => [f, typeof d === 'number' && d < 0 ? -1 : 1]);
    this.special = Object.values(spec.key).some((d) => typeof d === 'string');
    if (spec.partialFilterExpression) this.partial = new Query(spec.partialFilterExpression, {});
    const dirs = this.fields.map((f) => f[1]);
    const n = dirs.length;
    this.tree = new BTree<IndexKey, string>(undefined, (a, b) => {
      for (let i = 0; i < n; i++) {
        const x = a[i];
        const y = b[i];
        const c = cmpValues(x, y);
        if (c !== 0) return x === LOWEST || x === HIGHEST || y === LOWEST || y === HIGHEST ? c : c * dirs[i];
      }
      return cmpValues(a[n], b[n]);
    });
    this.single = n === 1 && !this.fields[0][0].includes('.') ? this.fields[0][0] : undefined;
  }

  get name(): string {
    return this.spec.name;
  }
  get unique(): boolean {
    return Boolean(this.spec.unique);
  }
  get sparse(): boolean {
    return Boolean(this.spec.sparse);
  }
  get isPartial(): boolean {
    return Boolean(this.partial);
  }
  get ttlSeconds(): number | undefined {
    return this.spec.expireAfterSeconds === undefined ? undefined : toNumber(this.spec.expireAfterSeconds);
  }
  /** Whether every document of the collection has at least one entry (so a scan sees them all). */
  get complete(): boolean {
    return !this.special && !this.sparse && !this.partial;
  }

  /** The key tuples (without _id key) this document produces, or [] when it is not indexed. */
  keysOf(doc: Doc): IndexKey[] {
    if (this.special) return [];
    if (this.partial && !this.partial.test(doc)) return [];
    if (this.single !== undefined) {
      const v = doc[this.single];
      if (!Array.isArray(v)) {
        if (v === undefined) return this.sparse ? [] : [[null]];
        return [[v]];
      }
    }
    const perField: unknown[][] = [];
    let present = false;
    for (const [field] of this.fields) {
      const values = valuesAt(doc, field);
      const normalized: unknown[] = [];
      for (const v of values) {
        if (v === undefined) normalized.push(null);
        else {
          present = true;
          normalized.push(v);
        }
      }
      perField.push(normalized);
    }
    if (this.sparse && !present) return [];
    let keys: IndexKey[] = [[]];
    for (const values of perField) {
      const next: IndexKey[] = [];
      for (const k of keys) for (const v of values) next.push([...k, v]);
      keys = next;
    }
    if (keys.length > 1) keys = dedupe(keys);
    return keys;
  }

  add(doc: Doc, id: string): void {
    for (const k of this.keysOf(doc)) this.tree.set([...k, id], id);
  }

  remove(doc: Doc, id: string): void {
    for (const k of this.keysOf(doc)) this.tree.delete([...k, id]);
  }

  /** For a unique index: the first key of `doc` already held by a different document. */
  conflict(doc: Doc, id: string): IndexKey | undefined {
    if (!this.unique) return undefined;
    for (const k of this.keysOf(doc)) {
      for (const other of this.idsWithKey(k)) if (other !== id) return k;
    }
    return undefined;
  }

  *idsWithKey(key: IndexKey): Generator<string> {
    const n = this.fields.length;
    for (const [entry, id] of this.tree.entries([...key, LOWEST])) {
      for (let i = 0; i < n; i++) if (compareValues(entry[i], key[i]) !== 0) return;
      yield id;
    }
  }

  /**
   * Ids in index order for a prefix of intervals: all but the last must be points. `reverse` walks the
   * tree backwards (for a sort opposite to the index direction).
   */
  *scan(prefix: Interval[], reverse = false): Generator<string> {
    const [low, high] = this.bounds(prefix);
    const cmp = this.tree._compare;
    if (!reverse) {
      for (const [k, id] of this.tree.entries(low)) {
        if (cmp(k, high) > 0) return;
        yield id;
      }
    } else {
      for (const [k, id] of this.tree.entriesReversed(high)) {
        if (cmp(k, low) < 0) return;
        yield id;
      }
    }
  }

  private bounds(prefix: Interval[]): [IndexKey, IndexKey] {
    const total = this.fields.length + 1;
    const low: IndexKey = [];
    const high: IndexKey = [];
    let lowPad: unknown = LOWEST;
    let highPad: unknown = HIGHEST;
    prefix.forEach((iv, i) => {
      const asc = this.fields[i][1] > 0;
      low.push(asc ? iv.lo : iv.hi);
      high.push(asc ? iv.hi : iv.lo);
      if (i === prefix.length - 1) {
        lowPad = (asc ? iv.loInc : iv.hiInc) ? LOWEST : HIGHEST;
        highPad = (asc ? iv.hiInc : iv.loInc) ? HIGHEST : LOWEST;
      }
    });
    while (low.length < total) low.push(lowPad);
    while (high.length < total) high.push(highPad);
    return [low, high];
  }

  /** Number of entries in the tree (for stats). */
  get size(): number {
    return this.tree.size;
  }

  clear(): void {
    this.tree.clear();
  }
}

function dedupe(keys: IndexKey[]): IndexKey[] {
  const out: IndexKey[] = [];
  for (const k of keys) {
    if (!out.some((o) => o.every((v, i) => compareValues(v, k[i]) === 0))) out.push(k);
  }
  return out;
}

export function defaultIndexName(key: Doc): string {
  return Object.entries(key)
    .map(([f, d]) => `${f}_${String(d)}`)
    .join('_');
}
