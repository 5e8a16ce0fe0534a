import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { CoverageCounts } from '../../server/src/contracts/coverage';
import type { Exclusion } from '../../server/src/contracts/exclusions';
import { generateDemoDistrict } from '../../server/src/demo/district';
import { artifacts, CHROMIUM, ensureClientBuilt } from '../helpers/browser';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs } from '../helpers/auth';
import type { ApiClient } from '../helpers/http';


/*
 * Page functions run in the browser; this file is checked without the DOM lib, so what they touch is declared here.
 */
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
}
declare const document: { querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): ArrayLike<PageElement> };

/**
 * The planners' coverage and exclusion pages in headless Chromium over the demo district (loaded through the
 * API; no simulator, no polling): the counts table drills down from the district to a street and a community, the
 * grid heat map is drawn on the regions' own boundaries (a screenshot is kept), the gap lists name the empty grid
 * made for the test, CSV export downloads the table; an exclusion request made by a community operator is approved
 * on the page by the admin.
 */
describe('console coverage and exclusions in headless Chromium', function () {
  this.timeout(180_000);
  let app: TestApp;
  let api: ApiClient;
  let browser: Browser;
  let page: Page;
  const demo = generateDemoDistrict();
  const district = demo.regions[0];
  const street = demo.regions.find((r) => r.tier === 'street') as (typeof demo.regions)[number];
  const community = demo.regions.find((r) => r.tier === 'community' && r.parentId === street.id) as (typeof demo.regions)[number];
  let emptyGrid = '';
  const pageErrors: string[] = [];

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`e2e needs ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    ensureClientBuilt();
    fs.mkdirSync(artifacts, { recursive: true });
    app = await bootAuthApp({ MONITOR_ENABLED: 'false', DEMO_SIM_RTSP_PORT: '18554', DEMO_SIM_HTTP_PORT: '18080' });
    api = await loginAs(app, bootAdmin);
    expect((await api.post('/demo/load')).status).to.equal(201);
    const grid = await api.post('/regions', { name: '规划网格', tier: 'grid', parentId: community.id });
    expect(grid.status, JSON.stringify(grid.body)).to.equal(201);
    emptyGrid = String(grid.body.id);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: true });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(app.baseUrl);
    await page.fill('input[name=username]', bootAdmin.username);
    await page.fill('input[name=password]', bootAdmin.password);
    await page.click('[data-testid=login-form] button[type=submit]');
    await page.waitForSelector('[data-testid=connection]');
  });

  after(async () => {
    await browser?.close();
    await app?.close();
  });

  it('when a planner opens Coverage, then the table counts the district by street, drills down, and the heat map and gap lists show the grids', async () => {
    await page.click('[data-testid="nav-coverage"]');
    await page.waitForSelector('[data-testid=coverage-table] tr.cov-row.total');
    const total = await page.getAttribute('tr.cov-row.total', 'data-points');
    expect(total).to.equal('5400');
    // one row per street, and the rows add up to the total (the district itself has its own points: a direct row)
    const rowPoints = await page.evaluate(() => Array.from(document.querySelectorAll('tr.cov-row:not(.total)')).map((r) => Number(r.dataset.points)));
    expect(rowPoints.reduce((a, b) => a + b, 0)).to.equal(5400);
    expect(await page.locator('tr.cov-row.child').count()).to.equal(10);

    // the heat map: drawn on the grids' boundaries, coloured by points per 1,000 households
    await page.waitForSelector('[data-testid=coverage-map][data-state=drawn]');
    await page.waitForTimeout(500);
    await page.locator('[data-testid=coverage-map]').screenshot({ path: path.join(artifacts, 'e2e-coverage-heatmap.png') });
    await page.screenshot({ path: path.join(artifacts, 'e2e-coverage-district.png') });
    expect(await page.textContent(`[data-testid=gap-gridsWithoutPoints] li[data-id="${emptyGrid}"]`)).to.contain('规划网格');
    expect(await page.textContent(`[data-testid=gap-gridsWithoutHouseholds] li[data-id="${emptyGrid}"]`)).to.contain('规划网格');

    // drill down: district → street → community (grids are its rows)
    await page.click(`tr.cov-row.child[data-id="${street.id}"]`);
    await page.waitForSelector(`tr.cov-row.child[data-id="${community.id}"]`);
    await page.click(`tr.cov-row.child[data-id="${community.id}"]`);
    await page.waitForSelector(`tr.cov-row.child[data-id="${emptyGrid}"]`);
    const api1 = (await api.get(`/coverage/counts?region=${community.id}`)).body as CoverageCounts;
    expect(await page.getAttribute('tr.cov-row.total', 'data-points')).to.equal(String(api1.total.points));
    expect(await page.getAttribute(`tr.cov-row.child[data-id="${emptyGrid}"]`, 'data-points')).to.equal('0');
    await page.waitForSelector('[data-testid=coverage-map][data-state=drawn]');
    await page.screenshot({ path: path.join(artifacts, 'e2e-coverage-community.png') });

    // the breakdown by maintainer, and the CSV of what is on screen
    await page.selectOption('[data-testid=coverage-dim]', 'byOrg');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=coverage-csv]')]);
    const csv = fs.readFileSync(String(await download.path()), 'utf8');
    expect(csv.charCodeAt(0)).to.equal(0xfeff);
    expect(csv).to.contain('"规划网格"');
    for (const org of Object.keys(api1.total.byOrg)) expect(csv).to.contain(org);

    // and in English
    await page.click('[data-testid=lang]');
    await page.waitForFunction(() => document.querySelector('[data-testid=coverage]')?.textContent?.includes('Grids without points') ?? false);
    await page.click('[data-testid=lang]');
    // back to the district through the breadcrumb
    await page.click(`.crumbs a >> text=${district.name}`);
    await page.waitForFunction(() => document.querySelectorAll('tr.cov-row.child').length === 10);
  });

  it('when an operator has requested an exclusion, then the admin approves it on the Exclusions page', async () => {
    const operator = await loginAs(app, await createUser(app, { role: 'operator', scopeRegionId: community.id }));
    const req = await operator.post('/reports/exclusions', {
      regionId: community.id,
      reason: 'power_cut',
      from: '2026-06-10T12:00:00+08:00',
      to: '2026-06-10T16:00:00+08:00',
      evidence: { text: '供电公司计划停电通知', urls: ['https://example.test/notice'] },
    });
    expect(req.status, JSON.stringify(req.body)).to.equal(201);
    const id = (req.body as Exclusion).id;
    await page.click('[data-testid="nav-exclusions"]');
    await page.waitForSelector(`tr.excl-row[data-id="${id}"][data-state=pending]`);
    // the admin files one too: it appears pending, and he cannot decide his own
    await page.selectOption('select[name=reason]', 'construction');
    await page.fill('input[name=from]', '2026-06-11T08:00');
    await page.fill('input[name=to]', '2026-06-11T18:00');
    await page.fill('textarea[name=evidence]', '道路施工，断电断网');
    await page.click('[data-testid=exclusion-submit]');
    await page.waitForFunction(() => document.querySelectorAll('tr.excl-row').length === 2);
    await page.screenshot({ path: path.join(artifacts, 'e2e-exclusions.png') });
    await page.click(`tr.excl-row[data-id="${id}"] [data-testid=exclusion-approve]`);
    await page.waitForSelector(`tr.excl-row[data-id="${id}"][data-state=approved]`);
    const after = (await api.get(`/reports/exclusions/${id}`)).body as Exclusion;
    expect(after.state).to.equal('approved');
    expect(after.decidedBy?.username).to.equal(bootAdmin.username);
    const own = (await api.get('/reports/exclusions?state=pending')).body as { items: Exclusion[] };
    expect(own.items.map((x) => [x.requestedBy.username, x.canDecide])).to.deep.equal([[bootAdmin.username, false]]);
    expect(pageErrors).to.deep.equal([]);
  });
});
