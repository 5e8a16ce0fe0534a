import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import type { Assessment } from '../../server/src/contracts/assessment';
import { artifacts, CHROMIUM, ensureClientBuilt } from '../helpers/browser';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { loginAs } from '../helpers/auth';
import { apiUrl, type ApiClient } from '../helpers/http';
import { writeMonth, type PointMonth } from '../fixtures/month-docs';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

declare const document: { querySelector(selector: string): { textContent: string | null } | null };

/** Each row's cell texts of a table. */
async function tableRows(page: Page, selector: string): Promise<string[][]> {
  const rows = page.locator(`${selector} tbody tr`);
  const out: string[][] = [];
  for (let i = 0; i < (await rows.count()); i++) out.push((await rows.nth(i).locator('td').allTextContents()).map((x) => x.trim()));
  return out;
}

/*
 * The assessment sheet in the console: June 2026 of a small district (3 contractors, one of them with 4 points
 * over 8 h of faults, at −6 each under this app's rule: 76, fail). The page shows the numbers the API answers, in Chinese and in English; the XLSX the
 * page's download link gives is byte-for-byte the file of the API (a closed month); the print page renders
 * the same sheet alone.
 */
describe('assessment sheet in headless Chromium', function () {
  this.timeout(180_000);
  let app: TestApp;
  let admin: ApiClient;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`e2e needs ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    ensureClientBuilt();
    fs.mkdirSync(artifacts, { recursive: true });
    app = await bootAuthApp({ MONITOR_ENABLED: 'false', ASSESSMENT_DEDUCTIONS: '8:6' });
    admin = await loginAs(app, bootAdmin);
    const { regions, cameras } = app.registry;
    const d = await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' });
    const streets: Array<{ id: string; name: string }> = [];
    for (const name of ['站前街道', '新兴街道', '解放街道']) streets.push(await regions.create(fixture, { name, tier: 'street', parentId: d.id, code: null, households: null, boundary: null, note: '' }));
    const june: PointMonth[] = [];
    const orgs = ['鞍山安防维保有限公司', '铁东智能科技有限公司', '辽宁视联工程有限公司'];
    let serial = 0;
    for (let i = 0; i < 30; i++) {
      serial += 1;
      const input = cameraInputSchema.parse({
        gbCode: `21030200001320${String(serial).padStart(6, '0')}`,
        name: `${streets[i % 3].name}${serial}号枪机`,
        regionId: streets[i % 3].id,
        address: `鞍山市铁东区第${serial}号`,
        endpoint: { host: `127.45.0.${serial}` },
        sharing: 'all',
        maintainer: { org: orgs[i % 3], contact: '张工', phone: '13900000000' },
      });
      const id = (await cameras.create(fixture, stripEcho(input))).id;
      // the first contractor: 4 points over 8 h (9, 12, 15, 18 h); the second: 1 point at 5 h; the third: none
      june.push({ id, down: i % 3 === 0 && i < 12 ? [[5 + i, (9 + i) * 3600]] : i === 1 ? [[20, 5 * 3600]] : [] });
    }
    await writeMonth(app.ctx.store.conn, 202606, june);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-sync'] });
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: 'zh-CN', acceptDownloads: true });
    page = await context.newPage();
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(app.baseUrl);
    await page.fill('input[name=username]', bootAdmin.username);
    await page.fill('input[name=password]', bootAdmin.password);
    await page.click('[data-testid=login-form] button[type=submit]');
    await page.waitForSelector('[data-testid=nav-assessment]');
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  it('when the sheet for June 2026 is opened, then the page shows the API’s scores, ranks and grades, and the screenshot is taken', async () => {
    const api = (await admin.get('/reports/assessment?month=2026-06')).body as Assessment;
    expect(api.contractors.map((c) => c.score)).to.deep.equal([100, 100, 76]);
    expect(api.contractors.map((c) => c.grade)).to.deep.equal(['pass', 'pass', 'fail']);
    await page.click('[data-testid=nav-assessment]');
    await page.fill('[data-testid=assessment-month]', '2026-06');
    await page.dispatchEvent('[data-testid=assessment-month]', 'change');
    await page.waitForSelector('[data-testid=assessment-contractors] tbody tr');
    await page.waitForFunction(() => (document.querySelector('.a-head h2')?.textContent ?? '').includes('2026-06') && (document.querySelector('[data-testid=assessment-status]')?.textContent ?? '').includes('第 1 版'));
    const rows = await tableRows(page, '[data-testid=assessment-contractors]');
    expect(rows.map((r) => [r[0], r[1], r[6], r[7]])).to.deep.equal(api.contractors.map((c) => [String(c.rank), c.org, c.score.toFixed(1), { pass: '合格', fair: '一般', fail: '不合格' }[c.grade]]));
    expect(rows.map((r) => r[8])).to.deep.equal(api.contractors.map((c) => (c.rate === null ? '—' : `${c.rate.toFixed(4)}%`)));
    const regionRows = await tableRows(page, '[data-testid=assessment-regions]');
    expect(regionRows.map((r) => [r[0], r[1], r[6]])).to.deep.equal(api.regions.map((r) => [String(r.rank), r.name, r.rate === null ? '—' : `${r.rate.toFixed(4)}%`]));
    const cameraRows = await tableRows(page, '[data-testid=assessment-cameras]');
    expect(cameraRows.slice(0, 5).map((r) => [r[0], r[4], r[6]])).to.deep.equal(api.cameras.slice(0, 5).map((c) => [c.code, c.faultHours.toFixed(2), c.deduction.toFixed(1)]));
    expect(await page.textContent('[data-testid=assessment-summary]')).to.include(String(api.summary.points));
    await page.screenshot({ path: path.join(artifacts, 'e2e-assessment-sheet.png'), fullPage: true });
    expect(errors).to.deep.equal([]);
  });

  it('when the XLSX link is followed, then the browser downloads the very bytes the API gives for the closed month', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=assessment-xlsx]')]);
    const file = await download.path();
    const fromPage = fs.readFileSync(file);
    const res = await fetch(apiUrl(app, '/reports/assessment/xlsx?month=2026-06'), { headers: { cookie: admin.cookie ?? '' } });
    const fromApi = Buffer.from(await res.arrayBuffer());
    expect(fromPage.length).to.be.greaterThan(1000);
    expect(fromPage.equals(fromApi)).to.equal(true);
    expect(download.suggestedFilename()).to.match(/^assessment-2026-06-[0-9a-f]{24}-v1\.xlsx$/);
  });

  it('when the language is English and the print page is opened, then the same sheet is shown in English without the console chrome', async () => {
    await page.click('[data-testid=lang]');
    await page.waitForFunction(() => (document.querySelector('[data-testid=assessment]')?.textContent ?? '').includes('Contractor scores'));
    expect(await page.textContent('[data-testid=assessment-contractors]')).to.include('Fail').and.include('Pass');
    await page.click('[data-testid=assessment-print]');
    await page.waitForSelector('.print-page [data-testid=assessment-contractors] tbody tr');
    expect(await page.$('.topbar')).to.equal(null);
    const scores = (await page.locator('[data-testid=contractor-score]').allTextContents()).map((x) => x.trim());
    expect(scores).to.deep.equal(['100.0', '100.0', '76.0']);
    await page.screenshot({ path: path.join(artifacts, 'e2e-assessment-print-en.png'), fullPage: true });
    expect(errors).to.deep.equal([]);
  });
});
