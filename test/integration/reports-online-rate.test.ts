import { expect } from 'chai';
import type { Principal } from '../../server/src/contracts/access';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { OnlineRate } from '../../server/src/contracts/reports';
import type { Sharing } from '../../server/src/contracts/vocabulary';
import { bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, tokenFor } from '../helpers/auth';
import { bearerClient, type ApiClient } from '../helpers/http';
import { HistoryDriver, sh } from '../fixtures/history';

const admin: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

/**
 * GET /api/v1/reports/online-rate over real HTTP, real store, the one region tree and the one visibility
 * rule. District D → streets S1 (community C1) and S2. June 2026: A (C1, shared with all, OrgA) up all month;
 * B (C1, shared up, OrgB) added 16 June and DOWN 24 h; X (S2, shared up, OrgA) DOWN all month. History is written
 * by monitoring's own write path with an injected clock (test/fixtures/history.ts).
 */
describe('GET /reports/online-rate (real HTTP, visibility, pooled seconds)', function () {
  this.timeout(60_000);
  let app: TestApp;
  const r: Record<string, string> = {};
  const p: Record<string, string> = {};
  let serial = 0;
  const june = 'from=2026-06-01&to=2026-07-01';

  async function point(key: string, at: string, sharing: Sharing, org: string): Promise<void> {
    serial += 1;
    const input = stripEcho(
      cameraInputSchema.parse({
        gbCode: `21030200001320${String(serial).padStart(6, '0')}`,
        name: `${key}点`,
        regionId: r[at],
        address: `${key}地址`,
        endpoint: { host: `127.42.0.${serial}` },
        sharing,
        maintainer: { org, contact: '张工', phone: `1390000${String(serial).padStart(4, '0')}` },
      }),
    );
    p[key] = (await app.registry.cameras.create(admin, input)).id;
  }

  async function client(role: 'planner' | 'viewer', scope: string | null): Promise<ApiClient> {
    return bearerClient(app, await tokenFor(app, await createUser(app, { role, scopeRegionId: scope })));
  }

  before(async () => {
    app = await bootAuthApp({ MONITOR_ENABLED: 'false' });
    const { regions } = app.registry;
    r.D = (await regions.create(admin, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    for (const [k, parent, tier] of [['S1', 'D', 'street'], ['S2', 'D', 'street'], ['C1', 'S1', 'community']] as const) {
      r[k] = (await regions.create(admin, { name: `${k}名`, tier, parentId: r[parent], code: null, households: null, boundary: null, note: '' })).id;
    }
    await point('A', 'C1', 'all', 'OrgA');
    await point('B', 'C1', 'up', 'OrgB');
    await point('X', 'S2', 'up', 'OrgA');
    const d = new HistoryDriver(app.ctx.store.conn);
    d.add(p.A, sh(2026, 6, 1));
    d.check(p.A, sh(2026, 6, 1), true);
    d.add(p.B, sh(2026, 6, 16));
    d.check(p.B, sh(2026, 6, 16), true).check(p.B, sh(2026, 6, 20), false).check(p.B, sh(2026, 6, 21), true);
    d.add(p.X, sh(2026, 6, 1));
    d.check(p.X, sh(2026, 6, 1), false);
    await d.close(sh(2026, 7, 1));
  });
  after(async () => {
    await app?.close();
  });

  it('when a district planner asks by node, then each street pools its points’ seconds and the answer says so', async () => {
    const planner = await client('planner', r.D);
    const res = await planner.get(`/reports/online-rate?region=${r.D}&${june}&by=node`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const body = res.body as OnlineRate;
    expect(body.timeZone).to.equal('Asia/Shanghai');
    expect(body.from).to.equal('2026-05-31T16:00:00.000Z');
    expect(body.method).to.match(/pooled/).and.match(/Σ/);
    expect(body.snapshotTimes).to.deep.equal(['08:00', '14:00', '20:00']);
    const rows = Object.fromEntries(body.rows.map((x) => [x.key, x]));
    expect(rows[r.S1]).to.include({ points: 2, upSec: 3_801_600, downSec: 86_400, rate: 97.7778 });
    expect(rows[r.S2]).to.include({ points: 1, upSec: 0, downSec: 2_592_000, rate: 0 });
    // Σup ÷ Σ(up + down) = 3,801,600 ÷ 6,480,000, not the mean of 97.7778 and 0
    expect(body.total).to.include({ points: 3, rate: 58.6667 });
    expect(body.total.snapshot).to.deep.equal({ online: 90 + 45 - 3, offline: 3 + 90, rate: 58.6667 });
  });

  it('when asked by organisation or by point, then rows are per maintainer organisation, and per point worst first', async () => {
    const planner = await client('planner', null);
    const byOrg = (await planner.get(`/reports/online-rate?region=${r.D}&${june}&by=org`)).body as OnlineRate;
    expect(byOrg.rows.map((x) => [x.key, x.points, x.rate])).to.deep.equal([
      ['OrgA', 2, 50],
      ['OrgB', 1, 93.3333],
    ]);
    const byPoint = (await planner.get(`/reports/online-rate?region=${r.S1}&from=2026-06-10T00:00:00%2B08:00&to=2026-06-25&by=point`)).body as OnlineRate;
    expect(byPoint.rows.map((x) => [x.name, x.rate])).to.deep.equal([
      ['B点', 88.8889],
      ['A点', 100],
    ]);
  });

  it('when a street planner asks about the district, then only the points he may see are counted', async () => {
    const s2 = await client('planner', r.S2);
    const body = (await s2.get(`/reports/online-rate?region=${r.D}&${june}`)).body as OnlineRate;
    // A is shared with all, X is his own street's; B (C1, shared up to S1 and D) is not his
    expect(body.total).to.include({ points: 2, upSec: 2_592_000, downSec: 2_592_000, rate: 50 });
    expect(body.rows.find((x) => x.key === r.S1)).to.include({ points: 1, rate: 100 });
  });

  it('when the region is outside the caller’s view, the role may not read reports, or the query is bad, then 404, 403 and 400 naming the field', async () => {
    const s2 = await client('planner', r.S2);
    expect((await s2.get(`/reports/online-rate?region=${r.S1}&${june}`)).status).to.equal(404);
    const viewer = await client('viewer', r.D);
    expect((await viewer.get(`/reports/online-rate?region=${r.D}&${june}`)).status).to.equal(403);
    const planner = await client('planner', r.D);
    const bad = await planner.get(`/reports/online-rate?region=${r.D}&from=June&to=2026-07-01`);
    expect(bad.status).to.equal(400);
    expect(JSON.stringify(bad.body.error.details)).to.match(/from/);
    const reversed = await planner.get(`/reports/online-rate?region=${r.D}&from=2026-07-01&to=2026-06-01`);
    expect(reversed.status).to.equal(400);
    expect(reversed.body.error.details[0].field).to.equal('to');
  });

  it('when the OpenAPI document is read, then the online-rate route is described with its query', async () => {
    const doc = (await (await client('planner', null)).get('/api/v1/openapi.json')).body as { paths: Record<string, { get?: { parameters?: Array<{ name: string }> } }> };
    const op = doc.paths['/api/v1/reports/online-rate']?.get ?? doc.paths['/reports/online-rate']?.get;
    expect(op, Object.keys(doc.paths).join(',')).to.not.equal(undefined);
    expect(op?.parameters?.map((x) => x.name)).to.include.members(['region', 'from', 'to', 'by']);
  });
});
