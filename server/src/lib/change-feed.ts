export type Listener<E> = (event: E) => void;

/**
 * The one in-process change feed (registry changes, monitoring transitions). Delivery is synchronous, in
 * order, to every subscriber; a throwing subscriber is isolated (reported, not propagated) so one consumer
 * cannot starve the others.
 */
export class ChangeFeed<E> {
  private readonly listeners = new Set<Listener<E>>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {}

  subscribe(listener: Listener<E>): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  emit(event: E): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
