import { expect } from 'chai';
import type { SourceRow } from '../../server/src/cameras/transfer/fields';
import { mapRow, type MapContext } from '../../server/src/cameras/transfer/mapping';
import { RegionDirectory } from '../../server/src/cameras/transfer/regions';
import { RegionTree, type RegionNode } from '../../server/src/regions/tree';

const id = (n: number): string => n.toString(16).padStart(24, '0');
const nodes: RegionNode[] = [
  { id: id(1), name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null },
  { id: id(2), name: '站前街道', tier: 'street', parentId: id(1), code: '210302001', households: null },
  { id: id(3), name: '解放街道', tier: 'street', parentId: id(1), code: '210302002', households: null },
  { id: id(4), name: '光明社区', tier: 'community', parentId: id(2), code: '210302001001', households: null },
  // the same community name under another street: names alone are ambiguous
  { id: id(5), name: '光明社区', tier: 'community', parentId: id(3), code: '210302002001', households: null },
  { id: id(6), name: '第1网格', tier: 'grid', parentId: id(4), code: '210302001001001', households: null },
  { id: id(7), name: '第1网格', tier: 'grid', parentId: id(5), code: '210302002001001', households: null },
];
const defaults = { PROBE_DEFAULT_KIND: 'tcp', PROBE_DEFAULT_INTERVAL_SEC: 60, PROBE_DEFAULT_TIMEOUT_MS: 3000, PROBE_DEFAULT_RETRIES: 3 } as const;
const code = '21030200011320000001';

function ctx(extra: Partial<MapContext> = {}): MapContext {
  return { regions: new RegionDirectory(new RegionTree(nodes)), scope: null, probeDefaults: defaults, ...extra };
}

function row(values: SourceRow['values']): SourceRow {
  return { line: 9, values: { gbCode: code, name: '点位', host: '10.0.0.1', ...values } };
}

function issues(values: SourceRow['values'], c = ctx()): Array<[string, string]> {
  const m = mapRow(row(values), undefined, c);
  return m.ok ? [] : m.issues.map((i) => [i.field, i.reason]);
}

