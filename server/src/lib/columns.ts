/**
 * Column storage for per-point state kept in memory (live push, alerting, reports each hold every point of
 * the registry: a million after a large import). An object per point costs a header, a hidden-class slot
 * per field, boxed doubles for times and a hash-map entry before any value; here a point is a slot number,
 * each field a typed array (or one plain array for strings that must stay strings), and recurring values
 * (region ids, organisations, tag lists) are small integer codes of a dictionary. A freed slot is reused.
 */

/** The growable columns of a table, one value per slot. */
interface Growable {
  grow(capacity: number): void;
}

type NumberArray = Uint8Array | Int32Array | Uint32Array | Float64Array;

/** One number per slot, in a typed array; `empty` is what a new or freed slot reads. */
export class NumberColumn<A extends NumberArray> implements Growable {
  data: A;

  constructor(
    private readonly alloc: (n: number) => A,
    private readonly empty: number,
    capacity: number,
  ) {
    this.data = alloc(capacity);
    if (empty !== 0) this.data.fill(empty);
  }

  get(slot: number): number {
    return this.data[slot];
  }

  set(slot: number, v: number): void {
    this.data[slot] = v;
  }

  reset(slot: number): void {
    this.data[slot] = this.empty;
  }

  grow(capacity: number): void {
    const next = this.alloc(capacity);
    next.set(this.data);
    if (this.empty !== 0) next.fill(this.empty, this.data.length);
    this.data = next;
  }
}

/** One value per slot in a plain array (strings that must stay whole, e.g. names and addresses). */
export class ValueColumn<T> implements Growable {
  private readonly data: T[] = [];

  constructor(private readonly empty: T) {}

  get(slot: number): T {
    return slot < this.data.length ? this.data[slot] : this.empty;
  }

  set(slot: number, v: T): void {
    // filled in order: a hole would turn the array into a dictionary
    while (this.data.length < slot) this.data.push(this.empty);
    this.data[slot] = v;
  }

  reset(slot: number): void {
    if (slot < this.data.length) this.data[slot] = this.empty;
  }

  grow(): void {
    // a plain array grows by itself
  }
}

/** Value of each lowercase hex digit by char code, -1 for every other character below 128. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
/** Bytes of an id kept as bytes: a 24-digit lowercase hex string (an ObjectId, the registry's ids). */
const ID_BYTES = 12;

/**
 * The slots of a table: id → slot, slot → id, and a free list so a deleted point's slot serves the next new
 * one. Columns are created through the table and grow with it.
 *
 * The registry's ids (24 lowercase hex digits) are kept as their 12 bytes in a column, found through an
 * open-addressing hash index of slot numbers (linear probing, at most half full, backward-shift deletion):
 * ~25 bytes a point, no string kept. A `Map` entry cost ~37 and kept the id string alive (~40 more), and
 * every capability holding points has a table of its own (a million after a large import). Other ids
 * (tests, fixtures) go through a plain map each way. `id(slot)` makes the string anew each time.
 */
export class SlotTable {
  /** Slot → the 12 bytes of its hex id. */
  private idBytes: Uint8Array;
  /** The same memory as a Buffer (its hex encoder makes `id()`). */
  private idBuf: Buffer;
  /** Slot → 0 free, 1 hex id in `idBytes`, 2 another id (`otherId`). */
  private kind: Uint8Array;
  /** Slot + 1 per bucket (0: empty); a power of two long, never more than half full. */
  private buckets = new Int32Array(64);
  private hexCount = 0;
  private readonly otherSlot = new Map<string, number>();
  private readonly otherId = new Map<number, string>();
  private readonly scratch = new Uint8Array(ID_BYTES);
  private free: number[] = [];
  private capacity: number;
  private readonly columns: Growable[] = [];
  /** The next slot never handed out. */
  private top = 0;

