import { expect } from 'chai';
import type { CoverageArea, CoverageCounts, CoverageGaps, CoverageRow } from '../../server/src/contracts/coverage';
import { generateDemoDistrict, type DemoRegion } from '../../server/src/demo/district';
import { bootAuthApp, bootAdmin, type TestApp } from '../helpers/app';
import { createUser, loginAs } from '../helpers/auth';
import type { ApiClient } from '../helpers/http';

/**
 * Counts and coverage over the demo district (5,400 points, 536 grids), loaded through the real app
 * (POST /demo/load), then changed through the API so that every kind of gap exists: new grids with no point
 * (one without households), a grid whose households figure is removed, a new community with nothing, a point
 * not yet connected. Every expected figure is computed here from the generator's own data with a plain
 * parent walk, independently of the server's tree and counting code.
 */

interface P {
  regionId: string;
  gridId: string | null;
  type: string;
  industry: string;
  org: string;
  sharing: 'own' | 'up' | 'all';
  enabled: boolean;
  connected: boolean;
  lon: number;
  lat: number;
}

type Figures = Pick<CoverageRow, 'points' | 'enabled' | 'connected' | 'notConnected' | 'byType' | 'byIndustry' | 'byOrg' | 'bySharing'>;

function figuresOf(points: P[]): Figures {
  const f: Figures = { points: 0, enabled: 0, connected: 0, notConnected: 0, byType: {}, byIndustry: {}, byOrg: {}, bySharing: { own: 0, up: 0, all: 0 } };
  for (const p of points) {
    f.points += 1;
    if (p.enabled) f.enabled += 1;
    if (p.connected) f.connected += 1;
    else f.notConnected += 1;
    f.byType[p.type] = (f.byType[p.type] ?? 0) + 1;
    f.byIndustry[p.industry] = (f.byIndustry[p.industry] ?? 0) + 1;
    f.byOrg[p.org] = (f.byOrg[p.org] ?? 0) + 1;
    f.bySharing[p.sharing] += 1;
  }
  return f;
}

const pick = (r: CoverageRow): Figures => ({
  points: r.points,
  enabled: r.enabled,
  connected: r.connected,
  notConnected: r.notConnected,
  byType: r.byType,
  byIndustry: r.byIndustry,
  byOrg: r.byOrg,
  bySharing: r.bySharing,
});

/** Σ of rows, figure by figure (the reconciliation the API promises). */
function sum(rows: CoverageRow[]): Figures {
  const f = figuresOf([]);
  for (const r of rows) {
    f.points += r.points;
    f.enabled += r.enabled;
    f.connected += r.connected;
    f.notConnected += r.notConnected;
    for (const [dim, into] of [
      [r.byType, f.byType],
      [r.byIndustry, f.byIndustry],
      [r.byOrg, f.byOrg],
    ] as const) {
      for (const [k, v] of Object.entries(dim)) if (v) into[k] = (into[k] ?? 0) + v;
    }
    for (const s of ['own', 'up', 'all'] as const) f.bySharing[s] += r.bySharing[s];
  }
  return f;
}

/** Drops zero entries so that "absent" and "0" compare equal. */
function norm(f: Figures): Figures {
  const clean = (m: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== 0));
  return { ...f, byType: clean(f.byType), byIndustry: clean(f.byIndustry), byOrg: clean(f.byOrg) };
}

