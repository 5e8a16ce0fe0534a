import type { ConfirmedState } from '../contracts/live';

export type { ConfirmedState };

/**
 * One change of a point's confirmed state or of its FLAPPING mark — the only thing live push, alerts
 * and rollups consume. `id` = `${cameraId}:${seq}` is stable across restarts (the store's _id), so a
 * replayed transition cannot be written twice.
 */
export interface Transition {
  id: string;
  cameraId: string;
  regionId: string;
  seq: number;
  from: ConfirmedState;
  to: ConfirmedState;
  at: Date;
  reason: string | null;
  rttMs: number | null;
  /** The point's FLAPPING mark after this transition. A record with from === to is a change of the mark alone. */
  flapping: boolean;
  /** For DOWN: the first failed check of the run that led to it. */
  failingSince: Date | null;
}

export type TransitionListener = (t: Transition) => void;

/**
 * The one in-process change feed. Delivery is synchronous, in order, to every subscriber; a throwing
 * subscriber is isolated (reported, not propagated) so one consumer cannot starve the others.
 */
export class ChangeFeed {
  private readonly listeners = new Set<TransitionListener>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {}

  subscribe(listener: TransitionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(t: Transition): void {
    for (const l of this.listeners) {
      try {
        l(t);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
