/**
 * In-memory secondary indexes: a B+tree per index keyed by an order-preserving string encoding of the
 * field values (keycodec.ts) plus the _id key, so the tree order is MongoDB's BSON comparison order in each
 * field's direction. Arrays are expanded (multikey), a missing field is
 * indexed as null unless the index is sparse, a partial index holds only documents matching its filter.
 */
import { PackedTree } from './packed-tree';
import { Query } from './mingo';
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

const byEntryKey = (a: [string, string], b: [string, string]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/**
 * `k + id` as one flat string. `+` makes a rope (ConsString) that every comparison must flatten first,
 * and the tree would keep both the rope and its flattened copy: sorting a run of ropes took three
 * times as long as sorting flat strings, and the ropes were as many extra long-lived heap objects.
 */
function flatKey(k: string, id: string): string {
  return [k, id].join('');
}

/** Pending entries merged at once at most (a reader may pay one merge of this size: ~0.1 s). */
const MAX_PENDING = 65_536;

export class Index {
  readonly fields: [string, number][];
  /** text, 2dsphere, hashed …: kept for listIndexes, never used to answer queries. */
  readonly special: boolean;
  /**
   * Entries keyed by the order-preserving encoding of the key values (each field complemented when
   * descending) followed by the document's _id key; the value is that _id key. Leaves hold their keys
   * packed (packed-tree.ts): a string per entry made the store's heap tens of millions of objects.
   */
  private readonly tree = new PackedTree();
  private readonly partial?: Query;
  /** Field name of a single-field, top-level index: the common case, keyed without array juggling. */
  private readonly single?: string;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.entries(spec.key).map(([f, d]) => [f, typeof d !== 'string' && toNumber(d) < 0 ? -1 : 1]);
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
    if (this.special) return [];
    if (this.partial && !this.partial.test(doc)) return [];
    // Each field's values are encoded once and the keys are their concatenations: a multikey field with
    // 30 values beside gbCode encodes gbCode once, not 30 times. Equal values (by MongoDB equality)
    // encode equally, so a Set drops duplicate array elements.
    let keys: string[] = [''];
    let present = false;
    for (const [field, dir] of this.fields) {
      const values = valuesAt(doc, field);
      let encoded: string[];
      if (values.length === 1) {
        const v = values[0];
        if (v !== undefined) present = true;
        encoded = [encodeField(v === undefined ? null : v, dir)];
      } else {
        const set = new Set<string>();
        for (const v of values) {
          if (v !== undefined) present = true;
          set.add(encodeField(v === undefined ? null : v, dir));
        }
        encoded = [...set];
      }
      if (keys.length === 1) {
        const head = keys[0];
        keys = encoded.length === 1 ? [head + encoded[0]] : encoded.map((e) => head + e);
      } else {
        const next: string[] = [];
        for (const k of keys) for (const e of encoded) next.push(k + e);
        keys = next;
      }
    }
    if (this.sparse && !present) return [];
    return keys;
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

  /**
   * Tree keys added but not yet in the tree. A bulk insert adds ~40 entries per camera point to trees of
   * millions; merged as one sorted run, each leaf they fall in is rebuilt once instead of once per entry.
   * Every read of the tree (scans, removals, counts) first merges the run, so readers never see the
   * difference. A unique index's pending keys are also held by key (`pendingUnique`), so the check of each
   * insert against the previous ones needs no merge.
   */
  private pendingKeys: string[] = [];
  /** Unique indexes: each pending encoded key (without the _id suffix) → the _id key holding it. */
  private pendingUnique = new Map<string, string>();
  /**
   * The pending entries' _id keys, each by itself: while they all have one length (ObjectIds always
   * do) an entry is just its tree key, the _id key is its suffix, and the run sorts with the native
   * string order, without a JS comparator per comparison (the sort was half of a merge).
   */
  private pendingIds = new Map<string, string>();
  /** Length of every pending _id key; -1 once lengths differ: then the entries are kept as pairs. */
  private pendingIdLength = 0;
  private pendingPairs: [string, string][] = [];

  /** Merges the pending entries into the tree, in key order. */
  private flush(): void {
    const keys = this.pendingKeys;
    const pairs = this.pendingPairs;
    if (keys.length === 0 && pairs.length === 0) return;
    const ids = this.pendingIds;
    const idLength = this.pendingIdLength;
    this.pendingKeys = [];
    this.pendingPairs = [];
    this.pendingIds = new Map();
    this.pendingIdLength = 0;
    if (this.pendingUnique.size) this.pendingUnique = new Map();
    if (keys.length) {
      keys.sort();
      const values = new Array<string>(keys.length);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        values[i] = ids.get(k.slice(k.length - idLength)) as string;
      }
      this.tree.setRun(keys, values);
    } else {
      pairs.sort(byEntryKey);
      this.tree.setRun(
        pairs.map((p) => p[0]),
        pairs.map((p) => p[1]),
      );
    }
  }

  /** Adds the entries of one document: its encoded keys `keys`, each suffixed with `id`. */
  private put(keys: string[], id: string): void {
    if (keys.length === 0) return;
    if (this.unique) for (const k of keys) this.pendingUnique.set(k, id);
    if (id.length !== this.pendingIdLength) {
      if (this.pendingKeys.length === 0 && this.pendingPairs.length === 0) this.pendingIdLength = id.length;
      else if (this.pendingIdLength >= 0) this.pendingAsPairs();
    }
    if (this.pendingIdLength >= 0) {
      this.pendingIds.set(id, id);
      for (const k of keys) this.pendingKeys.push(flatKey(k, id));
      if (this.pendingKeys.length >= MAX_PENDING) this.flush();
    } else {
      for (const k of keys) this.pendingPairs.push([flatKey(k, id), id]);
      if (this.pendingPairs.length >= MAX_PENDING) this.flush();
    }
  }

  private pendingAsPairs(): void {
    const n = this.pendingIdLength;
    for (const k of this.pendingKeys) this.pendingPairs.push([k, this.pendingIds.get(k.slice(k.length - n)) as string]);
    this.pendingKeys = [];
    this.pendingIds = new Map();
    this.pendingIdLength = -1;
  }

  private dropPending(): void {
    this.pendingUnique = new Map();
    this.pendingKeys = [];
    this.pendingPairs = [];
    this.pendingIds = new Map();
    this.pendingIdLength = 0;
  }

  addKeys(keys: string[], id: string): void {
    this.put(keys, id);
  }

  removeKeys(keys: string[], id: string): void {
    this.flush();
    for (const k of keys) this.tree.delete(k + id);
  }

  /** A document other than `id` holding encoded key `k`, if any. */
  holderOtherThan(k: string, id: string): string | undefined {
    if (!this.unique) this.flush();
    else {
      // pending keys are looked up by key; the tree holds every other entry
      const pending = this.pendingUnique.get(k);
      if (pending !== undefined && pending !== id) return pending;
    }
    return this.tree.firstWithPrefix(k, id);
  }

  markLazy(): void {
    this.built = false;
    this.dropPending();
    this.tree.clear();
  }

  /** Builds the index through the pending sorted runs, as a bulk insert does. */
  ensureBuilt(docs: Iterable<[string, Doc]>): void {
    if (this.built) return;
    this.built = true;
    for (const [id, doc] of docs) this.put(this.keysOf(doc), id);
    this.flush();
  }

  add(doc: Doc, id: string): void {
    if (!this.built) return;
    this.put(this.keysOf(doc), id);
  }

  remove(doc: Doc, id: string): void {
    if (!this.built) return;
    this.flush();
    for (const k of this.keysOf(doc)) this.tree.delete(k + id);
  }

  /** For a unique index: the first key tuple of `doc` already held by a different document. */
  conflict(doc: Doc, id: string): IndexKey | undefined {
    if (!this.unique) return undefined;
    for (const k of this.keysOf(doc)) {
      if (this.holderOtherThan(k, id) !== undefined) return this.keyTuples(doc).find((t) => this.encode(t) === k);
    }
    return undefined;
  }

  /**
   * Ids in index order for a prefix of intervals: all but the last must be points. `reverse` walks the
   * tree backwards (for a sort opposite to the index direction).
   */
  *scan(prefix: Interval[], reverse = false): Generator<string> {
    this.flush();
    const range = this.range(prefix);
    if (!range) return;
    const [start, end] = range;
    yield* reverse ? this.tree.idsReversed(start, end) : this.tree.ids(start, end);
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
    this.flush();
    return this.tree.size;
  }

  clear(): void {
    this.dropPending();
    this.tree.clear();
  }
}

export function defaultIndexName(key: Doc): string {
  return Object.entries(key)
    .map(([f, d]) => `${f}_${String(d)}`)
    .join('_');
}
