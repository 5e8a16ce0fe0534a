/**
 * One collection: the documents in memory (Map by canonical _id key, loaded at start) plus its indexes.
 * Every mutation goes through a WriteTx that records the storage operation and how to undo the in-memory
 * change, so a failed SQLite commit leaves memory as it was.
 */
import { BSON } from 'bson';
import { compareValues, TypeBound, type Doc } from './compare';
import { DEFAULT_DOC_CACHE, DocStore } from './docstore';
import { CommandError, duplicateKeyError } from './errors';
import { Index, type IndexSpec } from './indexes';
import type { StorageOp } from './storage';
import { bsonOf, decodeBson, MAX_BSON_USER_BYTES } from './wire';

/** How a document came to be written: mongod refuses an oversized one with a different error for each. */
export type WriteOrigin = 'insert' | 'upsert' | 'update';

/**
 * Encodes the document (its bytes are kept on it), refusing it as mongod does when it is larger than
 * maxBsonObjectSize (16 MiB): an insert answers BadValue (objects above 16 MiB + 16 KiB never get here: the
 * wire refuses them with 10334), an update 17419, an upsert 17420. Called before anything changes, so a
 * refused write leaves the stored document as it was.
 */
function checkStorable(doc: Doc, origin: WriteOrigin): void {
  let size: number;
  try {
    size = bsonOf(doc).length;
  } catch (err) {
    // over the internal maximum: an update or upsert that built it reports it as its own error, like mongod
    if (!(err instanceof CommandError) || err.code !== 10334 || origin === 'insert') throw err;
    size = Infinity;
  }
  if (size <= MAX_BSON_USER_BYTES) return;
  switch (origin) {
    case 'insert':
      throw new CommandError(2, 'BadValue', `object to insert too large. size in bytes: ${size}, max size: ${MAX_BSON_USER_BYTES}`);
    case 'update':
      throw new CommandError(17419, 'Location17419', `Resulting document after update is larger than ${MAX_BSON_USER_BYTES}`);
    case 'upsert':
      throw new CommandError(17420, 'Location17420', `Document to upsert is larger than ${MAX_BSON_USER_BYTES}`);
  }
}

/**
 * A command's writes until its commit: the storage operations and the undo of each. Both hold documents as
 * their BSON bytes (which the store keeps anyway), never the decoded objects: a command of 250 upserts
 * allocates enough for several young-generation collections before it commits, and every object it still
 * held then was promoted to old space and died there. A nominal 150,000-point run's history pass grew the
 * store thread's old space by ~225 MB that way, against ~115 MB of documents it actually added.
 */
export class WriteTx {
  readonly ops: StorageOp[] = [];
  readonly undo: (() => void)[] = [];
}

/** Canonical key of an _id value: equal _ids (by MongoDB equality) give equal keys. */
export function idKey(id: unknown): string {
  switch (typeof id) {
    case 'string':
      return 's' + id;
    case 'number':
      return 'n' + (Object.is(id, -0) ? 0 : id);
    case 'boolean':
      return 'b' + id;
    case 'object':
      break;
    case 'bigint':
      // Int64 5 and Int32 5 are the same _id; beyond 2^53 the digits keep neighbours apart
      return 'n' + String(id);
    case 'function':
    case 'symbol':
    case 'undefined':
      return 'x' + String(id);
  }
  if (id === null) return 'z';
  if (id instanceof Date) return 'd' + id.getTime();
  const t = (id as { _bsontype?: string })._bsontype;
  if (t === 'ObjectId') return 'o' + (id as { toHexString(): string }).toHexString();
  if (t === 'Long') return 'n' + (id as { toString(): string }).toString();
  if (t === 'Int32' || t === 'Double') return 'n' + Number((id as { valueOf(): number }).valueOf());
  return 'x' + Buffer.from(BSON.serialize({ v: id })).toString('hex');
}

export interface CollectionStats {
  collscans: number;
  ixscans: number;
  idlookups: number;
  docsExamined: number;
}

export class Collection {
  readonly docs: DocStore;
  readonly indexes = new Map<string, Index>();
  readonly stats: CollectionStats = { collscans: 0, ixscans: 0, idlookups: 0, docsExamined: 0 };

  /** How many documents have an _id that is not an ObjectId (index order by _id key = _id order when 0). */
  private otherIds = 0;

  get idsAreObjectIds(): boolean {
    return this.otherIds === 0;
  }

  private countId(id: string, delta: number): void {
    if (id.charCodeAt(0) !== 111 /* 'o' */) this.otherIds += delta;
  }

