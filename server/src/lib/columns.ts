/**
 * Column storage for per-point state kept in memory (live push, alerting, reports each hold every point of
 * the registry: a million after a large import). An object per point costs a header, a hidden-class slot
 * per field, boxed doubles for times and a hash-map entry before any value; here a point is a slot number,
 * each field a typed array (strings as text columns outside the JS heap, or a plain array where they must stay
 * JS values), and recurring values (region ids, organisations, tag lists) are small integer codes of a
 * dictionary. A freed slot is reused.
 */

/** The growable columns of a table, one value per slot. */
interface Growable {
  grow(capacity: number): void;
}

type NumberArray = Uint8Array | Int32Array | Uint32Array | Float64Array;

/**
 * Slots per page of a column. Past its first page a column grows by whole pages, never copied: grown by
 * copying into an array 1.5× its size, a million-point column and its copy were both alive until collected
 * (~130 MB at once over all columns, at the last growth of a large import), and up to a third of it was
 * never used.
 */
const PAGE_BITS = 16;
const PAGE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE - 1;

/**
 * One number per slot, in typed-array pages; `empty` is what a new or freed slot reads. A page is made
 * when a value other than `empty` is first written into it: a column most points leave empty (the last
 * check of points never probed, a grid most points lack) costs nothing for them.
 */
export class NumberColumn<A extends NumberArray> implements Growable {
  private readonly pages: Array<A | undefined> = [];
  private capacity = 0;
  /** NaN as the empty value (a typed array's NaN is never `===` to itself). */
  private readonly emptyNaN: boolean;

  constructor(
    private readonly alloc: (n: number) => A,
    private readonly empty: number,
    capacity: number,
  ) {
    this.emptyNaN = Number.isNaN(empty);
    this.grow(capacity);
  }

  /** Slots this column holds (its table's capacity). */
  get length(): number {
    return this.capacity;
  }

  /** Bytes of the pages made so far. */
  get bytes(): number {
    let n = 0;
    for (const p of this.pages) if (p !== undefined) n += p.byteLength;
    return n;
  }

  get(slot: number): number {
    const page = this.pages[slot >>> PAGE_BITS];
    return page === undefined ? this.empty : page[slot & PAGE_MASK];
  }

  set(slot: number, v: number): void {
    const p = slot >>> PAGE_BITS;
    let page = this.pages[p];
    if (page === undefined) {
      if (v === this.empty || (this.emptyNaN && Number.isNaN(v))) return;
      page = this.make(p);
    }
    page[slot & PAGE_MASK] = v;
  }

  reset(slot: number): void {
    this.set(slot, this.empty);
  }

  grow(capacity: number): void {
    if (capacity <= this.capacity) return;
    if (this.capacity < PAGE) {
      // the first page grows by copying, up to a whole page (small tables stay small)
      const first = this.pages[0];
      const size = Math.min(capacity, PAGE);
      if (first !== undefined) {
        const bigger = this.alloc(size);
        bigger.set(first);
        if (this.empty !== 0) bigger.fill(this.empty, first.length);
        this.pages[0] = bigger;
      } else if (this.pages.length === 0) this.pages.push(undefined);
      this.capacity = size;
    }
    while (this.capacity < capacity) {
      this.pages.push(undefined);
      this.capacity += PAGE;
    }
  }

  private make(p: number): A {
    if (p >= this.pages.length) throw new RangeError(`slot beyond the column's ${this.capacity} slots`);
    const page = this.alloc(p === 0 ? Math.min(this.capacity, PAGE) : PAGE);
    if (this.empty !== 0) page.fill(this.empty);
    this.pages[p] = page;
    return page;
  }
}

/** One value per slot in plain-array pages (strings that must stay whole, e.g. names and addresses). */
export class ValueColumn<T> implements Growable {
  private readonly pages: T[][] = [];

  constructor(private readonly empty: T) {}

  get(slot: number): T {
    const page = this.pages[slot >>> PAGE_BITS];
    const i = slot & PAGE_MASK;
    return page !== undefined && i < page.length ? page[i] : this.empty;
  }

