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

/**
 * The slots of a table: id → slot (one hash-map entry a point, the id string shared with whoever else holds
 * it), slot → id, and a free list so a deleted point's slot serves the next new one. Columns are created
 * through the table and grow with it. A table made with `{ idOfSlot: false }` keeps no slot → id (8 bytes a
 * slot less) for an owner that only ever goes from an id to its slot; `id()` then throws.
 */
export class SlotTable {
  private readonly slotOf = new Map<string, number>();
  private readonly idOf: Array<string | undefined> = [];
  private free: number[] = [];
  private capacity: number;
  private readonly columns: Growable[] = [];
  private readonly keepIds: boolean;
  /** The next slot never handed out (idOf's length when ids are kept). */
  private top = 0;

  constructor(initialCapacity = 1024, options: { idOfSlot?: boolean } = {}) {
    this.capacity = Math.max(16, initialCapacity);
    this.keepIds = options.idOfSlot ?? true;
  }

  get size(): number {
    return this.slotOf.size;
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
    return this.slotOf.get(id) ?? -1;
  }

  has(id: string): boolean {
    return this.slotOf.has(id);
  }

  /** The id held in `slot` (undefined: free). */
  id(slot: number): string | undefined {
    if (!this.keepIds) throw new Error('SlotTable: made without slot → id');
    return this.idOf[slot];
  }

  /** The slot of `id`, taken (a freed one first) when it had none: its columns then read their `empty`. */
  add(id: string): number {
    const have = this.slotOf.get(id);
    if (have !== undefined) return have;
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.top++;
      if (slot >= this.capacity) {
        this.capacity = Math.ceil(this.capacity * 1.5);
        for (const c of this.columns) c.grow(this.capacity);
      }
      if (this.keepIds) this.idOf.push(id);
    } else if (this.keepIds) this.idOf[slot] = id;
    this.slotOf.set(id, slot);
    return slot;
  }

  /** Frees the slot of `id` (the caller resets the columns it reads); returns it, -1 when absent. */
  remove(id: string): number {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return -1;
    this.slotOf.delete(id);
    if (this.keepIds) this.idOf[slot] = undefined;
    this.free.push(slot);
    return slot;
  }

  /** Every (id, slot), in the order the ids were added. */
  entries(): IterableIterator<[string, number]> {
    return this.slotOf.entries();
  }

  ids(): IterableIterator<string> {
    return this.slotOf.keys();
  }

  /** Every slot in use, in the order the ids were added. */
  slots(): IterableIterator<number> {
    return this.slotOf.values();
  }

  /** Drops every slot (columns keep their size; the caller resets what it reads or makes a new table). */
  clear(): void {
    this.slotOf.clear();
    this.idOf.length = 0;
    this.top = 0;
    this.free = [];
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
