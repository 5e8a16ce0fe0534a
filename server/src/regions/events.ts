/** In-process notification after a region change (live push and caches re-read the tree). */
export interface RegionChange {
  kind: 'upsert' | 'delete';
  id: string;
}

export type Listener<E> = (event: E) => void;

/** Tiny synchronous listener list; a throwing listener is logged and does not stop the others. */
export class ChangeFeed<E> {
  private readonly listeners = new Set<Listener<E>>();

  constructor(private readonly onError: (err: unknown) => void) {}

  subscribe(listener: Listener<E>): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  emit(event: E): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