  set(slot: number, v: T): void {
    const p = slot >>> PAGE_BITS;
    const i = slot & PAGE_MASK;
    // an empty value past the end reads as empty already: nothing to store (most points have no reason)
    if (v === this.empty && (p >= this.pages.length || i >= this.pages[p].length)) return;
    while (this.pages.length <= p) this.pages.push([]);
    const page = this.pages[p];
    // filled in order: a hole would turn the array into a dictionary
    while (page.length < i) page.push(this.empty);
    page[i] = v;
  }

  reset(slot: number): void {
    const page = this.pages[slot >>> PAGE_BITS];
    const i = slot & PAGE_MASK;
    if (page !== undefined && i < page.length) page[i] = this.empty;
  }

  grow(): void {
    // a plain array grows by itself
  }
}

/** Bytes per page of a text column's characters. */
const TEXT_PAGE_BITS = 20;
const TEXT_PAGE = 1 << TEXT_PAGE_BITS;
/** Strings longer than this (bytes as stored) stay JS strings in a map: a page is never mostly one string. */
const TEXT_MAX_INLINE = 4096;
/** `len` of a slot whose string is in the overflow map. */
const TEXT_OVERFLOW = 0xffff_ffff;

/**
 * One string per slot (names, addresses, codes: a million of each after a large import), its characters kept
 * outside the JS heap in pages of 1 MiB: one byte a character when every code unit is below 256 (codes,
 * Latin text), two otherwise (UTF-16, exactly as the string holds it: lone surrogates survive), and 8 bytes a
 * slot for where it is. A JS string costs a 16-byte header and a pointer besides its characters, and lives in
 * the heap that V8 lets grow by a factor over what it keeps (lib/runtime.ts). Reading makes a new string.
 * A replaced or reset string's bytes stay until more than half of the pages are such dead bytes; the live ones
 * are then copied into new pages (in slot order).
 */
export class TextColumn {
  private pages: Buffer[] = [];
  /** Next free byte in the last page. */
  private fill = TEXT_PAGE;
  private liveBytes = 0;
  private deadBytes = 0;
  private readonly overflow = new Map<number, string>();

  /**
   * `at`: where a slot's bytes start (page × TEXT_PAGE + offset); `len`: its length in bytes × 2, + 1 when
   * stored one byte a character (0: the empty string; TEXT_OVERFLOW: in `overflow`). Columns of the table.
   */
  constructor(
    private readonly at: NumberColumn<Uint32Array>,
    private readonly len: NumberColumn<Uint32Array>,
    private readonly top: () => number,
  ) {}

  /** Bytes of the pages (characters, dead ones included), without the two slot columns. */
  get bytes(): number {
    return this.pages.length * TEXT_PAGE;
  }

  get(slot: number): string {
    const l = this.len.get(slot);
    if (l === 0) return '';
    if (l === TEXT_OVERFLOW) return this.overflow.get(slot) ?? '';
    const at = this.at.get(slot);
    const page = this.pages[at >>> TEXT_PAGE_BITS];
    const from = at & (TEXT_PAGE - 1);
    return page.toString(l & 1 ? 'latin1' : 'utf16le', from, from + (l >>> 1));
  }

  set(slot: number, v: string): void {
    this.reset(slot);
    if (v.length === 0) return;
    let oneByte = true;
    for (let i = 0; i < v.length && oneByte; i++) oneByte = v.charCodeAt(i) < 256;
    const n = oneByte ? v.length : 2 * v.length;
    if (n > TEXT_MAX_INLINE) {
      this.overflow.set(slot, v);
      this.len.set(slot, TEXT_OVERFLOW);
      return;
    }
    if (this.fill + n > TEXT_PAGE) {
      // a position is page × 1 MiB + offset in 32 bits
      if (this.pages.length >= 2 ** (32 - TEXT_PAGE_BITS)) throw new RangeError('text column full (4 GiB)');
      this.pages.push(Buffer.allocUnsafe(TEXT_PAGE));
      this.fill = 0;
    }
    const p = this.pages.length - 1;
    this.pages[p].write(v, this.fill, n, oneByte ? 'latin1' : 'utf16le');
    this.at.set(slot, p * TEXT_PAGE + this.fill);
    this.len.set(slot, n * 2 + (oneByte ? 1 : 0));
    this.fill += n;
    this.liveBytes += n;
  }

