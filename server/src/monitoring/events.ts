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
