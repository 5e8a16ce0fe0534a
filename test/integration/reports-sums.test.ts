import { expect } from 'chai';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import type { OnlineRate, OnlineRateQuery, OnlineRateTrend } from '../../server/src/contracts/reports';
import type { Sharing } from '../../server/src/contracts/vocabulary';
import { prng } from '../../server/src/lib/prng';
import { createLogger } from '../../server/src/lib/logger';
import { monitoringOf } from '../../server/src/monitoring';
import { reportsOf } from '../../server/src/reports';
import { PointIndex } from '../../server/src/reports/point-index';
import { ReportService } from '../../server/src/reports/service';
import { SumsStore } from '../../server/src/reports/sums';
import { HistoryDriver, sh } from '../fixtures/history';
import { bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, tokenFor } from '../helpers/auth';
import { bearerClient, type ApiClient } from '../helpers/http';

const admin: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };
const ORGS = ['OrgA', 'OrgB', '运维丙'];
const SHARINGS: Sharing[] = ['own', 'up', 'all'];

/**
 * The online rate from the per-group sums (reports/sums.ts) against the per-point path, on randomized histories
 * written by monitoring's own write path (test/fixtures/history.ts): every figure of every row equal to the second,
 * for random ranges (cut at random seconds, whole days, whole months, a few minutes), callers of every scope and a
 * technician, by node and by organisation; after points move, change sharing or organisation, are deleted or added
 * (corrected per point until the next build); after a late write into a built day (read per point until rebuilt).
 */
