import { expect } from 'chai';
// exceljs' streaming reader decodes UTF-8 only with the fix in lib/exceljs.ts, which must load first
import '../../server/src/lib/exceljs';
import ExcelJS from 'exceljs';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import { assessmentGradeLabels, type Assessment } from '../../server/src/contracts/assessment';
import type { Sharing } from '../../server/src/contracts/vocabulary';
import { Calendar } from '../../server/src/lib/calendar';
import { cameraCells } from '../../server/src/reports/assessment-xlsx';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs, tokenFor } from '../helpers/auth';
import { apiUrl, bearerClient, type ApiClient } from '../helpers/http';
import { writeMonth } from '../fixtures/month-docs';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

type CellValue = string | number | null;

/** A worksheet's rows below the header as plain values (an empty cell reads null). */
function rowsOf(wb: ExcelJS.Workbook, name: string, width: number): CellValue[][] {
  const ws = wb.getWorksheet(name);
  if (!ws) throw new Error(`no sheet ${name}`);
  const out: CellValue[][] = [];
  ws.eachRow((row, n) => {
    if (n === 1) return;
    const cells: CellValue[] = [];
    for (let c = 1; c <= width; c++) {
      const v = row.getCell(c).value;
      cells.push(v === undefined || v === null ? null : (v as CellValue));
    }
    out.push(cells);
  });
  return out;
}

/**
 * The monthly contractor assessment over real HTTP, the real store, the one region tree and the one visibility
 * rule. District D → streets S1 (community C1) and S2. June 2026 (long closed by the time this runs, so the
 * first read closes it as version 1). 甲维保公司 maintains 1,000 points: 37 DOWN 9 h (all in C1), 20 DOWN
 * exactly 8 h (S2: not more than 8 h), the rest up all month; 乙维保公司 maintains 2 points of S2, one DOWN
 * 10 h. June's history is written as month documents (test/fixtures/month-docs.ts).
 */