  constructor(initialCapacity = 1024) {
    this.capacity = Math.max(16, initialCapacity);
    this.idBytes = new Uint8Array(this.capacity * ID_BYTES);
    this.idBuf = Buffer.from(this.idBytes.buffer, this.idBytes.byteOffset, this.idBytes.byteLength);
    this.kind = new Uint8Array(this.capacity);
  }

  get size(): number {
    return this.hexCount + this.otherSlot.size;
  }

  u8(empty = 0): NumberColumn<Uint8Array> {
    return this.column(new NumberColumn((n) => new Uint8Array(n), empty, this.capacity));
  }

  i32(empty = 0): NumberColumn<Int32Array> {
    return this.column(new NumberColumn((n) => new Int32Array(n), empty, this.capacity));
  }

  u32(empty = 0): NumberColumn<Uint32Array> {
    return this.column(new NumberColumn((n) => new Uint32Array(n), empty, this.capacity));
  }

  f64(empty = 0): NumberColumn<Float64Array> {
    return this.column(new NumberColumn((n) => new Float64Array(n), empty, this.capacity));
  }

  values<T>(empty: T): ValueColumn<T> {
    return this.column(new ValueColumn(empty));
  }

  /** The slot of `id`, -1 when absent. */
  slot(id: string): number {
    if (!this.parse(id)) return this.otherSlot.get(id) ?? -1;
    const e = this.buckets[this.bucketOf(this.scratch, 0)];
    return e === 0 ? -1 : e - 1;
  }

  has(id: string): boolean {
    return this.slot(id) !== -1;
  }

  /** The id held in `slot` (undefined: free). */
  id(slot: number): string | undefined {
    const k = slot < this.top ? this.kind[slot] : 0;
    if (k === 1) return this.idBuf.toString('hex', slot * ID_BYTES, slot * ID_BYTES + ID_BYTES);
    return k === 2 ? this.otherId.get(slot) : undefined;
  }