  reset(slot: number): void {
    const l = this.len.get(slot);
    if (l === 0) return;
    this.len.set(slot, 0);
    this.at.set(slot, 0);
    if (l === TEXT_OVERFLOW) {
      this.overflow.delete(slot);
      return;
    }
    this.liveBytes -= l >>> 1;
    this.deadBytes += l >>> 1;
    if (this.deadBytes > TEXT_PAGE && this.deadBytes > this.liveBytes) this.compact();
  }

  /** Copies the live strings into new pages (the old ones go to the collector). */
  private compact(): void {
    const old = this.pages;
    this.pages = [];
    this.fill = TEXT_PAGE;
    const top = this.top();
    for (let s = 0; s < top; s++) {
      const l = this.len.get(s);
      if (l === 0 || l === TEXT_OVERFLOW) continue;
      const n = l >>> 1;
      if (this.fill + n > TEXT_PAGE) {
        this.pages.push(Buffer.allocUnsafe(TEXT_PAGE));
        this.fill = 0;
      }
      const at = this.at.get(s);
      const from = at & (TEXT_PAGE - 1);
      old[at >>> TEXT_PAGE_BITS].copy(this.pages[this.pages.length - 1], this.fill, from, from + n);
      this.at.set(s, (this.pages.length - 1) * TEXT_PAGE + this.fill);
      this.fill += n;
    }
    this.deadBytes = 0;
  }
}

/** Value of each lowercase hex digit by char code, -1 for every other character below 128. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
/** Bytes of an id kept as bytes: a 24-digit lowercase hex string (an ObjectId, the registry's ids). */
const ID_BYTES = 12;

/**
 * Point ids ↔ slot numbers, one space for the whole process: every capability that keeps points (polling's
 * sleeping points, live push, its catalog, alerting, the reports index) numbers a point by the same slot and
 * keeps its own columns by it (a `SlotTable` is one capability's view). A slot is freed when the last table
 * holding it lets it go, then serves the next new id.
 *
 * The registry's ids (24 lowercase hex digits) are kept as their 12 bytes in a column, found through an
 * open-addressing hash index of slot numbers (linear probing, at most half full, backward-shift deletion):
 * ~40 bytes a point once (with the holders' count and a generation per slot), no string kept. (A `Map` per capability cost ~45 bytes each and kept the id string
 * alive, ~40 more: five of them were ~270 bytes a point after a million-row import.) Other ids (tests,
 * fixtures) go through a plain map each way. `id(slot)` makes the string anew each time.
 */
export class IdSpace {
  /** Slot → the 12 bytes of its hex id. */
  private idBytes: Uint8Array;
  /** The same memory as a Buffer (its hex encoder makes `id()`). */
  private idBuf: Buffer;
  /** Slot → 0 free, 1 hex id in `idBytes`, 2 another id (`otherId`). */
  private kind: Uint8Array;
  /** Slot → how many tables hold it. */
  private refs: Uint32Array;
  /** Slot → how many times it was taken for an id (a snapshot tells a slot given to another id meanwhile). */
  private gens: Uint32Array;
  /** Slot + 1 per bucket (0: empty); a power of two long, never more than half full. */
  private buckets = new Int32Array(64);
  private hexCount = 0;
  private readonly otherSlot = new Map<string, number>();
  private readonly otherId = new Map<number, string>();
  private readonly scratch = new Uint8Array(ID_BYTES);
  private free: number[] = [];
  /** The next slot never handed out. */
  private next = 0;
  private slots: number;
  /** The tables over this space: their columns grow with it (weakly held: a dropped table lets go by itself). */
  private readonly tables = new Set<WeakRef<SlotTable>>();
  private readonly dropped = new FinalizationRegistry<{ member: NumberColumn<Uint8Array>; ref: WeakRef<SlotTable> }>(({ member, ref }) => {
    this.tables.delete(ref);
    for (let s = 0; s < member.length; s++) if (member.get(s) === 1) this.release(s);
  });

