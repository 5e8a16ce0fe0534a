/**
 * A collection's documents by _id key. A document that has not been read since it was written or loaded
 * is held only as its BSON bytes; the first read decodes it and keeps the object. A bulk insert therefore
 * leaves one Buffer per document behind instead of a tree of objects the garbage collector must copy
 * and mark, while documents that queries touch stay decoded for fast matching.
 */
import type { Doc } from './compare';
import { decodeBson, rawBson } from './wire';

export class DocStore {
  private readonly map = new Map<string, Doc | Buffer>();

  get size(): number {
    return this.map.size;
  }

  has(id: string): boolean {
    return this.map.has(id);
  }

  get(id: string): Doc | undefined {
    const v = this.map.get(id);
    if (v === undefined || !(v instanceof Uint8Array)) return v;
    return this.decode(id, v);
  }

  /** The document, or its BSON bytes when it has not been decoded yet (nothing is decoded here). */
  peek(id: string): Doc | Buffer | undefined {
    return this.map.get(id);
  }

  /** Stores the document; when its bytes are known, only the bytes are kept until it is next read. */
  set(id: string, doc: Doc): void {
    this.map.set(id, rawBson.get(doc) ?? doc);
  }

  delete(id: string): boolean {
    return this.map.delete(id);
  }

  *entries(): Generator<[string, Doc]> {
    for (const [id, v] of this.map) yield [id, v instanceof Uint8Array ? this.decode(id, v) : v];
  }

  *values(): Generator<Doc> {
    for (const [id, v] of this.map) yield v instanceof Uint8Array ? this.decode(id, v) : v;
  }

  /**
   * Every document as stored, nothing decoded: a match-all scan that hands bytes to the cursor (a raw find
   * with a projection) must not decode and keep every document of the collection.
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

  private decode(id: string, bytes: Buffer): Doc {
    const doc = decodeBson(bytes);
    rawBson.set(doc, bytes);
    this.map.set(id, doc);
    return doc;
  }
}
