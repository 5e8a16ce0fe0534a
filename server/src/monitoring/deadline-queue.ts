/** An entry knows its own slot so removal and re-keying are O(log n) without a lookup. */
export interface Deadline {
  dueAt: number;
  /** Index in the heap; -1 when not queued. */
  qIndex: number;
}

/**
 * Min-heap on `dueAt`, 4-ary, with the keys in a parallel Float64Array: sifting compares numbers in one
 * contiguous array instead of following a pointer to each entry (a 300,000-entry heap does not fit in
 * cache; this keeps pop + re-queue around a microsecond). At most one slot per entry: queuing an entry
 * twice just moves it.
 */
export class DeadlineQueue<T extends Deadline> {
  private heap: T[] = [];
  private keys = new Float64Array(1024);

  get size(): number {
    return this.heap.length;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  has(item: T): boolean {
    return item.qIndex >= 0 && this.heap[item.qIndex] === item;
  }

  /** Inserts, or moves an already queued entry to its new `dueAt`. */
  set(item: T, dueAt: number): void {
    if (this.has(item)) {
      const before = item.dueAt;
      item.dueAt = dueAt;
      this.keys[item.qIndex] = dueAt;
      if (dueAt < before) this.up(item.qIndex);
      else this.down(item.qIndex);
      return;
    }
    item.dueAt = dueAt;
    const i = this.heap.length;
    if (i >= this.keys.length) {
      const grown = new Float64Array(this.keys.length * 2);
      grown.set(this.keys);
      this.keys = grown;
    }
    this.heap.push(item);
    this.keys[i] = dueAt;
    item.qIndex = i;
    this.up(i);
  }

  pop(): T | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    this.removeAt(0);
    return top;
  }

  remove(item: T): boolean {
    if (!this.has(item)) return false;
    this.removeAt(item.qIndex);
    return true;
  }

  private removeAt(i: number): void {
    const h = this.heap;
    const item = h[i];
    const last = h.pop() as T;
    item.qIndex = -1;
    const n = h.length;
    if (i < n) {
      h[i] = last;
      this.keys[i] = this.keys[n];
      last.qIndex = i;
      this.up(i);
      this.down(last.qIndex);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    const k = this.keys;
    const item = h[i];
    const key = k[i];
    while (i > 0) {
      const parent = (i - 1) >> 2;
      if (k[parent] <= key) break;
      h[i] = h[parent];
      k[i] = k[parent];
      h[i].qIndex = i;
      i = parent;
    }
    h[i] = item;
    k[i] = key;
    item.qIndex = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const k = this.keys;
    const n = h.length;
    const item = h[i];
    const key = k[i];
    for (;;) {
      const first = 4 * i + 1;
      if (first >= n) break;
      let c = first;
      let ck = k[first];
      const end = Math.min(first + 4, n);
      for (let j = first + 1; j < end; j++) {
        if (k[j] < ck) {
          c = j;
          ck = k[j];
        }
      }
      if (ck >= key) break;
      h[i] = h[c];
      k[i] = ck;
      h[i].qIndex = i;
      i = c;
    }
    h[i] = item;
    k[i] = key;
    item.qIndex = i;
  }
}