  constructor(initialCapacity = 1024) {
    this.slots = Math.max(16, initialCapacity);
    this.idBytes = new Uint8Array(this.slots * ID_BYTES);
    this.idBuf = Buffer.from(this.idBytes.buffer, this.idBytes.byteOffset, this.idBytes.byteLength);
    this.kind = new Uint8Array(this.slots);
    this.refs = new Uint32Array(this.slots);
    this.gens = new Uint32Array(this.slots);
  }

  /** Slots the columns hold (they grow with it). */
  get capacity(): number {
    return this.slots;
  }

  /** Slots handed out so far: every slot in use is below it. */
  get top(): number {
    return this.next;
  }

  /** How many times `slot` was taken for an id. */
  generation(slot: number): number {
    return this.gens[slot];
  }

  /** Ids with a slot (held by at least one table). */
  get size(): number {
    return this.hexCount + this.otherSlot.size;
  }

  /** Tables register here so that their columns grow with the space; `member` is released when one is dropped. */
  attach(table: SlotTable, member: NumberColumn<Uint8Array>): void {
    const ref = new WeakRef(table);
    this.tables.add(ref);
    this.dropped.register(table, { member, ref });
  }

  /** The slot of `id`, -1 when no table holds it. */
  find(id: string): number {
    if (!this.parse(id)) return this.otherSlot.get(id) ?? -1;
    const e = this.buckets[this.bucketOf(this.scratch, 0)];
    return e === 0 ? -1 : e - 1;
  }

  /** The id held in `slot` (undefined: free). */
  id(slot: number): string | undefined {
    const k = slot < this.next ? this.kind[slot] : 0;
    if (k === 1) return this.idBuf.toString('hex', slot * ID_BYTES, slot * ID_BYTES + ID_BYTES);
    return k === 2 ? this.otherId.get(slot) : undefined;
  }

  /** The slot of `id` (taken, a freed one first, when it had none), held once more. */
  acquire(id: string): number {
    const hex = this.parse(id);
    let bucket = -1;
    if (hex) {
      bucket = this.bucketOf(this.scratch, 0);
      const e = this.buckets[bucket];
      if (e !== 0) {
        this.refs[e - 1]++;
        return e - 1;
      }
    } else {
      const have = this.otherSlot.get(id);
      if (have !== undefined) {
        this.refs[have]++;
        return have;
      }
    }
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.next++;
      if (slot >= this.slots) this.grow(Math.ceil(this.slots * 1.5));
    }
    this.refs[slot] = 1;
    this.gens[slot]++;
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

  /** Held once less; freed when no table holds it any more. */
  release(slot: number): void {
    if (slot >= this.next || this.kind[slot] === 0 || --this.refs[slot] > 0) return;
    if (this.kind[slot] === 1) {
      let i = this.bucketOf(this.idBytes, slot * ID_BYTES);
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
      this.otherSlot.delete(this.otherId.get(slot) as string);
      this.otherId.delete(slot);
    }
    this.kind[slot] = 0;
    this.free.push(slot);
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
    const refs = new Uint32Array(capacity);
    refs.set(this.refs);
    this.refs = refs;
    const gens = new Uint32Array(capacity);
    gens.set(this.gens);
    this.gens = gens;
    this.slots = capacity;
    for (const ref of this.tables) ref.deref()?.grow(capacity);
  }
}

/** The process's one id space (tests that count slots make their own). */
export const sharedIds = new IdSpace();

/**
 * One capability's points: which slots of the id space it holds, and its columns by slot (created through
 * the table, grown with the space). A slot another table still holds keeps its number; a slot taken anew
 * may have served another point here before, so the caller sets what it reads when it adds and resets it
 * when it removes.
 */
export class SlotTable {
  private readonly columns: Growable[] = [];
  /** 1 where this table holds the slot. */
  private readonly member: NumberColumn<Uint8Array>;
  private count = 0;

  constructor(private readonly space: IdSpace = sharedIds) {
    this.member = new NumberColumn((n) => new Uint8Array(n), 0, space.capacity);
    this.columns.push(this.member);
    space.attach(this, this.member);
  }

  get size(): number {
    return this.count;
  }