describe('online-rate sums (reconciled with the per-point path, visibility, fallbacks)', function () {
  this.timeout(300_000);
  let app: TestApp;
  const r: Record<string, string> = {};
  const ids: string[] = [];
  const pointRegion = new Map<string, string>();
  let serial = 0;
  let driver: HistoryDriver;
  const rand = prng(20260614);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

  async function point(regionKey: string, sharing: Sharing, org: string, industry: string, name = `点${serial + 1}`): Promise<string> {
    serial += 1;
    const input = stripEcho(
      cameraInputSchema.parse({
        gbCode: `21030200${industry}${serial % 5 === 0 ? '131' : '132'}0${String(serial).padStart(6, '0')}`,
        name,
        // a grid is never a point's region: the point is in the grid's community, in the grid
        regionId: regionKey === 'G1' ? r.C1 : r[regionKey],
        gridId: regionKey === 'G1' ? r.G1 : null,
        address: `${name}地址`,
        endpoint: { host: `127.43.${Math.floor(serial / 250)}.${(serial % 250) + 1}` },
        sharing,
        maintainer: { org, contact: '张工', phone: `1390000${String(serial).padStart(4, '0')}` },
      }),
    );
    const id = (await app.registry.cameras.create(admin, input)).id;
    pointRegion.set(id, regionKey);
    return id;
  }

  const principals = (): Array<[string, Principal]> => [
    ['global admin', admin],
    ['district planner', { ...admin, role: 'planner', scopeRegionId: r.D }],
    ['street planner S1', { ...admin, role: 'planner', scopeRegionId: r.S1 }],
    ['street planner S2', { ...admin, role: 'planner', scopeRegionId: r.S2 }],
    ['community planner C1', { ...admin, role: 'planner', scopeRegionId: r.C1 }],
    ['grid planner G1', { ...admin, role: 'planner', scopeRegionId: r.G1 }],
    ['technician of OrgA', { ...admin, role: 'technician', scopeRegionId: r.D, maintainerOrg: 'OrgA' }],
  ];

  /** Both paths for one request; the figures must be the same, the sums must have been used. */
  async function reconcile(who: string, p: Principal, q: OnlineRateQuery, expectSource: 'sums' | 'points' = 'sums'): Promise<OnlineRate> {
    const service = reportsOf(app.ctx).service;
    const fast = await service.onlineRate(p, q);
    const slow = await service.onlineRate(p, q, { perPoint: true });
    expect(slow.source).to.equal('points');
    expect(fast.source, `${who} ${JSON.stringify(q)}`).to.equal(expectSource);
    expect({ ...fast, source: '' }, `${who} ${JSON.stringify(q)}`).to.deep.equal({ ...slow, source: '' });
    return fast;
  }

  const iso = (t: number): string => new Date(t).toISOString();

  async function randomRanges(n: number): Promise<number> {
    let checked = 0;
    const lo = sh(2026, 5, 24);
    const hi = sh(2026, 7, 4);
    for (let i = 0; i < n; i++) {
      const from = lo + Math.floor(rand() * (hi - lo));
      const kind = i % 4;
      const len = kind === 0 ? 60_000 + Math.floor(rand() * 600_000) : kind === 1 ? Math.floor(rand() * 3 * 86_400_000) : Math.floor(rand() * 40 * 86_400_000);
      const [who, p] = pick(principals());
      const region = pick(['D', 'S1', 'S2', 'C1']);
      // regions each scope may ask about (its subtree and its path up)
      const seen: Record<string, string[]> = { S1: ['D', 'S1', 'C1'], S2: ['D', 'S2'], C1: ['D', 'S1', 'C1'], G1: ['D', 'S1', 'C1'] };
      const scopeKey = Object.keys(r).find((k) => r[k] === p.scopeRegionId);
      if (scopeKey && seen[scopeKey] && !seen[scopeKey].includes(region)) continue;
      const q: OnlineRateQuery = { region: r[region], from: iso(from), to: iso(from + Math.max(1000, len)), by: i % 3 === 0 ? 'org' : 'node', limit: 500 };
      await reconcile(who, p, q);
      checked++;
    }
    return checked;
  }

  before(async () => {
    app = await bootAuthApp({ MONITOR_ENABLED: 'false', REPORT_SUMS_QUIET_SEC: '0', REPORT_TARGETS: 'key-public:98,industry:90' });
    await reportsOf(app.ctx).ready;
    const { regions } = app.registry;
    r.D = (await regions.create(admin, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    for (const [k, parent, tier] of [
      ['S1', 'D', 'street'],
      ['S2', 'D', 'street'],
      ['C1', 'S1', 'community'],
      ['C2', 'S1', 'community'],
      ['C3', 'S2', 'community'],
      ['C4', 'S2', 'community'],
      ['G1', 'C1', 'grid'],
    ] as const) {
      r[k] = (await regions.create(admin, { name: `${k}名`, tier, parentId: r[parent], code: null, households: null, boundary: null, note: '' })).id;
    }
    for (let i = 0; i < 36; i++) ids.push(await point(pick(['D', 'S1', 'S2', 'C1', 'C2', 'C4', 'G1']), pick(SHARINGS), pick(ORGS), pick(['00', '01', '08', '11'])));
    const k1 = await point('C3', 'up', 'OrgA', '00', '重点1');
    const i1 = await point('C3', 'up', 'OrgA', '08', '行业1');

    // May 24 – July 3 2026: random checks every 1–7 h, ~15 % failing, maintenance now and then, some points added late
    const d = new HistoryDriver(app.ctx.store.conn);
    const events: Array<{ at: number; run: () => void }> = [];
    for (const id of ids) {
      const start = rand() < 0.7 ? sh(2026, 5, 24) : sh(2026, 5, 24) + Math.floor(rand() * 35 * 86_400_000);
      events.push({ at: start, run: () => void d.add(id, start) });
      for (let t = start + 1000 + Math.floor(rand() * 3_600_000); t < sh(2026, 7, 3, 12); t += 3_600_000 + Math.floor(rand() * 6 * 3_600_000)) {
        const at = t;
        if (rand() < 0.03) {
          const on = rand() < 0.6;
          events.push({ at, run: () => void d.maintenance(id, at, on) });
        } else {
          const up = rand() >= 0.15;
          events.push({ at, run: () => void d.check(id, at, up) });
        }
      }
    }
    // the fixed pair in C3: key-public K1 DOWN exactly one day of June (96.6667 % < 98), industry I1 up (100 % ≥ 90)
    events.push({ at: sh(2026, 6, 1), run: () => void d.add(k1, sh(2026, 6, 1)) });
    events.push({ at: sh(2026, 6, 1), run: () => void d.check(k1, sh(2026, 6, 1), true) });
    events.push({ at: sh(2026, 6, 10), run: () => void d.check(k1, sh(2026, 6, 10), false) });
    events.push({ at: sh(2026, 6, 11), run: () => void d.check(k1, sh(2026, 6, 11), true) });
    events.push({ at: sh(2026, 6, 1), run: () => void d.add(i1, sh(2026, 6, 1)) });
    events.push({ at: sh(2026, 6, 1), run: () => void d.check(i1, sh(2026, 6, 1), true) });
    events.sort((a, b) => a.at - b.at);
    for (const e of events) e.run();
    await d.close(sh(2026, 7, 3, 12));
    await reportsOf(app.ctx).refreshSums();
    driver = d;
  });
  after(async () => {
    await app?.close();
  });

  it('when whole months are asked by node and by organisation, then the sums give every figure of the per-point path', async () => {
    for (const [who, p] of principals()) {
      for (const by of ['node', 'org'] as const) {
        const region = p.scopeRegionId === r.S2 ? r.S2 : p.scopeRegionId === r.C1 || p.scopeRegionId === r.G1 ? r.C1 : r.D;
        const june = await reconcile(who, p, { region, from: '2026-06-01', to: '2026-07-01', by, limit: 500 });
        if (who === 'global admin' && by === 'node') expect(june.total.upSec + june.total.downSec).to.be.greaterThan(0);
      }
    }
  });

  it('when random ranges are cut at random seconds (minutes to weeks, across months), then sums and per point agree to the second', async () => {
    expect(await randomRanges(60)).to.be.greaterThan(40);
  });

  it('when points move, change sharing or organisation, are deleted or added, then the answer is corrected before any rebuild, and equal after it', async () => {
    const [a, b, c, e] = ids;
    await app.registry.cameras.update(admin, a, { regionId: pointRegion.get(a) === 'S2' ? r.C1 : r.S2 });
    await app.registry.cameras.update(admin, b, { sharing: 'own', maintainer: { org: 'OrgB' } });
    await app.registry.cameras.update(admin, c, { maintainer: { org: 'OrgA' }, sharing: 'all' });
    await app.registry.cameras.remove(admin, e);
    await point('C2', 'all', 'OrgA', '00', '新点');
    for (const [who, p] of principals()) {
      const region = p.scopeRegionId === r.S2 ? r.S2 : p.scopeRegionId === r.C1 || p.scopeRegionId === r.G1 ? r.C1 : r.D;
      await reconcile(who, p, { region, from: '2026-06-01', to: '2026-07-01', by: 'node', limit: 500 });
      await reconcile(who, p, { region, from: '2026-05-30T13:14:15+08:00', to: '2026-07-02T01:02:03+08:00', by: 'org', limit: 500 });
    }
    expect(await randomRanges(20)).to.be.greaterThan(10);

    // a restart now: the stored builds were made under the old groups; the kept membership corrects them
    const cfg = app.ctx.config;
    const index = new PointIndex(cfg.REPORT_KEY_PUBLIC_INDUSTRIES);
    await index.load(app.ctx.store.conn);
    const history = monitoringOf(app.ctx).historyRead;
    const store = new SumsStore({ conn: app.ctx.store.conn, history, index, snapshotTimes: cfg.REPORT_SNAPSHOT_TIMES, months: cfg.HISTORY_MONTHS, quietMs: 0, logger: createLogger('silent') });
    await store.open();
    expect(store.buildOf(202606)?.before?.size).to.be.at.least(3);
    const restarted = new ReportService({
      conn: app.ctx.store.conn,
      regions: app.registry.regions,
      history,
      snapshotTimes: cfg.REPORT_SNAPSHOT_TIMES,
      timeZone: cfg.REPORT_TZ,
      targets: cfg.REPORT_TARGETS,
      keyPublicIndustries: cfg.REPORT_KEY_PUBLIC_INDUSTRIES,
      sums: { store, index },
    });
    for (const [who, p] of principals()) {
      const region = p.scopeRegionId === r.S2 ? r.S2 : p.scopeRegionId === r.C1 || p.scopeRegionId === r.G1 ? r.C1 : r.D;
      const q: OnlineRateQuery = { region, from: '2026-05-20T10:00:00+08:00', to: '2026-07-02', by: 'node', limit: 500 };
      const fast = await restarted.onlineRate(p, q);
      expect(fast.source, who).to.equal('sums');
      expect({ ...fast, source: '' }, who).to.deep.equal({ ...(await restarted.onlineRate(p, q, { perPoint: true })), source: '' });
    }

    await reportsOf(app.ctx).refreshSums();
    expect(await randomRanges(20)).to.be.greaterThan(10);
  });

  it('when a filter is not a key of the sums (device type), then the per-point path answers, with the same figures as unfiltered rows of that type', async () => {
    const q: OnlineRateQuery = { region: r.D, from: '2026-06-01', to: '2026-07-01', by: 'org', limit: 500, type: '131' };
    const res = await reportsOf(app.ctx).service.onlineRate(admin, q);
    expect(res.source).to.equal('points');
    expect(res.total.points).to.be.greaterThan(0);
    const all = await reportsOf(app.ctx).service.onlineRate(admin, { ...q, type: undefined });
    expect(res.total.points).to.be.lessThan(all.total.points);
    // an organisation and a classification are keys: answered from the sums, equal to per point
    await reconcile('admin, org filter', admin, { ...q, type: undefined, org: 'OrgA' });
    await reconcile('admin, class filter', admin, { ...q, type: undefined, class: 'industry' });
  });

  it('when a built day is written later, then that month is read per point until the sums are rebuilt', async () => {
    const d = driver;
    const late = await point('C4', 'all', 'OrgB', '00', '迟到点');
    d.add(late, sh(2026, 6, 20));
    d.check(late, sh(2026, 6, 20, 8), false).check(late, sh(2026, 6, 20, 9, 30), true);
    await d.close(sh(2026, 6, 22));
    const q: OnlineRateQuery = { region: r.D, from: '2026-06-01', to: '2026-07-01', by: 'node', limit: 500 };
    const stale = await reconcile('admin after a late write', admin, q, 'points');
    expect(stale.total.downSec).to.be.greaterThan(0);
    await reportsOf(app.ctx).refreshSums();
    const fresh = await reconcile('admin after the rebuild', admin, q, 'sums');
    expect(fresh.total).to.deep.equal(stale.total);
  });

  describe('over HTTP', () => {
    async function client(role: 'planner', scope: string | null): Promise<ApiClient> {
      return bearerClient(app, await tokenFor(app, await createUser(app, { role, scopeRegionId: scope })));
    }

    it('when a street is asked by node, then rows carry each classification beside its configured target and flag the one below', async () => {
      const planner = await client('planner', r.S2);
      const res = await planner.get(`/reports/online-rate?region=${r.S2}&from=2026-06-01&to=2026-07-01&by=node`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const body = res.body as OnlineRate;
      expect(body.targets).to.deep.equal({ 'key-public': 98, industry: 90 });
      expect(body.source).to.equal('sums');
      const c3 = body.rows.find((x) => x.key === r.C3);
      expect(c3?.classes).to.deep.equal([
        { class: 'key-public', points: 1, upSec: 2_505_600, downSec: 86_400, rate: 96.6667, target: 98, below: true },
        { class: 'industry', points: 1, upSec: 2_592_000, downSec: 0, rate: 100, target: 90, below: false },
      ]);
      expect(c3?.belowTarget).to.equal(true);
    });

    it('when worst-N is asked, then rows come worst first, N of them', async () => {
      const planner = await client('planner', null);
      const body = (await planner.get(`/reports/online-rate?region=${r.D}&from=2026-06-01&to=2026-07-01&by=org&sort=rate&limit=2`)).body as OnlineRate;
      expect(body.rows).to.have.length(2);
      expect(body.rows[0].rate ?? 101).to.be.at.most(body.rows[1].rate ?? 101);
    });

    it('when a 13-month trend is asked, then each month ends with the current one and June equals the June report', async () => {
      const planner = await client('planner', r.D);
      const res = await planner.get(`/reports/online-rate/trend?region=${r.D}&months=13&by=node`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const body = res.body as OnlineRateTrend;
      expect(body.months).to.have.length(13);
      const now = new Date();
      const here = new Date(now.getTime() + 8 * 3_600_000);
      expect(body.months[12].month).to.equal(`${here.getUTCFullYear()}-${String(here.getUTCMonth() + 1).padStart(2, '0')}`);
      const june = body.months.find((m) => m.month === '2026-06');
      if (june) {
        const direct = (await planner.get(`/reports/online-rate?region=${r.D}&from=2026-06-01&to=2026-07-01&by=node&limit=10000`)).body as OnlineRate;
        expect(june.total).to.deep.equal(direct.total);
        expect(june.source).to.equal('sums');
      }
    });

    it('when a query names an unknown classification or a bad type, then 400 names the field', async () => {
      const planner = await client('planner', r.D);
      const bad = await planner.get(`/reports/online-rate?region=${r.D}&from=2026-06-01&to=2026-07-01&class=key`);
      expect(bad.status).to.equal(400);
      expect(JSON.stringify(bad.body.error.details)).to.match(/class/);
      const badType = await planner.get(`/reports/online-rate/trend?region=${r.D}&months=40`);
      expect(badType.status).to.equal(400);
      expect(JSON.stringify(badType.body.error.details)).to.match(/months/);
    });

    it('when the OpenAPI document is read, then the trend route and the new query fields are described', async () => {
      const doc = (await (await client('planner', null)).get('/api/v1/openapi.json')).body as { paths: Record<string, { get?: { parameters?: Array<{ name: string }> } }> };
      const trend = doc.paths['/api/v1/reports/online-rate/trend']?.get ?? doc.paths['/reports/online-rate/trend']?.get;
      expect(trend?.parameters?.map((x) => x.name)).to.include.members(['region', 'months', 'by']);
      const rate = doc.paths['/api/v1/reports/online-rate']?.get ?? doc.paths['/reports/online-rate']?.get;
      expect(rate?.parameters?.map((x) => x.name)).to.include.members(['sort', 'org', 'class', 'type']);
    });
  });

  describe('with approved exclusions', () => {
    it('when an exclusion is approved, then the sums path takes its points out exactly as the per-point path does, and names it on the rows', async () => {
      const q: OnlineRateQuery = { region: r.D, from: '2026-06-01', to: '2026-07-01', by: 'node', limit: 500 };
      const before = await reconcile('admin before the exclusion', admin, q);
      expect(before.total.excludedSec).to.equal(0);
      const ex = reportsOf(app.ctx).exclusions;
      // requested by a street planner, approved by a global admin (never the requester)
      const requester: Principal = { ...admin, userId: '0000000000000000000000a1', username: 'planner-s2', role: 'planner', scopeRegionId: r.S2 };
      const approver: Principal = { ...admin, userId: '0000000000000000000000a2', username: 'approver' };
      const req = await ex.create(requester, {
        regionId: r.C3,
        reason: 'power_cut',
        from: '2026-06-10T00:00:00+08:00',
        to: '2026-06-10T12:00:00+08:00',
        evidence: { text: '供电局停电通知', urls: [] },
      });
      await ex.decide(approver, req.id, true, { comment: '' });
      for (const [who, p] of principals()) {
        const region = p.scopeRegionId === r.S2 ? r.S2 : p.scopeRegionId === r.C1 || p.scopeRegionId === r.G1 ? r.C1 : r.D;
        await reconcile(`${who} with an exclusion`, p, { ...q, region });
        await reconcile(`${who} with an exclusion, cut range`, p, { region, from: '2026-06-09T13:14:15+08:00', to: '2026-06-10T05:00:00+08:00', by: 'org', limit: 500 });
      }
      const after = await reconcile('admin after the exclusion', admin, q);
      // C3's two points: K1 was DOWN all of 10 June (12 h of it leave), I1 up (12 h leave)
      expect(after.total.excludedSec).to.equal(2 * 43_200);
      expect(after.total.downSec).to.equal(before.total.downSec - 43_200);
      expect(after.total.upSec).to.equal(before.total.upSec - 43_200);
      const s2 = after.rows.find((x) => x.key === r.S2);
      expect(s2?.exclusions.map((e) => e.reason)).to.deep.equal(['power_cut']);
      expect(s2?.exclusions[0].approver).to.equal('approver');
    });
  });
});