describe('GET /reports/assessment (考核表): JSON and XLSX from one computation, month close, re-issue', function () {
  this.timeout(180_000);
  let app: TestApp;
  const r: Record<string, string> = {};
  const ids: Record<string, string[]> = { faulty: [], edge: [], fine: [], yi: [] };
  let serial = 0;
  let admin: ApiClient;
  let adminToken: string;

  /** Points are registered in bulk (the import path: 1,002 single creates take minutes on a loaded machine). */
  const pending: Array<{ key: keyof typeof ids; input: ReturnType<typeof stripEcho> }> = [];
  function point(key: keyof typeof ids, regionKey: string, sharing: Sharing, org: string): void {
    serial += 1;
    const input = stripEcho(
      cameraInputSchema.parse({
        gbCode: `21030200001320${String(serial).padStart(6, '0')}`,
        name: `点位${serial}`,
        regionId: r[regionKey],
        address: `地址${serial}`,
        endpoint: { host: `127.43.${Math.floor(serial / 250)}.${(serial % 250) + 1}` },
        sharing,
        maintainer: { org, contact: '张工', phone: '13900000000' },
      }),
    );
    pending.push({ key, input });
  }

  async function register(): Promise<void> {
    const res = await app.registry.cameras.upsertManyValidated(
      pending.map((x) => x.input),
      { userId: fixture.userId, username: fixture.username },
    );
    const idOf = new Map(res.outcomes.map((o) => [o.gbCode, o.id]));
    for (const x of pending) ids[x.key].push(idOf.get(x.input.gbCode) as string);
  }

  async function download(token: string, query: string): Promise<{ status: number; bytes: Buffer; type: string | null; disposition: string | null }> {
    const res = await fetch(apiUrl(app, `/reports/assessment/xlsx?${query}`), { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition') };
  }

  async function workbook(bytes: Buffer): Promise<ExcelJS.Workbook> {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(bytes as unknown as ArrayBuffer);
    return wb;
  }

  async function plannerToken(scope: string | null): Promise<string> {
    return tokenFor(app, await createUser(app, { role: 'planner', scopeRegionId: scope }));
  }

  before(async () => {
    app = await bootAuthApp({ MONITOR_ENABLED: 'false' });
    const { regions } = app.registry;
    r.D = (await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    r.S1 = (await regions.create(fixture, { name: '站前街道', tier: 'street', parentId: r.D, code: null, households: null, boundary: null, note: '' })).id;
    r.S2 = (await regions.create(fixture, { name: '新兴街道', tier: 'street', parentId: r.D, code: null, households: null, boundary: null, note: '' })).id;
    r.C1 = (await regions.create(fixture, { name: '光明社区', tier: 'community', parentId: r.S1, code: null, households: null, boundary: null, note: '' })).id;
    for (let i = 0; i < 37; i++) point('faulty', 'C1', 'up', '甲维保公司');
    for (let i = 0; i < 20; i++) point('edge', 'S2', 'up', '甲维保公司');
    for (let i = 0; i < 943; i++) point('fine', i % 2 ? 'C1' : 'S2', 'up', '甲维保公司');
    point('yi', 'S2', 'up', '乙维保公司');
    point('yi', 'S2', 'up', '乙维保公司');
    await register();
    expect(Object.values(ids).flat().filter(Boolean)).to.have.length(1002);

    await writeMonth(app.ctx.store.conn, 202606, [
      ...ids.faulty.map((id) => ({ id, down: [[10, 9 * 3600]] as const })),
      ...ids.edge.map((id) => ({ id, down: [[12, 8 * 3600]] as const })),
      ...ids.fine.map((id) => ({ id })),
      { id: ids.yi[0], down: [[20, 10 * 3600]] as const },
      { id: ids.yi[1] },
    ]);

    admin = await loginAs(app, bootAdmin);
    adminToken = await tokenFor(app, await createUser(app, { role: 'admin', scopeRegionId: null }));
  });
  after(async () => {
    await app?.close();
  });

  let v1: Assessment;
  let v1File: Buffer;

  it('when a district planner asks for June 2026, then 甲维保公司 (1,000 points, 37 over 8 h) scores 63.0 and fails, the month is closed as version 1', async () => {
    const planner = bearerClient(app, await plannerToken(r.D));
    const res = await planner.get(`/reports/assessment?month=2026-06&cameras=50`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const a = res.body as Assessment;
    expect(a.status).to.include({ state: 'closed', version: 1 });
    expect(a.status.versions.map((v) => [v.version, v.issuedBy, v.reason])).to.deep.equal([[1, null, null]]);
    expect(a.region).to.deep.include({ id: r.D, name: '铁东区' });
    expect(a.timeZone).to.equal('Asia/Shanghai');
    expect(a.rule).to.deep.equal({ fullScore: 100, deductions: [{ overHours: 8, points: 1 }], passScore: 90, fairScore: 80 });
    const jia = a.contractors.find((c) => c.org === '甲维保公司');
    expect(jia).to.include({ rank: 2, points: 1000, faultyCameras: 37, deduction: 37, score: 63, grade: 'fail' });
    expect(jia?.downSec).to.equal(37 * 9 * 3600 + 20 * 8 * 3600);
    expect(a.contractors.find((c) => c.org === '乙维保公司')).to.include({ rank: 1, points: 2, faultyCameras: 1, score: 99, grade: 'pass' });
    expect(a.summary).to.include({ points: 1002, faultyCameras: 38, contractors: 2 });
    expect(a.summary.grades).to.deep.equal({ pass: 1, fair: 0, fail: 1 });
    // streets ranked by pooled rate: S2 (no point over 8 h… but 20 × 8 h and one 10 h) against S1 (37 × 9 h over 518 points)
    expect(a.regions.map((x) => x.id).sort()).to.deep.equal([r.S1, r.S2].sort());
    expect(a.cameras).to.have.length(50);
    expect(a.cameras[0]).to.include({ faultSec: 36_000, org: '乙维保公司', deduction: 1 });
    expect(a.cameras.slice(1, 38).every((c) => c.faultSec === 32_400 && c.deduction === 1)).to.equal(true);
    expect(a.cameras.slice(38, 50).every((c) => c.faultSec === 28_800 && c.deduction === 0)).to.equal(true);
    expect(a.camerasTotal).to.equal(1002);
    const audit = await admin.get('/audit?entity=report&entityId=2026-06');
    expect((audit.body.items as Array<{ action: string; actor: { username: string } }>).map((e) => [e.action, e.actor.username])).to.deep.equal([['month.close', 'system']]);
  });

  it('when the XLSX is downloaded, then its four sheets hold exactly the numbers of the JSON answer (read back with exceljs)', async () => {
    const res = await admin.get(`/reports/assessment?month=2026-06&cameras=1002`);
    v1 = res.body as Assessment;
    const file = await download(adminToken, 'month=2026-06');
    expect(file.status).to.equal(200);
    expect(file.type).to.equal('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(file.disposition).to.match(/attachment; filename="assessment-2026-06-[0-9a-f]{24}-v1\.xlsx"/);
    v1File = file.bytes;
    const wb = await workbook(file.bytes);
    expect(wb.worksheets.map((w) => w.name)).to.deep.equal(['汇总', '区域排名', '维保单位得分', '点位故障时长']);

    expect(rowsOf(wb, '维保单位得分', 9)).to.deep.equal(
      v1.contractors.map((c) => [c.rank, c.org || '（未填写维保单位）', c.points, c.faultyCameras, c.faultHours, c.deduction, c.score, assessmentGradeLabels[c.grade], c.rate]),
    );
    const tier = { district: '区', street: '街道', community: '社区', grid: '网格' } as const;
    expect(rowsOf(wb, '区域排名', 9)).to.deep.equal(v1.regions.map((x) => [x.rank, x.name, tier[x.tier], x.points, x.faultyCameras, x.faultHours, x.upSec, x.downSec, x.rate]));
    const cameras = rowsOf(wb, '点位故障时长', 8);
    expect(cameras).to.have.length(v1.camerasTotal);
    expect(cameras).to.deep.equal(v1.cameras.map(cameraCells));

    const summary = new Map(rowsOf(wb, '汇总', 2).map(([k, v]) => [k, v]));
    expect(summary.get('考核月份')).to.equal('2026-06');
    expect(summary.get('状态')).to.equal('已关账（第 1 版）');
    expect(summary.get('点位总数')).to.equal(v1.summary.points);
    expect(summary.get('故障超时点位数')).to.equal(v1.summary.faultyCameras);
    expect(summary.get('故障总时长（小时）')).to.equal(v1.summary.faultHours);
    expect(summary.get('在线率（%）')).to.equal(v1.summary.rate);
    expect(summary.get('不合格')).to.equal(1);
    expect(wb.created?.toISOString()).to.equal(v1.status.versions[0].issuedAt);
  });

  it('when a street planner asks, then only the points he may see are assessed, and another street is 404', async () => {
    const s2 = bearerClient(app, await plannerToken(r.S2));
    const a = (await s2.get('/reports/assessment?month=2026-06')).body as Assessment;
    expect(a.region?.id).to.equal(r.S2);
    // his street's 甲 points (sharing up): the 20 at exactly 8 h and half the rest; none over 8 h
    expect(a.contractors.find((c) => c.org === '甲维保公司')).to.include({ points: 20 + 472, faultyCameras: 0, score: 100, grade: 'pass' });
    expect(a.summary.points).to.equal(20 + 472 + 2);
    expect((await s2.get(`/reports/assessment?month=2026-06&region=${r.S1}`)).status).to.equal(404);
    const file = await download(await plannerToken(r.S2), 'month=2026-06');
    expect(rowsOf(await workbook(file.bytes), '点位故障时长', 8)).to.have.length(a.camerasTotal);
    const viewer = bearerClient(app, await tokenFor(app, await createUser(app, { role: 'viewer', scopeRegionId: r.D })));
    expect((await viewer.get('/reports/assessment?month=2026-06')).status).to.equal(403);
  });

  it('when points are renamed and moved and a region renamed after the close, then the closed month’s JSON and XLSX are byte-for-byte unchanged, while the open month shows the edits', async () => {
    const moved = ids.faulty[0];
    const renamed = ids.faulty[1];
    await app.registry.cameras.update(fixture, renamed, { name: '改名后的点位' });
    await app.registry.cameras.update(fixture, moved, { regionId: r.S2 });
    await app.registry.regions.update(fixture, r.S1, { name: '站前街道（改）' });
    await app.registry.cameras.update(fixture, ids.fine[0], { maintainer: { org: '丙维保公司', contact: '李工', phone: '13900000001' } });

    const again = await download(adminToken, 'month=2026-06');
    expect(again.bytes.equals(v1File), 'closed month XLSX changed').to.equal(true);
    expect((await admin.get(`/reports/assessment?month=2026-06&cameras=1002`)).body).to.deep.equal(v1);

    // the edits are real: the open month (this one) shows them
    const cal = new Calendar('Asia/Shanghai');
    const day = cal.dayOf(Date.now());
    const current = `${Math.floor(day.month / 100)}-${String(day.month % 100).padStart(2, '0')}`;
    const open = (await admin.get(`/reports/assessment?month=${current}&cameras=2000`)).body as Assessment;
    expect(open.status).to.include({ state: 'open', version: null });
    expect(open.cameras.find((c) => c.id === renamed)?.name).to.equal('改名后的点位');
    expect(open.cameras.find((c) => c.id === moved)?.region).to.equal('铁东区 / 新兴街道');
    expect(open.contractors.map((c) => c.org)).to.include('丙维保公司');
    const openFile = await workbook((await download(adminToken, `month=${current}`)).bytes);
    expect(rowsOf(openFile, '汇总', 2).find(([k]) => k === '状态')?.[1]).to.match(/^未关账/);
  });

  it('when an admin re-issues June with a reason, then version 2 reflects the edits, version 1 stays readable byte-for-byte, and both are in the audit trail', async () => {
    const planner = bearerClient(app, await plannerToken(null));
    expect((await planner.post('/reports/assessment/reissue', { month: '2026-06', reason: '更正' })).status).to.equal(403);
    const noReason = await admin.post('/reports/assessment/reissue', { month: '2026-06', reason: ' ' });
    expect(noReason.status).to.equal(422);
    expect(noReason.body.error.details[0].field).to.equal('reason');

    const res = await admin.post('/reports/assessment/reissue', { month: '2026-06', reason: '点位归属更正后重新签发' });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body).to.include({ version: 2, issuedBy: bootAdmin.username, reason: '点位归属更正后重新签发' });

    const v2 = (await admin.get('/reports/assessment?month=2026-06&cameras=1002')).body as Assessment;
    expect(v2.status).to.include({ state: 'closed', version: 2 });
    expect(v2.status.versions.map((v) => v.version)).to.deep.equal([1, 2]);
    expect(v2.cameras.find((c) => c.id === ids.faulty[1])?.name).to.equal('改名后的点位');
    expect(v2.contractors.find((c) => c.org === '甲维保公司')).to.include({ points: 999, faultyCameras: 37, score: 63 });
    expect(v2.regions.find((x) => x.id === r.S1)?.name).to.equal('站前街道（改）');

    const old = await download(adminToken, 'month=2026-06&version=1');
    expect(old.bytes.equals(v1File)).to.equal(true);
    const v2File = await download(adminToken, 'month=2026-06');
    expect(v2File.disposition).to.match(/-v2\.xlsx"/);
    expect(v2File.bytes.equals(v1File)).to.equal(false);
    expect(rowsOf(await workbook(v2File.bytes), '维保单位得分', 9).map((row) => row[1])).to.include('丙维保公司');

    const audit = await admin.get('/audit?entity=report&entityId=2026-06');
    const entries = audit.body.items as Array<{ action: string; actor: { username: string }; meta: { reason?: string }; before: { version: number } | null; after: { version: number } }>;
    expect(entries.map((e) => [e.action, e.actor.username, e.after.version])).to.deep.equal([
      ['month.reissue', bootAdmin.username, 2],
      ['month.close', 'system', 1],
    ]);
    expect(entries[0].meta.reason).to.equal('点位归属更正后重新签发');
    expect(entries[0].before?.version).to.equal(1);
    expect((await admin.get('/reports/assessment?month=2026-06&version=3')).status).to.equal(404);
  });

  it('when the month is open, malformed or in the future, then a re-issue is 409 and the query 400 naming the field', async () => {
    const cal = new Calendar('Asia/Shanghai');
    const m = cal.dayOf(Date.now()).month;
    const current = `${Math.floor(m / 100)}-${String(m % 100).padStart(2, '0')}`;
    const open = await admin.post('/reports/assessment/reissue', { month: current, reason: '试一下' });
    expect(open.status).to.equal(409);
    expect(open.body.error.details[0].field).to.equal('month');
    const bad = await admin.get('/reports/assessment?month=2026-13');
    expect(bad.status).to.equal(400);
    expect(bad.body.error.details[0].field).to.equal('month');
    const future = await admin.get('/reports/assessment?month=2099-01');
    expect(future.status).to.equal(400);
    expect(future.body.error.details[0].field).to.equal('month');
  });

  it('when the OpenAPI document is read, then the assessment routes are described', async () => {
    const doc = (await admin.get('/api/v1/openapi.json')).body as { paths: Record<string, Record<string, { parameters?: Array<{ name: string }> }>> };
    const path = (p: string) => doc.paths[`/api/v1${p}`] ?? doc.paths[p];
    expect(path('/reports/assessment')?.get?.parameters?.map((x) => x.name)).to.include.members(['month', 'region', 'version', 'cameras']);
    expect(path('/reports/assessment/xlsx')?.get).to.not.equal(undefined);
    expect(path('/reports/assessment/reissue')?.post).to.not.equal(undefined);
  });
});
