import { expect } from 'chai';
import { Query } from 'mingo';
import { Types } from 'mongoose';
import type { Principal, Role } from '../../server/src/contracts/access';
import { canSeePoint as canSee, viewerOf, type RegionIndex } from '../../server/src/auth/scope';
import { pointRefOf, pointVisibilityFilter } from '../../server/src/cameras/visibility';
import type { Sharing } from '../../server/src/contracts/vocabulary';

/**
 * Tree:  D ─ S1 ─ C11
 *          │    └ C12
 *          └ S2 ─ C21
 */
const id = (c: string): string => c.repeat(24).slice(0, 24);
const D = id('d');
const S1 = id('1');
const S2 = id('2');
const C11 = id('a');
const C12 = id('b');
const C21 = id('c');
const parent: Record<string, string | null> = { [D]: null, [S1]: D, [S2]: D, [C11]: S1, [C12]: S1, [C21]: S2 };
const regions: RegionIndex = {
  ancestorsOrSelf: (r) => {
    const out: string[] = [];
    for (let cur: string | null | undefined = r; cur; cur = parent[cur]) out.push(cur);
    return out;
  },
  subtree: (r) => {
    const out = [r];
    for (let i = 0; i < out.length; i++) for (const [k, p] of Object.entries(parent)) if (p === out[i]) out.push(k);
    return out;
  },
};
const names: Record<string, string> = { [D]: 'D', [S1]: 'S1', [S2]: 'S2', [C11]: 'C11', [C12]: 'C12', [C21]: 'C21' };

function principal(scope: string | null, role: Role = 'operator', maintainerOrg?: string): Principal {
  return { kind: 'user', userId: 'u', username: 'u', role, scopeRegionId: scope, ...(maintainerOrg ? { maintainerOrg } : {}) };
}

interface Pt {
  regionId: string;
  sharing: Sharing;
  maintainer: { org: string };
}

/** Who sees a point registered at `at` with `sharing` (scopes listed by name), per the table in auth/scope.ts. */
const table: Array<{ at: string; sharing: Sharing; seenBy: string[] }> = [
  { at: C11, sharing: 'own', seenBy: ['C11'] },
  { at: C11, sharing: 'up', seenBy: ['C11', 'S1', 'D'] },
  { at: C11, sharing: 'all', seenBy: ['D', 'S1', 'S2', 'C11', 'C12', 'C21'] },
  { at: S1, sharing: 'own', seenBy: ['S1', 'C11', 'C12'] },
  { at: S1, sharing: 'up', seenBy: ['S1', 'C11', 'C12', 'D'] },
  { at: S1, sharing: 'all', seenBy: ['D', 'S1', 'S2', 'C11', 'C12', 'C21'] },
  { at: D, sharing: 'own', seenBy: ['D', 'S1', 'S2', 'C11', 'C12', 'C21'] },
  { at: D, sharing: 'up', seenBy: ['D', 'S1', 'S2', 'C11', 'C12', 'C21'] },
];

function canSeePoint(p: Principal, rs: RegionIndex, pt: Pt): boolean {
  return canSee(viewerOf(p), rs, pointRefOf(pt));
}

function visibleByFilter(p: Principal, pt: Pt): boolean {
  const f = pointVisibilityFilter(viewerOf(p), regions);
  if (f === null) return true;
  return new Query(f).test({ ...pt, regionId: new Types.ObjectId(pt.regionId) });
}

describe('point visibility by tier and sharing', () => {
  for (const row of table) {
    it(`when a point at ${names[row.at]} is shared "${row.sharing}", then exactly ${row.seenBy.join(', ')} see it (check and store filter agree)`, () => {
      const pt: Pt = { regionId: row.at, sharing: row.sharing, maintainer: { org: 'X' } };
      for (const scope of [D, S1, S2, C11, C12, C21]) {
        const p = principal(scope);
        const expected = row.seenBy.includes(names[scope]);
        expect(canSeePoint(p, regions, pt), `scope ${names[scope]}`).to.equal(expected);
        expect(visibleByFilter(p, pt), `filter, scope ${names[scope]}`).to.equal(expected);
      }
    });
  }

  it('when the caller is a global admin, then there is no restriction at all', () => {
    expect(pointVisibilityFilter(viewerOf(principal(null, 'admin')), regions)).to.equal(null);
    expect(canSeePoint(principal(null, 'admin'), regions, { regionId: C21, sharing: 'own', maintainer: { org: '' } })).to.equal(true);
  });

  it('when the caller is a technician, then only points of his maintainer organisation in scope are visible', () => {
    const tech = principal(S1, 'technician', 'OrgA');
    const mine: Pt = { regionId: C11, sharing: 'up', maintainer: { org: 'OrgA' } };
    const other: Pt = { regionId: C11, sharing: 'up', maintainer: { org: 'OrgB' } };
    const mineOutOfScope: Pt = { regionId: C21, sharing: 'own', maintainer: { org: 'OrgA' } };
    expect([canSeePoint(tech, regions, mine), canSeePoint(tech, regions, other), canSeePoint(tech, regions, mineOutOfScope)]).to.deep.equal([true, false, false]);
    expect([visibleByFilter(tech, mine), visibleByFilter(tech, other), visibleByFilter(tech, mineOutOfScope)]).to.deep.equal([true, false, false]);
  });

  it('when a technician has no maintainer organisation, then he sees no points', () => {
    const tech = principal(D, 'technician');
    const pt: Pt = { regionId: D, sharing: 'all', maintainer: { org: '' } };
    expect(canSeePoint(tech, regions, pt)).to.equal(false);
    expect(visibleByFilter(tech, pt)).to.equal(false);
  });
});