describe('transfer: row mapping', () => {
  it('when street and community names are given, then the point lands in that community and the grid resolves inside it', () => {
    const m = mapRow(row({ street: '解放街道', community: '光明社区', grid: '第1网格' }), undefined, ctx());
    expect(m.ok).to.equal(true);
    if (m.ok) expect([m.input.regionId, m.input.gridId]).to.deep.equal([id(5), id(7)]);
  });

  it('when a community name exists under two streets and no street is given, then the row says which column to add', () => {
    const got = issues({ community: '光明社区' });
    expect(got).to.have.length(1);
    expect(got[0][0]).to.equal('community');
    expect(got[0][1]).to.match(/2 communities are named "光明社区"; add the 所属街道 column/);
  });

  it('when the IP地址 cell is empty, then the row is a point not yet connected; on a stored point it clears the host', () => {
    const fresh = mapRow({ line: 9, values: { gbCode: code, name: '规划点位', street: '站前街道' }, present: ['gbCode', 'name', 'street', 'host'] }, undefined, ctx());
    expect(fresh.ok && fresh.input.endpoint).to.deep.equal({ host: null, rtspPort: 554, rtspPath: '' });
    const stored = mapRow(row({ street: '站前街道' }), undefined, ctx());
    expect(stored.ok).to.equal(true);
    if (!stored.ok) return;
    const camera = { ...stored.input, id: id(99), gb: {}, status: {}, version: 1, createdAt: '', updatedAt: '', endpoint: { ...stored.input.endpoint, httpPort: null, onvifPort: null } } as unknown as Parameters<typeof mapRow>[1];
    const cleared = mapRow({ line: 9, values: { gbCode: code }, present: ['gbCode', 'host'] }, camera, ctx());
    expect(cleared.ok && cleared.input.endpoint.host).to.equal(null);
  });

  it('when only a grid code is given, then the point goes to the grid\'s community', () => {
    const m = mapRow(row({ grid: '210302001001001' }), undefined, ctx());
    expect(m.ok && [m.input.regionId, m.input.gridId]).to.deep.equal([id(4), id(6)]);
  });

  it('when only a division code is given, then it resolves the region; an unknown one is named', () => {
    const m = mapRow(row({ regionCode: '210302002' }), undefined, ctx());
    expect(m.ok && m.input.regionId).to.equal(id(3));
    expect(issues({ regionCode: '210399' })).to.deep.equal([['regionCode', '区划编码 no region has division code 210399']]);
  });

  it('when no region column has a value, then the caller\'s default region is used, else the row is refused', () => {
    const m = mapRow(row({}), undefined, ctx({ defaultRegionId: id(1) }));
    expect(m.ok && m.input.regionId).to.equal(id(1));
    expect(issues({})[0][1]).to.match(/is required/);
  });

  it('when Chinese words are used for sharing, enabled and dates, then they map to the API values', () => {
    const m = mapRow(row({ street: '站前街道', sharing: '向上', enabled: '停用', installedAt: '2023年5月8日', probeKind: 'RTSP', tags: '路口、学校;夜视' }), undefined, ctx());
    expect(m.ok).to.equal(true);
    if (m.ok) {
      expect(m.input).to.include({ sharing: 'up', enabled: false, installedAt: '2023-05-08' });
      expect(m.input.probe).to.deep.equal({ kind: 'rtsp' });
      expect(m.input.tags).to.deep.equal(['路口', '学校', '夜视']);
    }
  });

  it('when Excel mangled the code (scientific notation) or wrapped it (="…", full-width digits), then the first is refused and the others read', () => {
    expect(issues({ gbCode: '2.10302E+19', street: '站前街道' })[0][1]).to.match(/scientific notation.*lost digits/);
    const wrapped = mapRow(row({ gbCode: `="${code}"`, street: '站前街道' }), undefined, ctx());
    expect(wrapped.ok && wrapped.input.gbCode).to.equal(code);
    const wide = mapRow(row({ gbCode: '２１０３０２０００１１３２００００００１', street: '站前街道' }), undefined, ctx());
    expect(wide.ok && wide.input.gbCode).to.equal(code);
  });

  it('when cells are wrong, then each problem names its column and the bad value', () => {
    expect(issues({ street: '站前街道', lon: '东经123' , lat: '41.1' })).to.deep.equal([['lon', '经度 must be a number, got "东经123"']]);
    expect(issues({ street: '站前街道', lon: '123.1' })).to.deep.equal([['lat', '纬度 is required when 经度 is given']]);
    expect(issues({ street: '站前街道', rtspPort: '5５4x' })[0][0]).to.equal('rtspPort');
    expect(issues({ street: '站前街道', enabled: 'maybe' })[0][1]).to.match(/是\/否/);
    expect(issues({ street: '站前街道', installedAt: '2023-02-30' })[0][0]).to.equal('installedAt');
    expect(issues({ street: '站前街道', host: 'bad host!' })[0][0]).to.equal('host');
  });

  it('when the code\'s center digits do not match the region, then the registry\'s own rule refuses it on the gbCode column', () => {
    const got = issues({ gbCode: '21030300011320000001', street: '站前街道' });
    expect(got).to.have.length(1);
    expect(got[0][0]).to.equal('gbCode');
  });

  it('when the region lies outside the caller\'s scope, then the row is refused on the region column', () => {
    const scoped = ctx({ scope: new Set([id(2), id(4), id(6)]) });
    expect(issues({ street: '解放街道' }, scoped)).to.deep.equal([['street', '所属街道 lies outside your scope']]);
    // an ambiguous community name resolves to the one inside the caller's scope
    const m = mapRow(row({ community: '光明社区' }), undefined, scoped);
    expect(m.ok && m.input.regionId).to.equal(id(4));
  });
});