  /** The slot of `id`, taken (a freed one first) when it had none: its columns then read their `empty`. */
  add(id: string): number {
    const hex = this.parse(id);
    let bucket = -1;
    if (hex) {
      bucket = this.bucketOf(this.scratch, 0);
      const e = this.buckets[bucket];
      if (e !== 0) return e - 1;
    } else {
      const have = this.otherSlot.get(id);
      if (have !== undefined) return have;
    }
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.top++;
      if (slot >= this.capacity) this.grow(Math.ceil(this.capacity * 1.5));
    }
    if (hex) {
      this.idBytes.set(this.scratch, slot * ID_BYTES);
      this.kind[slot] = 1;
      this.buckets[bucket] = slot + 1;
      if (++this.hexCount * 2 > this.buckets.length) this.rehash(this.buckets.length * 2);
    } else {
      this.kind[slot] = 2;
      this.otherSlot.set(id, slot);
      this.otherId.set(slot, id);
    }
    return slot;
  }

  /** Frees the slot of `id` (the caller resets the columns it reads); returns it, -1 when absent. */
  remove(id: string): number {
    let slot: number;
    if (this.parse(id)) {
      let i = this.bucketOf(this.scratch, 0);
      const e = this.buckets[i];
      if (e === 0) return -1;
      slot = e - 1;
      // backward-shift deletion: entries after the hole that may sit in it move up, so no search stops early
      const mask = this.buckets.length - 1;
      this.buckets[i] = 0;
      for (let j = (i + 1) & mask; this.buckets[j] !== 0; j = (j + 1) & mask) {
        const home = this.hashAt(this.idBytes, (this.buckets[j] - 1) * ID_BYTES) & mask;
        // the entry at j may move to i when its home is not cyclically within (i, j]
        if (i <= j ? home <= i || home > j : home <= i && home > j) {
          this.buckets[i] = this.buckets[j];
          this.buckets[j] = 0;
          i = j;
        }
      }
      this.hexCount--;
    } else {
      const have = this.otherSlot.get(id);
      if (have === undefined) return -1;
      slot = have;
      this.otherSlot.delete(id);
      this.otherId.delete(slot);
    }
    this.kind[slot] = 0;
    this.free.push(slot);
    return slot;
  }

  /** Every (id, slot), in slot order. */
  *entries(): Generator<[string, number]> {
    for (let s = 0; s < this.top; s++) if (this.kind[s] !== 0) yield [this.id(s) as string, s];
  }

  *ids(): Generator<string> {
    for (let s = 0; s < this.top; s++) if (this.kind[s] !== 0) yield this.id(s) as string;
  }

  /** Every slot in use, in order. */
  *slots(): Generator<number> {
    for (let s = 0; s < this.top; s++) if (this.kind[s] !== 0) yield s;
  }

  /** Drops every slot (columns keep their size; the caller resets what it reads or makes a new table). */
  clear(): void {
    this.kind.fill(0);
    this.buckets.fill(0);
    this.hexCount = 0;
    this.otherSlot.clear();
    this.otherId.clear();
    this.top = 0;
    this.free = [];
  }

  /** Reads a 24-digit lowercase hex id into `scratch`; false for any other id. */
  private parse(id: string): boolean {
    if (id.length !== 2 * ID_BYTES) return false;
    const out = this.scratch;
    for (let i = 0; i < ID_BYTES; i++) {
      const a = id.charCodeAt(2 * i);
      const b = id.charCodeAt(2 * i + 1);
      const hi = a < 128 ? HEX_VALUE[a] : -1;
      const lo = b < 128 ? HEX_VALUE[b] : -1;
      if ((hi | lo) < 0) return false;
      out[i] = (hi << 4) | lo;
    }
    return true;
  }

  /** FNV-1a over the 12 bytes, then mixed (ObjectIds differ mostly in their last bytes). */
  private hashAt(bytes: Uint8Array, at: number): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < ID_BYTES; i++) h = Math.imul(h ^ bytes[at + i], 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return (h ^ (h >>> 12)) >>> 0;
  }

  /** The bucket holding these bytes' slot, or the empty bucket where it would go. */
  private bucketOf(bytes: Uint8Array, at: number): number {
    const mask = this.buckets.length - 1;
    const ids = this.idBytes;
    for (let i = this.hashAt(bytes, at) & mask; ; i = (i + 1) & mask) {
      const e = this.buckets[i];
      if (e === 0) return i;
      const o = (e - 1) * ID_BYTES;
      let same = true;
      for (let k = 0; k < ID_BYTES && same; k++) same = ids[o + k] === bytes[at + k];
      if (same) return i;
    }
  }

  private rehash(size: number): void {
    const old = this.buckets;
    this.buckets = new Int32Array(size);
    for (const e of old) if (e !== 0) this.buckets[this.bucketOf(this.idBytes, (e - 1) * ID_BYTES)] = e;
  }

  private grow(capacity: number): void {
    const bytes = new Uint8Array(capacity * ID_BYTES);
    bytes.set(this.idBytes);
    this.idBytes = bytes;
    this.idBuf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const kind = new Uint8Array(capacity);
    kind.set(this.kind);
    this.kind = kind;
    this.capacity = capacity;
    for (const c of this.columns) c.grow(capacity);
  }

  private column<C extends Growable>(c: C): C {
    this.columns.push(c);
    return c;
  }
}

/**
 * Slots grouped by a key (points by region, by upstream device): a doubly linked list per key through two
 * columns, so membership costs 8 bytes a slot instead of a set entry, and adding or removing is O(1).
 * A list keeps the order slots were appended in, like a Set.
 */
export class SlotGroups {
  private readonly next: NumberColumn<Int32Array>;
  private readonly prev: NumberColumn<Int32Array>;
  /** The group each slot is in (-1: none). */
  private readonly groupOf: NumberColumn<Int32Array>;
  private readonly heads = new Map<number, { head: number; tail: number; size: number }>();

