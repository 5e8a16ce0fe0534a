/**
 * In-memory secondary indexes: a B+tree per index keyed by an order-preserving string encoding of the
 * field values (keycodec.ts) plus the _id key, so the tree order is MongoDB's BSON comparison order in each
 * field's direction. Arrays are expanded (multikey), a missing field is
 * indexed as null unless the index is sparse, a partial index holds only documents matching its filter.
 */
import BTree from 'sorted-btree';
import { Query } from 'mingo';
import { compareValues, pathValues, toNumber, TypeBound, type Doc } from './compare';
import { encodeField, successor } from './keycodec';

// Bound once: under tsx/esbuild every access to an imported binding is a getter call.
const valuesAt = pathValues;

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

/** One interval of values for one field, in value order (not index direction). */
export interface Interval {
  lo: unknown;
  loInc: boolean;
  hi: unknown;
  hiInc: boolean;
}

export function isPoint(iv: Interval): boolean {
  return iv.loInc && iv.hiInc && !(iv.lo instanceof TypeBound) && compareValues(iv.lo, iv.hi) === 0;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class Index {
  readonly fields: [string, number][];
  /** text, 2dsphere, hashed …: kept for listIndexes, never used to answer queries. */
  readonly special: boolean;
  /**
   * Entries keyed by the order-preserving encoding of the key values (each field complemented when
   * descending) followed by the document's _id key; the value is that _id key.
   */
  readonly tree = new BTree<string, string>(undefined, byString, 128);
  private readonly partial?: Query;
  /** Field name of a single-field, top-level index: the common case, keyed without array juggling. */
  private readonly single?: string;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.entries(spec.key).map(([f, d]) => [f, typeof d === 'number' && d < 0 ? -1 : 1]);
    this.special = Object.values(spec.key).some((d) => typeof d === 'string');
    if (spec.partialFilterExpression) this.partial = new Query(spec.partialFilterExpression, {});
    this.single = this.fields.length === 1 && !this.fields[0][0].includes('.') ? this.fields[0][0] : undefined;
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

  /** The key value tuples this document produces, or [] when it is not indexed. */
  keyTuples(doc: Doc): IndexKey[] {
    if (this.special) return [];
    if (this.partial && !this.partial.test(doc)) return [];
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
    return keys;
  }

  encode(tuple: IndexKey): string {
    let s = '';
    for (let i = 0; i < tuple.length; i++) s += encodeField(tuple[i], this.fields[i][1]);
    return s;
  }

  /** Encoded keys of a document (without the _id suffix). */
  keysOf(doc: Doc): string[] {
    if (this.single !== undefined && !this.partial && !this.special) {
      const v = doc[this.single];
      if (!Array.isArray(v)) {
        if (v === undefined) return this.sparse ? [] : [encodeField(null, this.fields[0][1])];
        return [encodeField(v, this.fields[0][1])];
      }
    }
    const tuples = this.keyTuples(doc);
    if (tuples.length === 1) return [this.encode(tuples[0])];
    // Equal values (by MongoDB equality) encode equally: a Set drops duplicate array elements in O(n).
    return [...new Set(tuples.map((t) => this.encode(t)))];
  }

  /**
   * The _id index is built only when a query first needs it for a range or an order (equality on _id is
   * answered by the collection's Map); until then inserts skip it, which saves a quarter of the index work
   * of a bulk insert.
   */
  private built = true;

  get isBuilt(): boolean {
    return this.built;
  }

  addKeys(keys: string[], id: string): void {
    for (const k of keys) this.tree.set(k + id, id);
  }

  removeKeys(keys: string[], id: string): void {
    for (const k of keys) this.tree.delete(k + id);
  }

  /** A document other than `id` holding encoded key `k`, if any. */
  holderOtherThan(k: string, id: string): string | undefined {
    for (const other of this.idsWithPrefix(k)) if (other !== id) return other;
    return undefined;
  }

  markLazy(): void {
    this.built = false;
    this.tree.clear();
  }

  ensureBuilt(docs: Iterable<[string, Doc]>): void {
    if (this.built) return;
    this.built = true;
    for (const [id, doc] of docs) this.add(doc, id);
  }

  add(doc: Doc, id: string): void {
    if (!this.built) return;
    for (const k of this.keysOf(doc)) this.tree.set(k + id, id);
  }

  remove(doc: Doc, id: string): void {
    if (!this.built) return;
    for (const k of this.keysOf(doc)) this.tree.delete(k + id);
  }

  /** For a unique index: the first key tuple of `doc` already held by a different document. */
  conflict(doc: Doc, id: string): IndexKey | undefined {
    if (!this.unique) return undefined;
    for (const k of this.keysOf(doc)) {
      for (const other of this.idsWithPrefix(k)) {
        if (other !== id) return this.keyTuples(doc).find((t) => this.encode(t) === k);
      }
    }
    return undefined;
  }

  private *idsWithPrefix(prefix: string): Generator<string> {
    for (const [k, id] of this.tree.entries(prefix)) {
      if (!k.startsWith(prefix)) return;
      yield id;
    }
  }

  /**
   * Ids in index order for a prefix of intervals: all but the last must be points. `reverse` walks the
   * tree backwards (for a sort opposite to the index direction).
   */
  *scan(prefix: Interval[], reverse = false): Generator<string> {
    const range = this.range(prefix);
    if (!range) return;
    const [start, end] = range;
    if (!reverse) {
      for (const [k, id] of this.tree.entries(start)) {
        if (end !== undefined && k >= end) return;
        yield id;
      }
    } else {
      for (const [k, id] of this.tree.entriesReversed(end)) {
        if (end !== undefined && k >= end) continue;
        if (k < start) return;
        yield id;
      }
    }
  }

  /** Half-open string range [start, end) of the entries inside the intervals; end undefined = to the last. */
  private range(prefix: Interval[]): [string, string | undefined] | undefined {
    if (prefix.length === 0) return ['', undefined];
    let p = '';
    for (let i = 0; i < prefix.length - 1; i++) p += encodeField(prefix[i].lo, this.fields[i][1]);
    const last = prefix[prefix.length - 1];
    const dir = this.fields[prefix.length - 1][1];
    if (isPoint(last)) {
      const s = p + encodeField(last.lo, dir);
      return [s, successor(s)];
    }
    const asc = dir > 0;
    const lowVal = asc ? last.lo : last.hi;
    const highVal = asc ? last.hi : last.lo;
    const lowInc = lowVal instanceof TypeBound || (asc ? last.loInc : last.hiInc);
    const highInc = highVal instanceof TypeBound || (asc ? last.hiInc : last.loInc);
    const lowS = p + encodeField(lowVal, dir);
    const highS = p + encodeField(highVal, dir);
    const start = lowInc ? lowS : successor(lowS);
    if (start === undefined) return undefined;
    return [start, highInc ? successor(highS) : highS];
  }

  /** Number of entries in the tree (for stats). */
  get size(): number {
    return this.tree.size;
  }

  clear(): void {
    this.tree.clear();
  }
}

export function defaultIndexName(key: Doc): string {
  return Object.entries(key)
    .map(([f, d]) => `${f}_${String(d)}`)
    .join('_');
}
