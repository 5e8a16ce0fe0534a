import { expect } from 'chai';
// exceljs' streaming reader decodes UTF-8 only with the fix in lib/exceljs.ts, which must load first
import '../../server/src/lib/exceljs';
import ExcelJS from 'exceljs';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import type { Assessment, AssessmentCamera, AssessmentContractor } from '../../server/src/contracts/assessment';
import type { Exclusion } from '../../server/src/contracts/exclusions';
import type { OnlineRate, OnlineRateRow } from '../../server/src/contracts/reports';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs, tokenFor } from '../helpers/auth';
import { apiUrl, type ApiClient } from '../helpers/http';
import { HistoryDriver, sh } from '../fixtures/history';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

const JUNE = 2_592_000;
const H = 3600;

/**
 * Approved exclusions in the monthly assessment (考核表), over real HTTP and the real store. District D → street S1
 * → community C1. June 2026 (30 days, 2,592,000 s): P (甲维保公司) DOWN 10 June 10:00–18:00 Asia/Shanghai, 8 h;
 * Q (乙维保公司) UP all month. Their history — month documents and transitions — comes from monitoring's own
 * write path with an injected clock (test/fixtures/history.ts): the exclusion's cut is computed from transitions.
 * Rule: −1 per camera with more than 6 h of faults (ASSESSMENT_DEDUCTIONS=6:1), so P's 8 h cost a point and 4 h
 * do not. An exclusion (停电) of 10 June 12:00–16:00 covers 4 of P's 8 DOWN hours.
 *
 * June is long past its grace period when this runs, so the first read closes it (version 1). README "Month
 * close": later exclusions do not change a closed month; a re-issue freezes today's data (approved exclusions
 * included) as the next version, and older versions stay readable.
 */