  constructor(table: SlotTable) {
    this.next = table.i32(-1);
    this.prev = table.i32(-1);
    this.groupOf = table.i32(-1);
  }

  group(slot: number): number {
    return this.groupOf.get(slot);
  }

  size(group: number): number {
    return this.heads.get(group)?.size ?? 0;
  }

  /** Puts `slot` last in `group` (out of the group it was in). */
  add(slot: number, group: number): void {
    if (this.groupOf.get(slot) !== -1) this.remove(slot);
    const h = this.heads.get(group);
    this.groupOf.set(slot, group);
    this.next.set(slot, -1);
    if (!h) {
      this.prev.set(slot, -1);
      this.heads.set(group, { head: slot, tail: slot, size: 1 });
      return;
    }
    this.prev.set(slot, h.tail);
    this.next.set(h.tail, slot);
    h.tail = slot;
    h.size++;
  }

  remove(slot: number): void {
    const group = this.groupOf.get(slot);
    if (group === -1) return;
    const h = this.heads.get(group);
    const p = this.prev.get(slot);
    const n = this.next.get(slot);
    if (p === -1) {
      if (h) h.head = n;
    } else this.next.set(p, n);
    if (n === -1) {
      if (h) h.tail = p;
    } else this.prev.set(n, p);
    this.groupOf.set(slot, -1);
    this.next.set(slot, -1);
    this.prev.set(slot, -1);
    if (h && --h.size === 0) this.heads.delete(group);
  }

  /** The slots of `group`, in the order they were added (do not move slots while iterating). */
  *slots(group: number): Generator<number> {
    for (let s = this.heads.get(group)?.head ?? -1; s !== -1; s = this.next.get(s)) yield s;
  }

  /** Calls `fn` for each slot of `group` (the fast form of `slots`). */
  forEach(group: number, fn: (slot: number) => void): void {
    for (let s = this.heads.get(group)?.head ?? -1; s !== -1; s = this.next.get(s)) fn(s);
  }

  clear(): void {
    this.heads.clear();
  }
}

/**
 * Codes for the values of a small vocabulary (region ids, organisations, vendors, group keys): each value
 * once, as a number a column can hold. Codes are never taken back (they would have to be found in every
 * column first), so only for values a district shares among many points.
 */
export class Dictionary {
  private readonly codes = new Map<string, number>();
  private readonly values: string[] = [];

  /** The code of `value`, given one if it had none. */
  code(value: string): number {
    let c = this.codes.get(value);
    if (c === undefined) {
      c = this.values.length;
      this.values.push(value);
      this.codes.set(value, c);
    }
    return c;
  }

  /** The code of `value`, -1 when it has none (a lookup never adds). */
  find(value: string): number {
    return this.codes.get(value) ?? -1;
  }

  value(code: number): string {
    return this.values[code];
  }

  get size(): number {
    return this.values.length;
  }
}

/** Codes for lists of strings (a point's tags): one frozen copy of each distinct list. */
export class ListDictionary {
  private readonly codes = new Map<string, number>();
  private readonly lists: Array<readonly string[]> = [Object.freeze([])];

  constructor(private readonly strings: Dictionary) {}

  /** The code of the list (0 = empty). */
  code(xs: readonly string[]): number {
    if (xs.length === 0) return 0;
    const key = xs.join('\u0000');
    let c = this.codes.get(key);
    if (c === undefined) {
      c = this.lists.length;
      this.lists.push(Object.freeze(xs.map((x) => this.strings.value(this.strings.code(x)))));
      this.codes.set(key, c);
    }
    return c;
  }

  value(code: number): readonly string[] {
    return this.lists[code];
  }
}

/**
 * The process's dictionaries: region and point ids, organisations, vendors and tags are coded once whichever
 * capability keeps them, so the same value is one string in the whole heap.
 */
export const sharedCodes = new Dictionary();
export const sharedLists = new ListDictionary(sharedCodes);
