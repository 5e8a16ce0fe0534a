import { expect } from 'chai';
import type { CameraChange } from '../../server/src/cameras/events';
import type { Camera } from '../../server/src/contracts/cameras';
import { groupKeyOf, groupOfKey, PointIndex } from '../../server/src/reports/point-index';
import { pack, unpack } from '../../server/src/reports/sums';
import { heapUsedAfterGc } from '../../scripts/heap-used';

const KEY_PUBLIC = ['00', '01', '02', '03', '04', '05', '06', '07'];

/** A registry change as CameraService emits it (only the fields the index reads matter here). */
function upsert(id: string, regionId: string, sharing: 'own' | 'up' | 'all', org: string, industry = '00', gridId: string | null = null): CameraChange {
  const camera = { id, regionId, gridId, sharing, maintainer: { org, contact: '', phone: '' }, gbCode: `21030200${industry}1320000001`, name: id } as unknown as Camera;
  return { kind: 'upsert', id, regionId, camera };
}

/** The region of a point's group at an epoch (undefined: it did not exist then). */
const regionAt =
  (idx: PointIndex) =>
  (id: string, e: number): string | undefined => {
    const g = idx.groupAt(id, e);
    return g === null ? undefined : groupOfKey(g).regionId;
  };

describe('reports point index (groups of the online-rate sums)', () => {
  it('when points are added, then each is in the group of its region, sharing, organisation and classification', () => {
    const idx = new PointIndex(KEY_PUBLIC);
    idx.apply(upsert('a', 'r1', 'up', 'Org|A', '00', 'g1'));
    idx.apply(upsert('b', 'r1', 'own', 'OrgB', '11'));
    expect(groupOfKey(idx.get('a')?.group ?? '')).to.deep.equal({ regionId: 'r1', gridId: 'g1', sharing: 'up', cls: 'key-public', org: 'Org|A' });
    expect(groupOfKey(idx.get('b')?.group ?? '')).to.include({ cls: 'industry', org: 'OrgB' });
    expect(idx.get('a')?.group).to.equal(groupKeyOf({ regionId: 'r1', gridId: 'g1', sharing: 'up', cls: 'key-public', org: 'Org|A' }));
    expect([...idx.groupCounts().values()]).to.deep.equal([1, 1]);
  });

  it('when points move, go and come after an epoch, then the group each had at that epoch is still known, and the digest of then is unchanged', () => {
    const idx = new PointIndex(KEY_PUBLIC);
    idx.apply(upsert('a', 'r1', 'up', 'OrgA'));
    idx.apply(upsert('b', 'r1', 'up', 'OrgA'));
    const e0 = idx.epoch;
    const digest0 = idx.digestAt(e0);
    const groupA = idx.get('a')?.group;
    idx.apply(upsert('a', 'r2', 'up', 'OrgA'));
    idx.apply(upsert('a', 'r3', 'all', 'OrgA'));
    idx.apply({ kind: 'delete', id: 'b', regionId: 'r1' });
    idx.apply(upsert('c', 'r1', 'own', 'OrgC'));
    // an edit that keeps the group is no change
    idx.apply(upsert('c', 'r1', 'own', 'OrgC'));
    expect([...idx.changedSince(e0)].sort()).to.deep.equal(['a', 'b', 'c']);
    expect(idx.groupAt('a', e0)).to.equal(groupA);
    expect(idx.groupAt('b', e0)).to.equal(groupA);
    expect(idx.groupAt('c', e0)).to.equal(null);
    expect(idx.groupAt('b', idx.epoch)).to.equal(null);
    expect(idx.digestAt(e0)).to.equal(digest0);
    expect(idx.digestAt(idx.epoch)).to.not.equal(digest0);
    expect([...idx.membersAt(e0)].sort()).to.deep.equal([
      ['a', groupA],
      ['b', groupA],
    ]);
    idx.forgetUpTo(idx.epoch);
    expect(idx.changedSince(e0).size).to.equal(0);
  });

  it('when no sums built under earlier groups are in use, then changes are not logged (one entry per imported point), and once a build holds an epoch they are again', () => {
    const idx = new PointIndex(KEY_PUBLIC);
    idx.apply(upsert('a', 'r1', 'up', 'OrgA'));
    idx.keepChangesSince(null);
    const e0 = idx.epoch;
    const digest0 = idx.digestAt(e0);
    for (let i = 0; i < 1000; i++) idx.apply(upsert(`p${i}`, 'r1', 'up', 'OrgA'));
    // the groups and the epoch move on (they version the digest), the log stays empty
    expect(idx.size).to.equal(1001);
    expect(idx.epoch).to.equal(e0 + 1000);
    expect(idx.changedSince(e0).size).to.equal(0);
    expect(idx.digestAt(idx.epoch)).to.not.equal(digest0);
    const e1 = idx.epoch;
    idx.keepChangesSince(e1);
    idx.apply(upsert('a', 'r2', 'up', 'OrgA'));
    idx.apply(upsert('q', 'r1', 'up', 'OrgA'));
    expect([...idx.changedSince(e1)].sort()).to.deep.equal(['a', 'q']);
    expect(groupOfKey(idx.groupAt('a', e1) ?? '').regionId).to.equal('r1');
    expect(idx.groupAt('q', e1)).to.equal(null);
    idx.keepChangesSince(null);
    expect(idx.changedSince(e1).size).to.equal(0);
  });

  it('when older changes are forgotten, then the groups at later epochs are still known for points that moved several times', () => {
    const idx = new PointIndex(KEY_PUBLIC);
    const region = regionAt(idx);
    idx.apply(upsert('a', 'r1', 'up', 'OrgA'));
    idx.apply(upsert('b', 'r1', 'up', 'OrgA'));
    const e1 = idx.epoch;
    idx.apply(upsert('a', 'r2', 'up', 'OrgA'));
    idx.apply(upsert('b', 'r2', 'up', 'OrgA'));
    const e2 = idx.epoch;
    idx.apply(upsert('a', 'r3', 'up', 'OrgA'));
    idx.apply({ kind: 'delete', id: 'b', regionId: 'r2' });
    const e3 = idx.epoch;
    idx.apply(upsert('a', 'r4', 'up', 'OrgA'));
    expect([region('a', e1), region('a', e2), region('a', e3), region('a', idx.epoch)]).to.deep.equal(['r1', 'r2', 'r3', 'r4']);
    idx.forgetUpTo(e2);
    expect([region('a', e2), region('a', e3), region('a', idx.epoch)]).to.deep.equal(['r2', 'r3', 'r4']);
    expect([region('b', e2), region('b', e3)]).to.deep.equal(['r2', undefined]);
    expect([...idx.changedSince(e2)].sort()).to.deep.equal(['a', 'b']);
    expect([...idx.changedSince(e3)]).to.deep.equal(['a']);
  });

  it('when points are created, moved, deleted and an id comes back while a build holds an epoch, then each one’s group at every epoch is known', () => {
    const idx = new PointIndex(KEY_PUBLIC);
    const region = regionAt(idx);
    idx.apply(upsert('old', 'r1', 'up', 'OrgA'));
    const e0 = idx.epoch;
    idx.apply(upsert('n', 'r1', 'up', 'OrgA'));
    const e1 = idx.epoch;
    idx.apply(upsert('n', 'r2', 'up', 'OrgA'));
    const e2 = idx.epoch;
    idx.apply({ kind: 'delete', id: 'n', regionId: 'r2' });
    const e3 = idx.epoch;
    idx.apply(upsert('n', 'r3', 'up', 'OrgA'));
    idx.apply(upsert('m', 'r4', 'up', 'OrgA'));
    const e4 = idx.epoch;
    expect([e0, e1, e2, e3, e4].map((e) => region('n', e))).to.deep.equal([undefined, 'r1', 'r2', undefined, 'r3']);
    expect([e0, e1, e3, e4].map((e) => region('m', e))).to.deep.equal([undefined, undefined, undefined, 'r4']);
    expect([...idx.changedSince(e0)].sort()).to.deep.equal(['m', 'n']);
    expect([...idx.changedSince(e3)].sort()).to.deep.equal(['m', 'n']);
    expect([...idx.changedSince(e4)]).to.deep.equal([]);
    expect([...idx.membersAt(e2)].map(([id, g]) => [id, groupOfKey(g).regionId]).sort()).to.deep.equal([
      ['n', 'r2'],
      ['old', 'r1'],
    ]);
    // forgotten up to e3: the creations before are no change after e3
    idx.forgetUpTo(e3);
    expect([...idx.changedSince(e3)].sort()).to.deep.equal(['m', 'n']);
    expect([e3, e4].map((e) => region('n', e))).to.deep.equal([undefined, 'r3']);
    idx.forgetUpTo(idx.epoch);
    expect([...idx.changedSince(e3)]).to.deep.equal([]);
    expect(region('m', idx.epoch)).to.equal('r4');
  });

  it('when 100,000 points are created while a build holds an epoch (an import), then the index keeps under 100 bytes each (~70; with a log entry a point ~130)', () => {
    const n = 100_000;
    // ids exist before (the registry's strings): what is measured is what the index adds
    const changes = Array.from({ length: n }, (_, i) => upsert((0x6570_0000_0000 + i).toString(16).padStart(24, '0'), `r${i % 50}`, 'up', 'OrgA'));
    const idx = new PointIndex(KEY_PUBLIC);
    idx.apply(upsert('a', 'r1', 'up', 'OrgA'));
    const e0 = idx.epoch;
    idx.keepChangesSince(e0);
    const before = heapUsedAfterGc();
    for (const c of changes) idx.apply(c);
    const perPoint = (heapUsedAfterGc() - before) / n;
    expect(idx.size).to.equal(n + 1);
    expect(idx.changedSince(e0).size).to.equal(n);
    expect(idx.groupAt(changes[n - 1].id, e0)).to.equal(null);
    expect(perPoint, `${perPoint.toFixed(1)} bytes a point`).to.be.below(100);
  });

  it('when a group’s month is packed, then only its rows with figures are stored and unpacked as they were', () => {
    const a = new Float64Array(21 * 32);
    a[0 * 32 + 1] = 86_400;
    a[0 * 32 + 31] = 3_801_600_000;
    a[7 * 32 + 15] = 3;
    a[20 * 32 + 2] = 1;
    const buf = pack(a);
    expect(buf.length).to.equal(4 + 3 * 32 * 8);
    expect([...unpack(buf)]).to.deep.equal([...a]);
  });
});