describe('approved exclusions in the monthly assessment: requested, approved, rejected; closed month and re-issue', function () {
  this.timeout(120_000);
  let app: TestApp;
  const r: Record<string, string> = {};
  const p: Record<string, string> = {};
  let requester: ApiClient;
  let approver: ApiClient;
  let admin: ApiClient;
  let adminToken: string;
  let v1: Assessment;
  let v1File: Buffer;
  let v2: Assessment;

  const evidence = { text: '供电公司停电通知：6月10日12:00-16:00 计划检修', urls: ['https://example.test/notice/0610'] };
  const period = (a: number, b: number): { from: string; to: string } => ({ from: new Date(a).toISOString(), to: new Date(b).toISOString() });

  async function assessment(query = ''): Promise<Assessment> {
    const res = await approver.get(`/reports/assessment?month=2026-06&cameras=10${query}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body as Assessment;
  }

  async function xlsx(query = ''): Promise<Buffer> {
    const res = await fetch(apiUrl(app, `/reports/assessment/xlsx?month=2026-06${query}`), { headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).to.equal(200);
    return Buffer.from(await res.arrayBuffer());
  }

  async function rateRow(key: string): Promise<OnlineRateRow> {
    const res = await approver.get(`/reports/online-rate?region=${r.D}&from=2026-06-01&to=2026-07-01&by=point`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const row = (res.body as OnlineRate).rows.find((x) => x.key === key);
    if (!row) throw new Error(`no row for ${key}`);
    return row;
  }

  const camera = (a: Assessment, id: string): AssessmentCamera | undefined => a.cameras.find((c) => c.id === id);
  const contractor = (a: Assessment, org: string): AssessmentContractor | undefined => a.contractors.find((c) => c.org === org);

  before(async () => {
    app = await bootAuthApp({ MONITOR_ENABLED: 'false', ASSESSMENT_DEDUCTIONS: '6:1' });
    const { regions, cameras } = app.registry;
    r.D = (await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    r.S1 = (await regions.create(fixture, { name: '站前街道', tier: 'street', parentId: r.D, code: null, households: null, boundary: null, note: '' })).id;
    r.C1 = (await regions.create(fixture, { name: '光明社区', tier: 'community', parentId: r.S1, code: null, households: null, boundary: null, note: '' })).id;
    for (const [key, serial, org] of [
      ['P', 1, '甲维保公司'],
      ['Q', 2, '乙维保公司'],
    ] as const) {
      const input = stripEcho(
        cameraInputSchema.parse({
          gbCode: `21030200001320${String(serial).padStart(6, '0')}`,
          name: `${key}点`,
          regionId: r.C1,
          endpoint: { host: `127.44.0.${serial}` },
          sharing: 'up',
          maintainer: { org, contact: '张工', phone: '13900000000' },
        }),
      );
      p[key] = (await cameras.create(fixture, input)).id;
    }
    const d = new HistoryDriver(app.ctx.store.conn);
    for (const key of ['P', 'Q']) d.add(p[key], sh(2026, 6, 1));
    d.check(p.P, sh(2026, 6, 1), true).check(p.P, sh(2026, 6, 10, 10), false).check(p.P, sh(2026, 6, 10, 18), true);
    d.check(p.Q, sh(2026, 6, 1), true);
    await d.close(sh(2026, 7, 1));

    requester = await loginAs(app, await createUser(app, { role: 'operator', scopeRegionId: r.C1, username: 'c1op' }));
    approver = await loginAs(app, await createUser(app, { role: 'planner', scopeRegionId: r.D, username: 'dplanner' }));
    admin = await loginAs(app, bootAdmin);
    adminToken = await tokenFor(app, await createUser(app, { role: 'admin', scopeRegionId: null }));
  });
  after(async () => {
    await app?.close();
  });

  let requestId: string;

  it('when the exclusion is only requested, then June closes as version 1 counting all 8 h: P 28,800 s, 98.8889 %, −1, 甲 scores 99.0', async () => {
    const req = await requester.post('/reports/exclusions', { pointIds: [p.P], reason: 'power_cut', ...period(sh(2026, 6, 10, 12), sh(2026, 6, 10, 16)), evidence });
    expect(req.status, JSON.stringify(req.body)).to.equal(201);
    expect(req.body).to.include({ state: 'pending' });
    requestId = (req.body as Exclusion).id;

    v1 = await assessment();
    expect(v1.status).to.include({ state: 'closed', version: 1 });
    expect(camera(v1, p.P)).to.include({ faultSec: 8 * H, faultHours: 8, rate: 98.8889, deduction: 1 });
    expect(camera(v1, p.Q)).to.include({ faultSec: 0, rate: 100, deduction: 0 });
    expect(contractor(v1, '甲维保公司')).to.include({ points: 1, faultyCameras: 1, faultHours: 8, upSec: JUNE - 8 * H, downSec: 8 * H, rate: 98.8889, deduction: 1, score: 99, grade: 'pass', rank: 2 });
    expect(contractor(v1, '乙维保公司')).to.include({ faultyCameras: 0, score: 100, rank: 1 });
    // pooled over both points: 5,155,200 ÷ 5,184,000
    expect(v1.summary).to.include({ points: 2, faultyCameras: 1, faultHours: 8, upSec: 2 * JUNE - 8 * H, downSec: 8 * H, rate: 99.4444 });
    v1File = await xlsx();

    const row = await rateRow(p.P);
    expect(row).to.include({ upSec: JUNE - 8 * H, downSec: 8 * H, excludedSec: 0, rate: 98.8889 });
  });

  it('when the exclusion is approved after the close, then the online rate leaves its 4 h out (99.4413 %) but the closed month is unchanged, JSON and XLSX byte for byte', async () => {
    const ok = await approver.post(`/reports/exclusions/${requestId}/approve`, { comment: '核实无误' });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
    expect(ok.body).to.include({ state: 'approved' });

    const row = await rateRow(p.P);
    expect(row).to.include({ upSec: JUNE - 8 * H, downSec: 4 * H, excludedSec: 4 * H, rate: 99.4413 });
    expect(row.exclusions.map((e) => [e.id, e.reason, e.approver])).to.deep.equal([[requestId, 'power_cut', 'dplanner']]);

    expect(await assessment()).to.deep.equal(v1);
    expect((await xlsx()).equals(v1File), 'closed month XLSX changed').to.equal(true);
  });

  it('when June is re-issued, then version 2 follows the approved exclusion: P 14,400 s (4 h), 99.4413 %, no deduction, 甲 scores 100.0; version 1 still reads 8 h', async () => {
    const res = await admin.post('/reports/assessment/reissue', { month: '2026-06', reason: '停电免责批准后重新签发' });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body).to.include({ version: 2 });

    v2 = await assessment();
    expect(v2.status).to.include({ state: 'closed', version: 2 });
    expect(camera(v2, p.P)).to.include({ faultSec: 4 * H, faultHours: 4, rate: 99.4413, deduction: 0 });
    expect(contractor(v2, '甲维保公司')).to.include({ points: 1, faultyCameras: 0, faultHours: 4, upSec: JUNE - 8 * H, downSec: 4 * H, rate: 99.4413, deduction: 0, score: 100, grade: 'pass' });
    // 5,155,200 ÷ 5,169,600
    expect(v2.summary).to.include({ points: 2, faultyCameras: 0, faultHours: 4, upSec: 2 * JUNE - 8 * H, downSec: 4 * H, rate: 99.7214 });

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await xlsx()) as unknown as ArrayBuffer);
    const rows: unknown[][] = [];
    wb.getWorksheet('点位故障时长')?.eachRow((row, n) => {
      if (n > 1) rows.push([row.getCell(1).value, row.getCell(5).value, row.getCell(6).value, row.getCell(8).value]);
    });
    expect(rows).to.deep.equal([
      ['21030200001320000001', 4 * H, 4, 0],
      ['21030200001320000002', 0, 0, 0],
    ]);

    const old = await assessment('&version=1');
    expect(camera(old, p.P)).to.include({ faultSec: 8 * H, deduction: 1 });
    expect((await xlsx('&version=1')).equals(v1File)).to.equal(true);
  });

  it('when another request for P is rejected, then nothing changes: the online rate keeps 4 h excluded and a re-issue (version 3) gives version 2’s figures', async () => {
    const req = await requester.post('/reports/exclusions', { pointIds: [p.P], reason: 'construction', ...period(sh(2026, 6, 10, 10), sh(2026, 6, 10, 12)), evidence });
    expect(req.status, JSON.stringify(req.body)).to.equal(201);
    const no = await approver.post(`/reports/exclusions/${(req.body as Exclusion).id}/reject`, { comment: '无施工许可' });
    expect(no.status, JSON.stringify(no.body)).to.equal(200);
    expect(no.body).to.include({ state: 'rejected' });

    expect(await rateRow(p.P)).to.include({ downSec: 4 * H, excludedSec: 4 * H, rate: 99.4413 });
    const res = await admin.post('/reports/assessment/reissue', { month: '2026-06', reason: '复核' });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const v3 = await assessment();
    expect(v3.status).to.include({ version: 3 });
    const figures = (a: Assessment): unknown => ({ summary: a.summary, contractors: a.contractors, regions: a.regions, cameras: a.cameras });
    expect(figures(v3)).to.deep.equal(figures(v2));
  });
});
