import type { Camera } from '../contracts/cameras';

/**
 * In-process notification after a registry write (the polling engine reschedules, live push updates
 * its index). Delivered synchronously after the write is acknowledged; one event per point, also for
 * bulk imports. `camera` is the point as stored after the change (absent for deletes).
 */
export interface CameraChange {
  kind: 'upsert' | 'delete';
  id: string;
  regionId: string;
  camera?: Camera;
  /** The point was created by this write: `camera.status` is its first status, as the insert stored it. */
  created?: true;
}
