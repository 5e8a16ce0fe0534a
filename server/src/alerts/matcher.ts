import type { PointMatcher } from '../contracts/incidents';
import type { RegionTree } from '../regions/tree';
import type { AlertPoint } from './incidents/engine';

/** What a matcher reads of a point. */
export type MatchedPoint = Pick<AlertPoint, 'id' | 'regionId' | 'gridId' | 'org' | 'tags'>;

/**
 * Whether a matcher (of a silence or a maintenance window) covers a point: every criterion given must hold —
 * one of the listed points, inside one of the region subtrees (its region or its grid), one of the
 * organisations, and every listed tag.
 */
export function matcherCovers(m: PointMatcher, p: MatchedPoint, tree: RegionTree): boolean {
  if (m.pointIds.length && !m.pointIds.includes(p.id)) return false;
  if (m.regionIds.length && !m.regionIds.some((r) => tree.within(r, p.regionId) || (p.gridId !== null && tree.within(r, p.gridId)))) return false;
  if (m.orgs.length && !m.orgs.includes(p.org)) return false;
  if (m.tags.length && !m.tags.every((t) => p.tags.includes(t))) return false;
  return true;
}

/**
 * The same rule as `matcherCovers`, compiled once for many points (a maintenance window over a province's
 * 300,000 points): listed points, subtrees and organisations become sets. A unit test holds the two equal.
 */
export function compileMatcher(m: PointMatcher, tree: RegionTree): (p: MatchedPoint) => boolean {
  const ids = m.pointIds.length ? new Set(m.pointIds) : null;
  const subtrees = m.regionIds.length ? m.regionIds.map((r) => tree.subtreeSet(r)) : null;
  const orgs = m.orgs.length ? new Set(m.orgs) : null;
  const tags = m.tags.length ? m.tags : null;
  return (p) => {
    if (ids && !ids.has(p.id)) return false;
    if (subtrees && !subtrees.some((s) => s.has(p.regionId) || (p.gridId !== null && s.has(p.gridId)))) return false;
    if (orgs && !orgs.has(p.org)) return false;
    if (tags && !tags.every((t) => p.tags.includes(t))) return false;
    return true;
  };
}
