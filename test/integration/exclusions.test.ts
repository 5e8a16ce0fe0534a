import { expect } from 'chai';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import type { Exclusion } from '../../server/src/contracts/exclusions';
import type { OnlineRate, OnlineRateRow } from '../../server/src/contracts/reports';
import { bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs, type TestUser } from '../helpers/auth';
import type { ApiClient } from '../helpers/http';
import { HistoryDriver, sh } from '../fixtures/history';

const admin: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

/**
 * Exclusion requests over real HTTP, the real store and the real online-rate report. District D → street S1 →
 * community C1 → grid G1; street S2. June 2026: A (C1, grid G1) DOWN 10 June 10:00–18:00; B (C1) DOWN 20 June all
 * day. History comes from monitoring's own write path with an injected clock (test/fixtures/history.ts).
 */
describe('exclusion requests (停电, 施工, 不可抗力): request, approve / reject, and the online rate', function () {
  this.timeout(120_000);
  let app: TestApp;
  const r: Record<string, string> = {};
  const p: Record<string, string> = {};
  const as: Record<string, { user: TestUser; client: ApiClient }> = {};
  const june = 'from=2026-06-01&to=2026-07-01';

  const evidence = { text: '供电公司停电通知：6月10日12:00-16:00 计划检修', urls: ['https://example.test/notice/0610'] };
  const period = (a: number, b: number): { from: string; to: string } => ({ from: new Date(a).toISOString(), to: new Date(b).toISOString() });

  async function user(key: string, role: 'operator' | 'planner' | 'admin' | 'viewer', scope: string | null): Promise<void> {
    const u = await createUser(app, { role, scopeRegionId: scope, username: key });
    as[key] = { user: u, client: await loginAs(app, u) };
  }

  async function rowOf(client: ApiClient, region: string, query: string, key: string): Promise<OnlineRateRow> {
    const res = await client.get(`/reports/online-rate?region=${region}&${query}&by=point`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const row = (res.body as OnlineRate).rows.find((x) => x.key === key);
    if (!row) throw new Error(`no row for ${key}`);
    return row;
  }

  before(async () => {
    app = await bootAuthApp({ MONITOR_ENABLED: 'false' });
    const { regions, cameras } = app.registry;
    const mk = async (k: string, tier: 'district' | 'street' | 'community' | 'grid', parent: string | null): Promise<void> => {
      r[k] = (await regions.create(admin, { name: `${k}名`, tier, parentId: parent === null ? null : r[parent], code: null, households: null, boundary: null, note: '' })).id;
    };
    await mk('D', 'district', null);
    await mk('S1', 'street', 'D');
    await mk('S2', 'street', 'D');
    await mk('C1', 'community', 'S1');
    await mk('G1', 'grid', 'C1');
    let serial = 0;
    // C is the community's own (sharing 'own'): the street and district above do not see it
    for (const [key, grid, sharing] of [
      ['A', r.G1, 'up'],
      ['B', null, 'up'],
      ['C', null, 'own'],
    ] as const) {
      serial += 1;
      const input = stripEcho(
        cameraInputSchema.parse({
          gbCode: `21030200001320${String(serial).padStart(6, '0')}`,
          name: `${key}点`,
          regionId: r.C1,
          gridId: grid,
          endpoint: { host: `127.43.0.${serial}` },
          sharing,
          maintainer: { org: 'OrgA', contact: '张工', phone: '13900000000' },
        }),
      );
      p[key] = (await cameras.create(admin, input)).id;
    }
    const d = new HistoryDriver(app.ctx.store.conn);
    for (const key of ['A', 'B']) d.add(p[key], sh(2026, 6, 1));
    d.check(p.A, sh(2026, 6, 1), true).check(p.A, sh(2026, 6, 10, 10), false).check(p.A, sh(2026, 6, 10, 18), true);
    d.check(p.B, sh(2026, 6, 1), true).check(p.B, sh(2026, 6, 20), false).check(p.B, sh(2026, 6, 21), true);
    await d.close(sh(2026, 7, 1));

    await user('c1op', 'operator', r.C1);
    await user('c1planner', 'planner', r.C1);
    await user('s1planner', 'planner', r.S1);
    await user('s2planner', 'planner', r.S2);
    await user('s1op', 'operator', r.S1);
    await user('dadmin', 'admin', r.D);
    await user('viewer', 'viewer', r.D);
  });
  after(async () => {
    await app?.close();
  });

  it('when a request is approved by a planner of a wider scope, then exactly its hours leave the denominator and the row names reason and approver', async () => {
    const before = await rowOf(as.s1planner.client, r.C1, june, p.A);
    expect(before).to.include({ upSec: 2_563_200, downSec: 28_800, rate: 98.8889, excludedSec: 0 });
    expect(before.exclusions).to.deep.equal([]);

    const req = await as.c1op.client.post('/reports/exclusions', { pointIds: [p.A], reason: 'power_cut', ...period(sh(2026, 6, 10, 12), sh(2026, 6, 10, 16)), evidence });
    expect(req.status, JSON.stringify(req.body)).to.equal(201);
    const created = req.body as Exclusion;
    expect(created).to.include({ state: 'pending', reason: 'power_cut', regionId: r.G1, pointCount: 1 });
    expect(created.requestedBy).to.include({ username: 'c1op', scopeRegionId: r.C1 });
    // pending changes nothing yet
    expect(await rowOf(as.s1planner.client, r.C1, june, p.A)).to.deep.equal(before);

    const ok = await as.s1planner.client.post(`/reports/exclusions/${created.id}/approve`, { comment: '核实无误' });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
    expect(ok.body).to.include({ state: 'approved', comment: '核实无误' });
    expect((ok.body as Exclusion).decidedBy).to.include({ username: 's1planner' });

    const after = await rowOf(as.s1planner.client, r.C1, june, p.A);
    expect(after).to.include({ upSec: 2_563_200, downSec: 14_400, excludedSec: 14_400, rate: 99.4413 });
    expect(after.exclusions).to.deep.equal([{ id: created.id, reason: 'power_cut', approver: 's1planner', from: created.from, to: created.to }]);
    // the 14:00 snapshot instant lay inside the excluded period
    expect(after.snapshot.offline).to.equal(before.snapshot.offline - 1);
    // a range that cuts the period: 11:00–13:00 keeps the hour before it, to the second
    const cut = await rowOf(as.s1planner.client, r.C1, `from=${encodeURIComponent('2026-06-10T11:00:00+08:00')}&to=${encodeURIComponent('2026-06-10T13:00:00+08:00')}`, p.A);
    expect(cut).to.include({ upSec: 0, downSec: 3_600, excludedSec: 3_600, rate: 0 });
    // the region's total says so too, and B is untouched
    const total = ((await as.s1planner.client.get(`/reports/online-rate?region=${r.C1}&${june}`)).body as OnlineRate).total;
    expect(total).to.include({ excludedSec: 14_400, downSec: 14_400 + 86_400 });
    expect(total.exclusions.map((x) => x.id)).to.deep.equal([created.id]);
  });

  it('when a request is rejected, then the online rate does not change at all', async () => {
    const before = await rowOf(as.dadmin.client, r.C1, june, p.B);
    const req = await as.c1op.client.post('/reports/exclusions', { pointIds: [p.B], reason: 'construction', ...period(sh(2026, 6, 20), sh(2026, 6, 21)), evidence: { text: '道路施工' } });
    expect(req.status, JSON.stringify(req.body)).to.equal(201);
    const no = await as.dadmin.client.post(`/reports/exclusions/${(req.body as Exclusion).id}/reject`, { comment: '无施工许可' });
    expect(no.status, JSON.stringify(no.body)).to.equal(200);
    expect(no.body).to.include({ state: 'rejected' });
    expect(await rowOf(as.dadmin.client, r.C1, june, p.B)).to.deep.equal(before);
    // decided once only
    expect((await as.dadmin.client.post(`/reports/exclusions/${(req.body as Exclusion).id}/approve`, {})).status).to.equal(409);
  });

  it('when a requester, a planner of the same scope or a non-approver role tries to decide, then 403; a planner elsewhere gets 404', async () => {
    const own = await as.s1planner.client.post('/reports/exclusions', { regionId: r.G1, reason: 'force_majeure', ...period(sh(2026, 6, 2), sh(2026, 6, 3)), evidence: { text: '暴雨' } });
    expect(own.status, JSON.stringify(own.body)).to.equal(201);
    const id = (own.body as Exclusion).id;
    expect((own.body as Exclusion).pointIds).to.deep.equal([p.A]);
    const self = await as.s1planner.client.post(`/reports/exclusions/${id}/approve`, {});
    expect(self.status).to.equal(403);
    expect(self.body.error.message).to.match(/own request/);
    expect((await as.s1planner.client.get(`/reports/exclusions/${id}`)).body).to.include({ canDecide: false });

    const fromC1 = await as.c1op.client.post('/reports/exclusions', { regionId: r.C1, reason: 'power_cut', ...period(sh(2026, 6, 3), sh(2026, 6, 4)), evidence });
    const id2 = (fromC1.body as Exclusion).id;
    expect((fromC1.body as Exclusion).pointIds.sort()).to.deep.equal([p.A, p.B, p.C].sort());
    // the street planner reads the request without the point he may not see, and how many there are in all
    const seenAbove = (await as.s1planner.client.get(`/reports/exclusions/${id2}`)).body as Exclusion;
    expect(seenAbove.pointIds.sort()).to.deep.equal([p.A, p.B].sort());
    expect(seenAbove.pointCount).to.equal(3);
    const peer = await as.c1planner.client.post(`/reports/exclusions/${id2}/approve`, {});
    expect(peer.status).to.equal(403);
    expect(peer.body.error.message).to.match(/narrower scope/);
    expect((await as.s1op.client.post(`/reports/exclusions/${id2}/approve`, {})).status).to.equal(403);
    expect((await as.s2planner.client.post(`/reports/exclusions/${id2}/approve`, {})).status).to.equal(404);
    expect((await as.s2planner.client.get(`/reports/exclusions/${id2}`)).status).to.equal(404);
    expect(((await as.s2planner.client.get('/reports/exclusions')).body as { items: Exclusion[] }).items).to.deep.equal([]);
    // the street planner may (wider than the community), and the list tells him so
    const list = ((await as.s1planner.client.get('/reports/exclusions?state=pending')).body as { items: Exclusion[] }).items;
    expect(list.find((x) => x.id === id2)).to.include({ canDecide: true });
  });

  it('when a request is malformed or names what the requester may not exclude, then 422 / 404 naming the field, and viewers may not request', async () => {
    const both = await as.c1op.client.post('/reports/exclusions', { pointIds: [p.A], regionId: r.C1, reason: 'power_cut', ...period(sh(2026, 6, 2), sh(2026, 6, 3)), evidence });
    expect(both.status).to.equal(422);
    expect((both.body.error.details as Array<{ field: string }>).map((x) => x.field)).to.include('pointIds');
    const backwards = await as.c1op.client.post('/reports/exclusions', { pointIds: [p.A], reason: 'power_cut', ...period(sh(2026, 6, 3), sh(2026, 6, 2)), evidence });
    expect(backwards.status).to.equal(422);
    expect(backwards.body.error.details[0].field).to.equal('to');
    const noEvidence = await as.c1op.client.post('/reports/exclusions', { pointIds: [p.A], reason: 'typhoon', ...period(sh(2026, 6, 2), sh(2026, 6, 3)), evidence: { text: '' } });
    expect(noEvidence.status).to.equal(422);
    expect((noEvidence.body.error.details as Array<{ field: string }>).map((x) => x.field)).to.include.members(['reason', 'evidence.text']);
    const badUrl = await as.c1op.client.post('/reports/exclusions', { pointIds: [p.A], reason: 'power_cut', ...period(sh(2026, 6, 2), sh(2026, 6, 3)), evidence: { text: 'x', urls: ['javascript:alert(1)'] } });
    expect(badUrl.status).to.equal(422);
    expect(badUrl.body.error.details[0].field).to.equal('evidence.urls.0');
    const elsewhere = await as.c1op.client.post('/reports/exclusions', { regionId: r.S2, reason: 'power_cut', ...period(sh(2026, 6, 2), sh(2026, 6, 3)), evidence });
    expect(elsewhere.status).to.equal(404);
    expect(elsewhere.body.error.details[0].field).to.equal('regionId');
    expect((await as.viewer.client.post('/reports/exclusions', { pointIds: [p.A], reason: 'power_cut', ...period(sh(2026, 6, 2), sh(2026, 6, 3)), evidence })).status).to.equal(403);
  });

  it('when requests are made and decided, then every step is in the audit trail with its actor', async () => {
    const res = await as.dadmin.client.get('/audit?entity=report&limit=100');
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const entries = (res.body as { items: Array<{ action: string; actor: { username: string }; after: { state: string } }> }).items;
    const seen = entries.map((e) => `${e.action} ${e.actor.username} ${e.after.state}`);
    expect(seen).to.include.members([
      'exclusion.request c1op pending',
      'exclusion.approve s1planner approved',
      'exclusion.reject dadmin rejected',
      'exclusion.request s1planner pending',
    ]);
  });
});