  u8(empty = 0): NumberColumn<Uint8Array> {
    return this.column(new NumberColumn((n) => new Uint8Array(n), empty, this.space.capacity));
  }

  i32(empty = 0): NumberColumn<Int32Array> {
    return this.column(new NumberColumn((n) => new Int32Array(n), empty, this.space.capacity));
  }

  u32(empty = 0): NumberColumn<Uint32Array> {
    return this.column(new NumberColumn((n) => new Uint32Array(n), empty, this.space.capacity));
  }

  f64(empty = 0): NumberColumn<Float64Array> {
    return this.column(new NumberColumn((n) => new Float64Array(n), empty, this.space.capacity));
  }

  values<T>(empty: T): ValueColumn<T> {
    return this.column(new ValueColumn(empty));
  }

  /** Strings kept outside the JS heap ('' for a new or reset slot; reset what a removed point held). */
  text(): TextColumn {
    return new TextColumn(this.u32(), this.u32(), () => this.end);
  }

  /** The slot of `id`, -1 when this table does not hold it. */
  slot(id: string): number {
    const s = this.space.find(id);
    return s !== -1 && this.member.get(s) === 1 ? s : -1;
  }

  has(id: string): boolean {
    return this.slot(id) !== -1;
  }

  /** The id held in `slot` (undefined: not held here). */
  id(slot: number): string | undefined {
    return slot < this.member.length && this.member.get(slot) === 1 ? this.space.id(slot) : undefined;
  }

  /** The slot of `id`, taken when this table did not hold it. */
  add(id: string): number {
    const have = this.slot(id);
    if (have !== -1) return have;
    const slot = this.space.acquire(id);
    this.member.set(slot, 1);
    this.count++;
    return slot;
  }

  /** Lets go of `id` (the caller resets the columns it reads); returns its slot, -1 when not held here. */
  remove(id: string): number {
    const slot = this.slot(id);
    if (slot === -1) return -1;
    this.member.set(slot, 0);
    this.count--;
    this.space.release(slot);
    return slot;
  }

  /** Every (id, slot) held here, in slot order. */
  *entries(): Generator<[string, number]> {
    for (const s of this.slots()) yield [this.space.id(s) as string, s];
  }

  *ids(): Generator<string> {
    for (const s of this.slots()) yield this.space.id(s) as string;
  }

  /**
   * The ids held now, for a pass that lets the event loop run between steps: the slots are taken at once
   * (8 bytes each with their generation), each id is made when reached, and one let go meanwhile is skipped.
   * (Making a million id strings up front held the loop ~100 ms.)
   */
  *idsSnapshot(): Generator<string> {
    // filled by a loop: `Uint32Array.from` over the slots (and again for the generations) took a million in
    // ~160 ms in one step (a /healthz probe over 200 ms in the million-row import, seen in a CPU profile)
    const all = new Uint32Array(this.count);
    let n = 0;
    for (const s of this.slots()) all[n++] = s;
    const slots = all.subarray(0, n);
    const gens = new Uint32Array(n);
    for (let i = 0; i < n; i++) gens[i] = this.space.generation(slots[i]);
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i];
      // let go meanwhile, or its slot given to another id since
      if (this.space.generation(s) !== gens[i]) continue;
      const id = this.id(s);
      if (id !== undefined) yield id;
    }
  }

  /** Every slot held here, in order. */
  *slots(): Generator<number> {
    const member = this.member;
    const end = this.end;
    for (let s = 0; s < end; s++) if (member.get(s) === 1) yield s;
  }

  /** Every slot this table may hold is below this. */
  private get end(): number {
    return Math.min(this.space.top, this.member.length);
  }

  /** Lets go of every slot (columns keep their values; the caller resets what it reads or makes a new table). */
  clear(): void {
    const member = this.member;
    for (let s = 0; s < member.length; s++) {
      if (member.get(s) !== 1) continue;
      member.set(s, 0);
      this.space.release(s);
    }
    this.count = 0;
  }

  /** Called by the space when it grows. */
  grow(capacity: number): void {
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
// code 0 is the empty string: a column of codes (grid, vendor, upstream device) makes no page for points without one
sharedCodes.code('');
export const sharedLists = new ListDictionary(sharedCodes);
