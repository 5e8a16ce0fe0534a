import type { Sharing } from '../contracts/vocabulary';
import type { Principal } from '../contracts/access';

/** What scope checks need of the region tree (regions/tree.ts is the one implementation). */
export interface RegionIndex {
  /** The region itself followed by its ancestors up to the root. Empty if unknown. */
  ancestorsOrSelf(regionId: string): string[];
  /** The region and every descendant. Empty if unknown. */
  subtree(regionId: string): string[];
}

/**
 * The part of a caller that decides which points it may see. Two callers with equal viewers see exactly
 * the same points (live push keys its rooms by `viewerKey`).
 */
export interface Viewer {
  /** Root of the caller's region subtree; null = global. */
  scopeRegionId: string | null;
  /** Technicians only: the maintainer organisation whose points they handle ('' when unset: sees none). */
  maintainerOrg: string | null;
}

/** A technician without an organisation matches no point (no point's organisation is this). */
const NO_ORG = '\u0001';

export function viewerOf(principal: Pick<Principal, 'role' | 'scopeRegionId' | 'maintainerOrg'>): Viewer {
  return { scopeRegionId: principal.scopeRegionId, maintainerOrg: principal.role === 'technician' ? principal.maintainerOrg || NO_ORG : null };
}

export function viewerKey(v: Viewer): string {
  const scope = v.scopeRegionId === null ? '*' : `s:${v.scopeRegionId}`;
  return v.maintainerOrg === null ? scope : `${scope}|o:${v.maintainerOrg}`;
}

/** What the rule reads of a point. */
export interface PointRef {
  regionId: string;
  sharing: Sharing;
  /** The maintainer organisation ('' = none). */
  org: string;
}

/**
 * The one visibility rule for camera points, as data: a point is visible when
 *
 * | condition                                                                                   |
 * |---------------------------------------------------------------------------------------------|
 * | sharing `all` (the shared pool), or                                                         |
 * | its region is the viewer's scope root or an ancestor of it (`ownRegionIds`), or             |
 * | sharing `up` and its region lies inside the viewer's subtree (`upRegionIds`)                |
 * | — and, for technicians, its maintainer organisation is theirs (`org`)                       |
 *
 * so `own` points are seen by their own tier and the tiers below, `up` points also by the tiers above.
 * Global viewers have no region condition (`regions` null). Returns null when nothing is restricted.
 * Rendered as a predicate here (`canSeePoint`) and as a store filter in cameras (`pointVisibilityFilter`);
 * a unit test evaluates both over the same points.
 */
export interface PointVisibility {
  regions: { ownRegionIds: string[]; upRegionIds: string[] } | null;
  org: string | null;
}

export function pointVisibility(viewer: Viewer, regions: RegionIndex): PointVisibility | null {
  if (viewer.scopeRegionId === null && viewer.maintainerOrg === null) return null;
  return {
    regions:
      viewer.scopeRegionId === null ? null : { ownRegionIds: regions.ancestorsOrSelf(viewer.scopeRegionId), upRegionIds: regions.subtree(viewer.scopeRegionId) },
    org: viewer.maintainerOrg,
  };
}

/** The rule for many points: build once per request / room, test each point in O(1). */
export function pointPredicate(viewer: Viewer, regions: RegionIndex): (p: PointRef) => boolean {
  const v = pointVisibility(viewer, regions);
  if (v === null) return () => true;
  const own = v.regions ? new Set(v.regions.ownRegionIds) : null;
  const up = v.regions ? new Set(v.regions.upRegionIds) : null;
  const org = v.org;
  return (p) => {
    if (org !== null && p.org !== org) return false;
    if (own === null || up === null || p.sharing === 'all') return true;
    return own.has(p.regionId) || (p.sharing === 'up' && up.has(p.regionId));
  };
}

/** Where a store keeps the rule's inputs, and how it stores region ids. */
export interface PointFields {
  regionId: string;
  sharing: string;
  org: string;
  id?: (regionId: string) => unknown;
}

/** The rule as a MongoDB filter over `fields` (null = no restriction); agrees with `pointPredicate`. */
export function pointFilter(viewer: Viewer, regions: RegionIndex, fields: PointFields): Record<string, unknown> | null {
  const v = pointVisibility(viewer, regions);
  if (v === null) return null;
  const id = fields.id ?? ((r: string): unknown => r);
  const and: Array<Record<string, unknown>> = [];
  if (v.regions) {
    and.push({
      $or: [
        { [fields.sharing]: 'all' },
        { [fields.regionId]: { $in: v.regions.ownRegionIds.map(id) } },
        { [fields.sharing]: 'up', [fields.regionId]: { $in: v.regions.upRegionIds.map(id) } },
      ],
    });
  }
  if (v.org !== null) and.push({ [fields.org]: v.org });
  if (and.length === 0) return null;
  return and.length === 1 ? and[0] : { $and: and };
}

/** The rule for one point, in O(tree depth) without building sets (an import asks it once per row). */
export function canSeePoint(viewer: Viewer, regions: RegionIndex, p: PointRef): boolean {
  if (viewer.maintainerOrg !== null && p.org !== viewer.maintainerOrg) return false;
  const scope = viewer.scopeRegionId;
  if (scope === null || p.sharing === 'all') return true;
  // own: the point's region is the scope root or above it; up: also when it lies inside the scope's subtree
  if (regions.ancestorsOrSelf(scope).includes(p.regionId)) return true;
  return p.sharing === 'up' && regions.ancestorsOrSelf(p.regionId).includes(scope);
}

/** Writes (edit, delete, import) are allowed only for points whose region lies inside the caller's subtree. */
export function regionInScope(principal: Pick<Principal, 'scopeRegionId'>, regions: RegionIndex, regionId: string): boolean {
  if (principal.scopeRegionId === null) return true;
  return regions.subtree(principal.scopeRegionId).includes(regionId);
}

/** A region node is visible to callers scoped to it, to an ancestor of it, or to a descendant (their path up). */
export function canSeeRegion(principal: Pick<Principal, 'scopeRegionId'>, regions: RegionIndex, regionId: string): boolean {
  if (principal.scopeRegionId === null) return true;
  return regionInScope(principal, regions, regionId) || regions.ancestorsOrSelf(principal.scopeRegionId).includes(regionId);
}

/** `canSeeRegion` for many nodes: the caller's subtree and his path up, built once per request. */
export function regionPredicate(principal: Pick<Principal, 'scopeRegionId'>, regions: RegionIndex): (regionId: string) => boolean {
  const scope = principal.scopeRegionId;
  if (scope === null) return () => true;
  const seen = new Set([...regions.subtree(scope), ...regions.ancestorsOrSelf(scope)]);
  return (regionId) => seen.has(regionId);
}