describe('coverage: counts reconcile at every level of the demo district; gaps are listed', function () {
  this.timeout(300_000);
  let app: TestApp;
  let root: ApiClient;
  const demo = generateDemoDistrict();
  const regions = new Map<string, { id: string; parentId: string | null; tier: DemoRegion['tier']; households: number | null; name: string }>();
  const points: P[] = [];
  const added: Record<string, string> = {};

  const within = (ancestor: string, id: string): boolean => {
    for (let cur: string | null = id; cur !== null; cur = regions.get(cur)?.parentId ?? null) if (cur === ancestor) return true;
    return false;
  };
  const leaf = (p: P): string => p.gridId ?? p.regionId;
  const childrenOf = (id: string): string[] => [...regions.values()].filter((r) => r.parentId === id).map((r) => r.id);

  before(async () => {
    // ports the points name; nothing listens there (no simulator starts)
    app = await bootAuthApp({ MONITOR_ENABLED: 'false', DEMO_SIM_RTSP_PORT: '18554', DEMO_SIM_HTTP_PORT: '18080' });
    root = await loginAs(app, bootAdmin);
    const loaded = await root.post('/demo/load');
    expect(loaded.status, JSON.stringify(loaded.body)).to.equal(201);
    for (const r of demo.regions) regions.set(r.id, { id: r.id, parentId: r.parentId, tier: r.tier, households: r.households, name: r.name });
    for (const p of demo.points) {
      points.push({
        regionId: p.regionId,
        gridId: p.gridId ?? null,
        type: p.gbCode.slice(10, 13),
        industry: p.gbCode.slice(8, 10),
        org: p.maintainer?.org ?? '',
        sharing: p.sharing ?? 'own',
        enabled: p.enabled !== false,
        connected: true,
        lon: p.location?.lon ?? NaN,
        lat: p.location?.lat ?? NaN,
      });
    }
    const district = demo.regions[0].id;
    const streets = demo.regions.filter((r) => r.tier === 'street');
    const communities = demo.regions.filter((r) => r.tier === 'community');
    const mkRegion = async (key: string, body: { name: string; tier: string; parentId: string; households?: number | null }): Promise<void> => {
      const res = await root.post('/regions', body);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      added[key] = String(res.body.id);
      regions.set(added[key], { id: added[key], parentId: body.parentId, tier: body.tier as DemoRegion['tier'], households: body.households ?? null, name: body.name });
    };
    // gaps made through the API
    await mkRegion('emptyGrid', { name: '新建网格甲', tier: 'grid', parentId: communities[0].id, households: 580 });
    await mkRegion('emptyGridNoHouseholds', { name: '新建网格乙', tier: 'grid', parentId: communities[1].id });
    await mkRegion('emptyCommunity', { name: '规划社区', tier: 'community', parentId: streets[2].id });
    await mkRegion('gridOfEmptyCommunity', { name: '规划网格', tier: 'grid', parentId: added.emptyCommunity, households: 520 });
    const withPoints = demo.regions.find((r) => r.tier === 'grid' && demo.points.some((p) => p.gridId === r.id)) as DemoRegion;
    const patched = await root.patch(`/regions/${withPoints.id}`, { households: null });
    expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
    (regions.get(withPoints.id) as { households: number | null }).households = null;
    added.householdsRemoved = withPoints.id;
    // a point not yet connected (未接入), in a grid, and one more at the district
    const grid = demo.regions.find((r) => r.tier === 'grid' && r.parentId === communities[3].id) as DemoRegion;
    const planned = { gbCode: '21030201011320999901', name: '规划点位', regionId: communities[3].id, gridId: grid.id, endpoint: { host: null }, sharing: 'up', maintainer: { org: '规划单位' } };
    const created = await root.post('/cameras', planned);
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    points.push({ regionId: planned.regionId, gridId: grid.id, type: '132', industry: '01', org: '规划单位', sharing: 'up', enabled: true, connected: false, lon: NaN, lat: NaN });
    const atDistrict = { gbCode: '21030200081320999902', name: '区级卡口', regionId: district, endpoint: { host: '10.9.9.9' }, sharing: 'all' };
    const atDistrictRes = await root.post('/cameras', atDistrict);
    expect(atDistrictRes.status, JSON.stringify(atDistrictRes.body)).to.equal(201);
    points.push({ regionId: district, gridId: null, type: '132', industry: '08', org: '', sharing: 'all', enabled: true, connected: true, lon: NaN, lat: NaN });
  });
  after(async () => {
    await app?.close();
  });

  it('when a global admin walks district → street → community → grid, then every node’s figures equal the data’s and Σ children + direct = total in every figure', async () => {
    const planner = root;
    const nonGrid = [...regions.values()].filter((r) => r.tier !== 'grid');
    let gridRows = 0;
    for (const node of nonGrid) {
      const res = await planner.get(`/coverage/counts?region=${node.id}`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const body = res.body as CoverageCounts;
      const mine = points.filter((p) => within(node.id, leaf(p)));
      expect(norm(pick(body.total)), `${node.name} total`).to.deep.equal(norm(figuresOf(mine)));
      expect(norm(pick(body.direct)), `${node.name} direct`).to.deep.equal(norm(figuresOf(mine.filter((p) => leaf(p) === node.id))));
      expect(norm(sum([...body.rows, body.direct])), `${node.name} reconciles`).to.deep.equal(norm(pick(body.total)));
      expect(body.rows.map((x) => x.id).sort(), `${node.name} children`).to.deep.equal(childrenOf(node.id).sort());
      for (const row of body.rows) {
        expect(norm(pick(row)), `${row.name} under ${node.name}`).to.deep.equal(norm(figuresOf(points.filter((p) => within(row.id, leaf(p))))));
        if (row.tier === 'grid') {
          gridRows += 1;
          const hh = regions.get(row.id)?.households ?? null;
          expect(row.households).to.equal(hh);
          expect(row.per1000Households).to.equal(hh ? Math.round((row.points / hh) * 100_000) / 100 : null);
        }
      }
    }
    expect(gridRows).to.equal(536 + 3);
    // the district's own figures
    const top = (await planner.get(`/coverage/counts?region=${demo.regions[0].id}`)).body as CoverageCounts;
    expect(top.total.points).to.equal(5402);
    expect(top.total.notConnected).to.equal(1);
    expect(top.total.grids).to.deep.equal({ total: 539, withoutPoints: top.total.grids.withoutPoints, withoutHouseholds: 2 });
    expect(top.labels.type['132']).to.deep.equal({ name: 'IP camera', nameZh: '网络摄像机(IPC)' });
    expect(top.labels.industry['01'].nameZh).to.equal('社会治安社区接入');
  });

  it('when the gaps of the district are asked for, then every grid with 0 points and every grid without households is listed, and the community with nothing', async () => {
    const res = await root.get(`/coverage/gaps?region=${demo.regions[0].id}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const gaps = res.body as CoverageGaps;
    const grids = [...regions.values()].filter((r) => r.tier === 'grid');
    const empty = grids.filter((g) => !points.some((p) => p.gridId === g.id)).map((g) => g.id);
    expect(empty).to.include.members([added.emptyGrid, added.emptyGridNoHouseholds, added.gridOfEmptyCommunity]);
    expect(gaps.gridsWithoutPoints.map((g) => g.id).sort()).to.deep.equal(empty.sort());
    expect(gaps.gridsWithoutHouseholds.map((g) => g.id).sort()).to.deep.equal([added.emptyGridNoHouseholds, added.householdsRemoved].sort());
    expect(gaps.communitiesWithoutPoints.map((c) => c.id)).to.deep.equal([added.emptyCommunity]);
    expect(gaps.grids).to.have.length(539);
    for (const g of gaps.grids) {
      const n = points.filter((p) => p.gridId === g.id).length;
      expect(g.points, g.name).to.equal(n);
      const hh = regions.get(g.id)?.households ?? null;
      expect(g.per1000Households).to.equal(hh === null ? null : Math.round((n / hh) * 100_000) / 100);
    }
    const named = gaps.gridsWithoutHouseholds.find((g) => g.id === added.emptyGridNoHouseholds);
    expect(named?.path).to.match(/街道 \/ .+社区$/);
  });

  it('when a street planner asks, then only the points he may see are counted, still reconciling; a community outside is 404; a viewer is 403', async () => {
    const street = demo.regions.find((r) => r.tier === 'street') as DemoRegion;
    const other = demo.regions.find((r) => r.tier === 'community' && r.parentId !== street.id) as DemoRegion;
    const planner = await loginAs(app, await createUser(app, { role: 'planner', scopeRegionId: street.id }));
    // the visibility rule, written out: shared with all; at his street or above; shared up from inside his street
    const sees = (p: P): boolean => p.sharing === 'all' || within(p.regionId, street.id) || (p.sharing === 'up' && within(street.id, p.regionId));
    const body = (await planner.get(`/coverage/counts?region=${demo.regions[0].id}`)).body as CoverageCounts;
    expect(norm(pick(body.total))).to.deep.equal(norm(figuresOf(points.filter(sees))));
    expect(norm(sum([...body.rows, body.direct]))).to.deep.equal(norm(pick(body.total)));
    expect(body.total.points).to.be.below(5402);
    const inStreet = (await planner.get(`/coverage/counts?region=${street.id}`)).body as CoverageCounts;
    expect(norm(pick(inStreet.total))).to.deep.equal(norm(figuresOf(points.filter((p) => sees(p) && within(street.id, leaf(p))))));
    expect((await planner.get(`/coverage/counts?region=${other.id}`)).status).to.equal(404);
    expect((await planner.get(`/coverage/gaps?region=${other.id}`)).status).to.equal(404);
    const viewer = await loginAs(app, await createUser(app, { role: 'viewer', scopeRegionId: null }));
    expect((await viewer.get(`/coverage/counts?region=${street.id}`)).status).to.equal(403);
    expect((await planner.get('/coverage/counts?region=nope')).status).to.equal(400);
  });

  it('when a planned site is given as a grid’s polygon or a circle, then exactly the points inside are counted', async () => {
    const grid = demo.regions.find((r) => r.tier === 'grid' && demo.points.filter((p) => p.gridId === r.id).length >= 3) as DemoRegion;
    const ring = (grid.boundary as { coordinates: Array<Array<[number, number]>> }).coordinates[0];
    const [lon0, lat0] = ring[0];
    const [lon1, lat1] = ring[2];
    const located = points.filter((p) => Number.isFinite(p.lon));
    // no point sits on the ring's edge, so inside / outside is unambiguous
    expect(located.filter((p) => ((p.lon === lon0 || p.lon === lon1) && p.lat >= lat0 && p.lat <= lat1) || ((p.lat === lat0 || p.lat === lat1) && p.lon >= lon0 && p.lon <= lon1))).to.deep.equal([]);
    const inside = located.filter((p) => p.lon > lon0 && p.lon < lon1 && p.lat > lat0 && p.lat < lat1);
    expect(inside.length).to.be.greaterThan(2);
    const res = await root.post('/coverage/area', { region: demo.regions[0].id, shape: { type: 'polygon', coordinates: ring } });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const area = res.body as CoverageArea;
    expect(norm(area.counts)).to.deep.equal(norm(figuresOf(inside)));
    expect(area.points).to.have.length(inside.length);

    // a circle of 300 m around the grid's centre (haversine, written out here)
    const c = { lon: (lon0 + lon1) / 2, lat: (lat0 + lat1) / 2 };
    const rad = (d: number): number => (d * Math.PI) / 180;
    const dist = (p: P): number =>
      2 * 6_371_008.8 * Math.asin(Math.sqrt(Math.sin(rad(p.lat - c.lat) / 2) ** 2 + Math.cos(rad(c.lat)) * Math.cos(rad(p.lat)) * Math.sin(rad(p.lon - c.lon) / 2) ** 2));
    const near = located.filter((p) => dist(p) <= 300);
    const circle = (await root.post('/coverage/area', { region: demo.regions[0].id, shape: { type: 'circle', center: c, radiusM: 300 }, limit: 2 })).body as CoverageArea;
    expect(circle.counts.points).to.equal(near.length);
    expect(circle.points.length).to.equal(Math.min(2, near.length));
    expect(circle.truncated).to.equal(near.length > 2);
    if (circle.points.length === 2) expect(circle.points[0].distanceM).to.be.at.most(circle.points[1].distanceM as number);

    const open = await root.post('/coverage/area', { region: demo.regions[0].id, shape: { type: 'polygon', coordinates: ring.slice(0, 4) } });
    expect(open.status).to.equal(422);
    expect(open.body.error.details[0].field).to.equal('shape.coordinates');
  });

  it('when a point is added, then the next counts include it (the counts follow registry changes)', async () => {
    const community = demo.regions.find((r) => r.tier === 'community') as DemoRegion;
    const before = ((await root.get(`/coverage/counts?region=${community.id}`)).body as CoverageCounts).total;
    const res = await root.post('/cameras', { gbCode: '21030201011310999903', name: '新增点位', regionId: community.id, endpoint: { host: '10.9.9.10' }, sharing: 'own' });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const after = ((await root.get(`/coverage/counts?region=${community.id}`)).body as CoverageCounts).total;
    expect(after.points).to.equal(before.points + 1);
    expect(after.byType['131']).to.equal((before.byType['131'] ?? 0) + 1);
    expect(after.bySharing.own).to.equal(before.bySharing.own + 1);
  });
});
