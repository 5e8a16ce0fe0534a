import type { Principal } from '../contracts/access';
import { canSeePoint, pointFilter, viewerOf, type PointRef, type RegionIndex, type Viewer } from '../auth/scope';
import { oid, type Filter } from './documents';
import type { CameraDoc } from './model';
import type { Camera } from '../contracts/cameras';

/** The part of a point the visibility rule reads, as the public shape holds it. */
export type VisiblePoint = { regionId: string; sharing: Camera['sharing']; maintainer: { org: string } };

/**
 * The store rendering of the one visibility rule (`pointVisibility` in auth/scope.ts) on the stored fields
 * `regionId`, `sharing` and `maintainer.org`. Null = no restriction. Must agree with `canSeePoint` (a unit
 * test evaluates both over the same points).
 */
export function pointVisibilityFilter(viewer: Viewer, regions: RegionIndex): Filter | null {
  return pointFilter(viewer, regions, { regionId: 'regionId', sharing: 'sharing', org: 'maintainer.org', id: oid });
}

/** The rule's input as a stored or public point holds it. */
export function pointRefOf(c: VisiblePoint): PointRef {
  return { regionId: c.regionId, sharing: c.sharing, org: c.maintainer.org };
}

export function canSeeCamera(principal: Principal, regions: RegionIndex, c: VisiblePoint): boolean {
  return canSeePoint(viewerOf(principal), regions, pointRefOf(c));
}

export function canSeeDoc(principal: Principal, regions: RegionIndex, d: Pick<CameraDoc, 'regionId' | 'sharing' | 'maintainer'>): boolean {
  return canSeeCamera(principal, regions, { regionId: d.regionId.toHexString(), sharing: d.sharing, maintainer: d.maintainer });
}
