/** An entry knows its own slot so removal and re-keying are O(log n) without a lookup. */
export interface Deadline {
  dueAt: number;
  /** Index in the heap; -1 when not queued. */
  qIndex: number;
}

/** Binary min-heap on `dueAt`. At most one slot per entry: queuing an entry twice just moves it. */
export class DeadlineQueue<T extends Deadline> {
  private heap: T[] = [];

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
      if (dueAt < before) this.up(item.qIndex);
      else this.down(item.qIndex);
      return;
    }
    item.dueAt = dueAt;
    item.qIndex = this.heap.length;
    this.heap.push(item);
    this.up(item.qIndex);
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
    const item = this.heap[i];
    const last = this.heap.pop() as T;
    item.qIndex = -1;
    if (i < this.heap.length) {
      this.heap[i] = last;
      last.qIndex = i;
      this.up(i);
      this.down(last.qIndex);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    const item = h[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent].dueAt <= item.dueAt) break;
      h[i] = h[parent];
      h[i].qIndex = i;
      i = parent;
    }
    h[i] = item;
    item.qIndex = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const item = h[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r].dueAt < h[l].dueAt ? r : l;
      if (h[c].dueAt >= item.dueAt) break;
      h[i] = h[c];
      h[i].qIndex = i;
      i = c;
    }
    h[i] = item;
    item.qIndex = i;
  }
}