  constructor(
    readonly db: string,
    readonly name: string,
    public options: Doc,
    specs: IndexSpec[],
    /** Decoded documents the store caches (tests use a small one to stand for a large collection). */
    docCache = DEFAULT_DOC_CACHE,
  ) {
    this.docs = new DocStore(docCache);
    const hasId = specs.some((s) => s.name === '_id_');
    if (!hasId) this.indexes.set('_id_', new Index({ v: 2, key: { _id: 1 }, name: '_id_' }));
    for (const s of specs) this.indexes.set(s.name, new Index(s));
    this.indexes.get('_id_')?.markLazy();
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  meta(): Doc {
    return { options: this.options, indexes: [...this.indexes.values()].map((i) => i.spec) };
  }

  /**
   * The top-level fields that index maintenance reads, or undefined when that is not a fixed set (a
   * partial index's filter, a wildcard key): an insert decodes only these and stores the bytes it got.
   */
  fieldsIndexed(): ReadonlySet<string> | undefined {
    const names = new Set<string>(['_id']);
    for (const ix of this.indexes.values()) {
      if (ix.isPartial) return undefined;
      if (ix.special) continue;
      for (const [f] of ix.fields) {
        if (f.includes('$')) return undefined;
        names.add(f.split('.')[0]);
      }
    }
    return names;
  }

  /** Loads a stored document without writing (start-up). */
  load(id: string, doc: Doc): void {
    this.docs.set(id, doc);
    this.countId(id, 1);
    for (const ix of this.indexes.values()) ix.add(doc, id);
  }

  private checkUnique(doc: Doc, id: string): void {
    for (const ix of this.indexes.values()) {
      if (ix.name === '_id_') continue;
      const key = ix.conflict(doc, id);
      if (key) throw this.dupError(ix, key);
    }
  }

  dupError(ix: Index, key: unknown[]): Error {
    const keyValue: Doc = {};
    ix.fields.forEach(([f], i) => (keyValue[f] = key[i]));
    return duplicateKeyError(this.ns, ix.name, ix.spec.key, keyValue);
  }

  insert(doc: Doc, tx: WriteTx, origin: WriteOrigin = 'insert'): void {
    // encoded (and its size checked) before anything changes: the store keeps these bytes, storage writes them
    checkStorable(doc, origin);
    const id = idKey(doc._id);
    if (this.docs.has(id)) throw this.dupError(this.indexes.get('_id_')!, [doc._id]);
    this.checkUnique(doc, id);
    this.docs.set(id, doc);
    this.countId(id, 1);
    for (const ix of this.indexes.values()) ix.add(doc, id);
    const bytes = bsonOf(doc);
    tx.ops.push({ t: 'put', ns: this.ns, id, bytes });
    tx.undo.push(() => {
      this.docs.delete(id);
      this.countId(id, -1);
      const d = decodeBson(bytes);
      for (const ix of this.indexes.values()) ix.remove(d, id);
    });
  }

  /**
   * Only indexes whose keys differ between the two versions are touched: an update of one field leaves
   * the other indexes (and their unique checks) alone.
   */
  replace(oldDoc: Doc, newDoc: Doc, tx: WriteTx): void {
    checkStorable(newDoc, 'update');
    const id = idKey(oldDoc._id);
    const changes: [Index, string[], string[]][] = [];
    for (const ix of this.indexes.values()) {
      if (!ix.isBuilt) continue;
      const before = ix.keysOf(oldDoc);
      const after = ix.keysOf(newDoc);
      if (before.length === after.length && before.every((k, i) => k === after[i])) continue;
      changes.push([ix, before, after]);
    }
    for (const [ix, before, after] of changes) {
      if (!ix.unique) continue;
      for (const k of after) {
        if (before.includes(k) || ix.holderOtherThan(k, id) === undefined) continue;
        throw this.dupError(ix, ix.keyTuples(newDoc).find((t) => ix.encode(t) === k) ?? []);
      }
    }
    for (const [ix, before, after] of changes) {
      ix.removeKeys(before, id);
      ix.addKeys(after, id);
    }
    // the undo puts back what the store held, as it held it (its bytes), not the decoded object
    const stored = this.docs.peek(id) ?? oldDoc;
    this.docs.set(id, newDoc);
    tx.ops.push({ t: 'put', ns: this.ns, id, bytes: bsonOf(newDoc) });
    tx.undo.push(() => {
      for (const [ix, before, after] of changes) {
        ix.removeKeys(after, id);
        ix.addKeys(before, id);
      }
      this.docs.set(id, stored);
    });
  }

  remove(doc: Doc, tx: WriteTx): void {
    const id = idKey(doc._id);
    const stored = this.docs.peek(id);
    if (stored === undefined) return;
    this.docs.delete(id);
    this.countId(id, -1);
    for (const ix of this.indexes.values()) ix.remove(doc, id);
    tx.ops.push({ t: 'del', ns: this.ns, id });
    tx.undo.push(() => {
      this.docs.set(id, stored);
      this.countId(id, 1);
      const d = stored instanceof Uint8Array ? decodeBson(stored) : stored;
      for (const ix of this.indexes.values()) ix.add(d, id);
    });
  }

  /** Builds a new index over the existing documents; a unique violation aborts the build. */
  addIndex(spec: IndexSpec): void {
    const ix = new Index(spec);
    for (const [id, doc] of this.docs) {
      if (ix.unique) {
        const key = ix.conflict(doc, id);
        if (key) throw this.dupError(ix, key);
      }
      ix.add(doc, id);
    }
    this.indexes.set(spec.name, ix);
  }

  dropIndex(name: string): void {
    this.indexes.delete(name);
  }

  findIndexByKey(key: Doc): Index | undefined {
    for (const ix of this.indexes.values()) {
      if (compareValues(ix.spec.key, key) === 0) return ix;
    }
    return undefined;
  }

  getById(id: unknown): Doc | undefined {
    return this.docs.get(idKey(id));
  }

  /** Documents whose TTL-indexed date lies before `cutoff`, found through the index's date range. */
  expired(ix: Index, cutoff: Date): Doc[] {
    const seen = new Set<string>();
    const out: Doc[] = [];
    for (const id of ix.scan([{ lo: new TypeBound(9, -1), loInc: true, hi: cutoff, hiInc: false }])) {
      if (seen.has(id)) continue;
      seen.add(id);
      const doc = this.docs.get(id);
      if (doc) out.push(doc);
    }
    return out;
  }
}
