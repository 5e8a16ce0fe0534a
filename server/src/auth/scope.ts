import type { Principal } from './principal';

/** What scope checks need to know about the region tree (implemented by the regions service). */
export interface RegionIndex {
  /** The region itself followed by its ancestors up to the root. Empty if unknown. */
  ancestorsOrSelf(regionId: string): string[];
  /** The region and every descendant. Empty if unknown. */
  subtree(regionId: string): string[];
}

export type Sharing = 'own' | 'up' | 'all';

/**
 * Visibility of a camera point follows its `sharing`:
 *
 * | sharing | who sees a point registered at region P                                   |
 * |---------|----------------------------------------------------------------------------|
 * | own     | users scoped to P's subtree (P's own tier and below)                       |
 * | up      | those, plus users scoped to an ancestor of P (the tiers above)             |
 * | all     | every authenticated user (the shared resource pool)                        |
 *
 * Global admins see everything. Returned as a MongoDB filter on `regionId` / `sharing`, or null for "no
 * restriction". Region ids are compared as strings (the caller maps them to its id type).
 */
export function cameraVisibility(principal: Principal, regions: RegionIndex): { ownRegionIds: string[]; upRegionIds: string[] } | null {
  if (principal.scopeRegionId === null) return null;
  return {
    // sharing own/up/all: visible when the point's region is the caller's scope root or an ancestor of it
    ownRegionIds: regions.ancestorsOrSelf(principal.scopeRegionId),
    // sharing up: also visible when the point's region lies inside the caller's subtree
    upRegionIds: regions.subtree(principal.scopeRegionId),
  };
}

export function canSeeCamera(principal: Principal, regions: RegionIndex, cam: { regionId: string; sharing: Sharing }): boolean {
  const v = cameraVisibility(principal, regions);
  if (v === null || cam.sharing === 'all') return true;
  if (v.ownRegionIds.includes(cam.regionId)) return true;
  return cam.sharing === 'up' && v.upRegionIds.includes(cam.regionId);
}

/** Writes (edit, delete, import) are allowed only for points whose region lies inside the caller's subtree. */
export function regionInScope(principal: Principal, regions: RegionIndex, regionId: string): boolean {
  if (principal.scopeRegionId === null) return true;
  return regions.subtree(principal.scopeRegionId).includes(regionId);
}

/** A region node is visible to callers scoped to it, to an ancestor of it, or to a descendant (their path up). */
export function canSeeRegion(principal: Principal, regions: RegionIndex, regionId: string): boolean {
  if (principal.scopeRegionId === null) return true;
  return regionInScope(principal, regions, regionId) || regions.ancestorsOrSelf(principal.scopeRegionId).includes(regionId);
}
