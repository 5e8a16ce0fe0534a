import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import { stateCodeOf } from '../../server/src/contracts/live';
import { buildCatalog, loadedFromDoc, type PointAttrs } from '../../server/src/live/source';

describe('live source', () => {
  it('when a stored camera document is read, then ids become strings and the state a code', () => {
    const _id = new ObjectId();
    const regionId = new ObjectId();
    const p = loadedFromDoc({
      _id,
      regionId,
      sharing: 'up',
      enabled: true,
      name: '点位',
      maintainer: { org: '运维一', contact: '', phone: '' },
      tags: ['路口', 3],
      location: { lon: 122.9, lat: 41.1 },
      status: { state: 'DOWN', since: new Date(5_000_000), flapping: true },
    });
    expect(p?.entry).to.deep.equal({ id: _id.toHexString(), regionId: regionId.toHexString(), sharing: 1, org: '运维一', st: 3, since: 5000, flap: true });
    expect(p?.attrs.tags).to.deep.equal(['路口']);
    expect(p?.attrs.lon).to.equal(122.9);
  });

  it('when a disabled camera has no status yet, then it shows as DISABLED; a document without region is skipped', () => {
    expect(loadedFromDoc({ _id: new ObjectId(), regionId: new ObjectId(), enabled: false })?.entry.st).to.equal(5);
    expect(loadedFromDoc({ _id: new ObjectId() })).to.equal(null);
  });

  it('when an enabled point has no endpoint host, then it shows as NOT_CONNECTED whatever the registry wrote; disabled wins', () => {
    const base = { _id: new ObjectId(), regionId: new ObjectId(), status: { state: 'UNKNOWN', since: new Date(5_000_000) } };
    expect(loadedFromDoc({ ...base, enabled: true, endpoint: { host: null } })?.entry.st).to.equal(stateCodeOf.NOT_CONNECTED);
    expect(loadedFromDoc({ ...base, enabled: false, endpoint: { host: null }, status: { state: 'DISABLED' } })?.entry.st).to.equal(stateCodeOf.DISABLED);
    expect(loadedFromDoc({ ...base, enabled: true, endpoint: { host: '10.0.0.1' } })?.entry.st).to.equal(stateCodeOf.UNKNOWN);
    // a host just given: the stored NOT_CONNECTED stands until the engine's transition replaces it
    expect(loadedFromDoc({ ...base, enabled: true, endpoint: { host: '10.0.0.1' }, status: { state: 'NOT_CONNECTED' } })?.entry.st).to.equal(stateCodeOf.NOT_CONNECTED);
  });

  it('when a catalog is built, then repeated values are dictionary-coded and the order follows the ids asked for', () => {
    const attrs = new Map<string, PointAttrs>();
    const base: PointAttrs = { gbCode: '', name: '', address: '', regionId: 'r1', gridId: '', vendor: '海康威视', maintainer: '', tags: ['a'], sharing: 0, lon: null, lat: null, upstream: '' };
    attrs.set('x', { ...base, name: 'X' });
    attrs.set('y', { ...base, name: 'Y', regionId: 'r2', vendor: '大华', tags: ['a', 'b'] });
    const cat = buildCatalog('root', ['y', 'missing', 'x'], attrs);
    expect(cat.ids).to.deep.equal(['y', 'x']);
    expect(cat.name).to.deep.equal(['Y', 'X']);
    expect(cat.dict.vendors).to.deep.equal(['大华', '海康威视']);
    expect(cat.vendor).to.deep.equal([0, 1]);
    expect(cat.maintainer).to.deep.equal([-1, -1]);
    expect(cat.tags).to.deep.equal([[0, 1], [0]]);
    expect(cat.dict.regions[cat.region[1]]).to.equal('r1');
  });
});
