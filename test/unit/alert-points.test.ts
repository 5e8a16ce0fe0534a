import { expect } from 'chai';
import { AlertPoints } from '../../server/src/alerts/incidents/points';
import type { CameraChange } from '../../server/src/cameras/events';
import type { Camera } from '../../server/src/contracts/cameras';

const upsert = (id: string, upstreamId: string | null, extra: Partial<Camera> = {}): CameraChange => {
  const camera = { id, name: `点${id}`, gbCode: `210302010313200000${id.padStart(2, '0')}`, regionId: 'r1', gridId: null, upstreamId, maintainer: { org: 'OrgA', contact: '', phone: '' }, sharing: 'up', tags: ['路口'], ...extra } as Camera;
  return { kind: 'upsert', id, regionId: camera.regionId, camera };
};

describe('alerting point map (columns)', () => {
  it('when a point is read back, then every field is what the registry gave', () => {
    const pts = new AlertPoints();
    pts.apply(upsert('1', 'nvr', { gridId: 'g1', sharing: 'all', tags: ['a', 'b'] }));
    pts.apply(upsert('2', null, { maintainer: { org: '', contact: '', phone: '' } }));
    expect(pts.get('1')).to.deep.equal({ id: '1', name: '点1', gbCode: '21030201031320000001', regionId: 'r1', gridId: 'g1', upstreamId: 'nvr', org: 'OrgA', sharing: 'all', tags: ['a', 'b'] });
    expect(pts.get('2')).to.include({ gridId: null, upstreamId: null, org: '', sharing: 'up' });
    expect(pts.get('3')).to.equal(undefined);
    // in slot order of the process's id space (a slot freed by an earlier test in this process comes first)
    expect([...pts.ids()].sort()).to.deep.equal(['1', '2']);
  });

  it('when points change upstream device or go, then the dependants of each device follow, in the order they joined', () => {
    const pts = new AlertPoints();
    for (const id of ['1', '2', '3']) pts.apply(upsert(id, 'nvrA'));
    pts.apply(upsert('2', 'nvrB'));
    expect(pts.dependants('nvrA')).to.deep.equal(['1', '3']);
    expect(pts.dependants('nvrB')).to.deep.equal(['2']);
    pts.apply({ kind: 'delete', id: '1', regionId: 'r1' });
    pts.apply(upsert('4', 'nvrA'));
    pts.apply(upsert('3', null));
    expect(pts.dependants('nvrA')).to.deep.equal(['4']);
    expect(pts.get('4')?.upstreamId).to.equal('nvrA');
    expect(pts.get('1')).to.equal(undefined);
    expect(pts.dependants('nobody')).to.deep.equal([]);
  });
});
