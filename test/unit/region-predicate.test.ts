import { expect } from 'chai';
import { canSeeRegion, regionPredicate } from '../../server/src/auth/scope';
import { RegionTree, type RegionNode } from '../../server/src/regions/tree';

describe('regionPredicate (canSeeRegion for many nodes)', () => {
  const node = (id: string, tier: RegionNode['tier'], parentId: string | null): RegionNode => ({ id, name: id, tier, parentId, code: null, households: null });
  const tree = new RegionTree([
    node('D', 'district', null),
    node('S1', 'street', 'D'),
    node('S2', 'street', 'D'),
    node('C1', 'community', 'S1'),
    node('C2', 'community', 'S2'),
    node('G1', 'grid', 'C1'),
    node('G2', 'grid', 'C2'),
    node('E', 'district', null),
  ]);

  it('when asked for every node by callers of every scope, then it answers as canSeeRegion does', () => {
    const ids = [...tree.all().map((n) => n.id), 'unknown'];
    for (const scopeRegionId of [null, 'D', 'S1', 'C1', 'G1', 'E']) {
      const sees = regionPredicate({ scopeRegionId }, tree);
      const got = ids.filter((id) => tree.has(id) && sees(id));
      const want = ids.filter((id) => tree.has(id) && canSeeRegion({ scopeRegionId }, tree, id));
      expect(got, String(scopeRegionId)).to.deep.equal(want);
    }
    // a street caller sees his street, its subtree and the district above, not the other street
    const s1 = regionPredicate({ scopeRegionId: 'S1' }, tree);
    expect(['D', 'S1', 'C1', 'G1', 'S2', 'C2', 'E'].map(s1)).to.deep.equal([true, true, true, true, false, false, false]);
  });
});
