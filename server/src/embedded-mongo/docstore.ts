/**
 * A collection's documents by _id key, each held as its BSON bytes: one Buffer per document instead of a
 * tree of ~65 objects (a camera point's nested objects, its searchTokens strings, …). The store's major
 * GCs mark every live object, so 300,000 decoded points (which the monitoring engine's status updates
 * would eventually produce) made each one several times longer than the indexes alone do.
 *
 * A read decodes the bytes. The decoded object is kept only in a small bounded cache, for documents read
 * again soon (a list page re-read, the documents a filtered scan tests on every request). Admission takes
 * a second read within a while: a document decoded once (an update looks it up, then replaces it; a
 * one-off scan) only leaves its id behind, so a stream of status updates cannot flush the cached pages.
 */
import type { Doc } from './compare';
import { decodeBson, decodeFields, rawBson } from './wire';

/** Decoded documents kept by default (a decoded camera point is ~65 heap objects: 16,384 points ≈ 1 M objects). */
export const DEFAULT_DOC_CACHE = 16_384;

export class DocStore {
  /** Bytes, or (only when set without known bytes, which Collection never does) the object as given. */
  private readonly map = new Map<string, Doc | Buffer>();
  /**
   * Decoded documents in admission order, each with a second-chance bit (CLOCK): a hit only sets the bit,
   * where moving the entry to the end of the Map (LRU) cost a delete and a set on each of the thousands of
   * hits of a filtered page.
   */
  private readonly hot = new Map<string, { doc: Doc; used: boolean }>();
  /** Ids decoded once and not cached, oldest first: a second read within this window admits the document. */
  private readonly seen = new Set<string>();

  /** Whole documents decoded from bytes so far (tests: a scan meant to read only some fields must not add any). */
  fullDecodes = 0;

  /** `cacheSize` decoded documents at most (0: none, every read decodes). */
  constructor(readonly cacheSize = DEFAULT_DOC_CACHE) {}

  get size(): number {
    return this.map.size;
  }

  /** How many decoded documents are held (tests; never more than cacheSize). */
  get cached(): number {
    return this.hot.size;
  }

  has(id: string): boolean {
    return this.map.has(id);
  }

  get(id: string): Doc | undefined {
    const v = this.map.get(id);
    if (v === undefined || !(v instanceof Uint8Array)) return v;
    const hit = this.hot.get(id);
    if (hit) {
      hit.used = true;
      return hit.doc;
    }
    const doc = this.decode(v);
    this.admit(id, doc);
    return doc;
  }

  /** The whole document, from the cache when it is there, else decoded without entering it (a full scan). */
  getUncached(id: string): Doc | undefined {
    const v = this.map.get(id);
    return v === undefined ? v : this.uncached(id, v);
  }

  /**
   * The document for testing a filter on its top-level `fields`: the cached object when there is one,
   * else only those fields decoded (a few µs, where a camera point's full decode is ~18 µs), with the full
   * bytes attached (bsonOf gives the whole document). Not cached. Only a caller that needs nothing but
   * these fields may read it; the whole document is get() or, to re-send it, peek().
   */
  getFields(id: string, fields: ReadonlySet<string>, admit = false): Doc | undefined {
    const v = this.map.get(id);
    if (v === undefined || !(v instanceof Uint8Array)) return v;
    const hit = this.hot.get(id);
    if (hit) {
      if (admit) hit.used = true;
      return hit.doc;
    }
    // `admit`: a second read within the window decodes the whole document into the cache, as get() does, so
    // a filtered scan run again and again over the same few thousand documents finds them cached; a scan
    // over more documents than the window holds never gets a second read in and decodes none whole
    if (admit && this.seen.has(id)) return this.get(id);
    if (admit) this.see(id);
    return decodeFields(v, fields);
  }

  /** The stored BSON bytes (or the object, when it was stored without bytes); nothing is decoded here. */
  peek(id: string): Doc | Buffer | undefined {
    return this.map.get(id);
  }

  /**
   * Stores the document as its bytes when they are known (Collection attaches them to every document it
   * writes; storage writes the same bytes). The caller keeps using its object; the store does not.
   */
  set(id: string, doc: Doc | Buffer): void {
    this.forget(id);
    this.map.set(id, doc instanceof Uint8Array ? doc : (rawBson.get(doc) ?? doc));
  }

  delete(id: string): boolean {
    this.forget(id);
    return this.map.delete(id);
  }

  /** Every document, decoded one by one; a full scan uses cached objects but does not fill the cache. */
  *entries(): Generator<[string, Doc]> {
    for (const [id, v] of this.map) yield [id, this.uncached(id, v)];
  }

  *values(): Generator<Doc> {
    for (const [id, v] of this.map) yield this.uncached(id, v);
  }

  /** Every id, nothing decoded. */
  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  /**
   * Every document as stored, nothing decoded: a match-all scan that hands bytes to the cursor (a raw find
   * with a projection) must not decode every document of the collection.
   */
  peekValues(): IterableIterator<Doc | Buffer> {
    return this.map.values();
  }

  [Symbol.iterator](): Generator<[string, Doc]> {
    return this.entries();
  }

  /** Total BSON size, without decoding anything. */
  byteSize(): number {
    let n = 0;
    for (const v of this.map.values()) n += v instanceof Uint8Array ? v.length : (rawBson.get(v)?.length ?? 0);
    return n;
  }

  /** The cached object, else the stored value decoded without entering the cache. */
  private uncached(id: string, v: Doc | Buffer): Doc {
    return v instanceof Uint8Array ? (this.hot.get(id)?.doc ?? this.decode(v)) : v;
  }

  private decode(bytes: Buffer): Doc {
    this.fullDecodes++;
    const doc = decodeBson(bytes);
    rawBson.set(doc, bytes);
    return doc;
  }

  private admit(id: string, doc: Doc): void {
    if (this.cacheSize <= 0) return;
    if (!this.seen.delete(id)) {
      this.see(id);
      return;
    }
    this.hot.set(id, { doc, used: false });
    if (this.hot.size > this.cacheSize) this.evictOne();
  }

  private see(id: string): void {
    if (this.cacheSize <= 0) return;
    this.seen.add(id);
    if (this.seen.size > this.cacheSize) this.seen.delete(this.seen.values().next().value as string);
  }

  /** Drops the oldest entry not used since it was last passed over; used ones go to the end, once. */
  private evictOne(): void {
    for (const [id, e] of this.hot) {
      this.hot.delete(id);
      if (!e.used) return;
      e.used = false;
      this.hot.set(id, e);
    }
  }

  private forget(id: string): void {
    if (this.hot.size) this.hot.delete(id);
    if (this.seen.size) this.seen.delete(id);
  }
}
