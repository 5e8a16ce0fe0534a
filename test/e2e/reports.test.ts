import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import { reportsOf } from '../../server/src/reports';
import { HistoryDriver, sh } from '../fixtures/history';
import { artifacts, CHROMIUM, ensureClientBuilt } from '../helpers/browser';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';

const admin: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

/*
 * The planners' online-rate page in headless Chromium, on history written by monitoring's own write path for June
 * 2026 (test/fixtures/history.ts) and read from the per-group sums. District D → streets S1 (communities C1, C2) and
 * S2. C1: A and B, key public areas, B DOWN one day (S1's key-public rate 98.3333 %, target 98); C2: E, industry,
 * DOWN two days (93.3333 %, target 95: below); S2: X and Y up all month.
 */
describe('planner console: online rate in headless Chromium', function () {
  this.timeout(120_000);
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  const r: Record<string, string> = {};
  const p: Record<string, string> = {};
  const pageErrors: string[] = [];

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`e2e needs ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    ensureClientBuilt();
    fs.mkdirSync(artifacts, { recursive: true });
    app = await bootAuthApp({ MONITOR_ENABLED: 'false', REPORT_SUMS_QUIET_SEC: '0' });
    const { regions, cameras } = app.registry;
    r.D = (await regions.create(admin, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    for (const [k, parent, tier] of [['S1', 'D', 'street'], ['S2', 'D', 'street'], ['C1', 'S1', 'community'], ['C2', 'S1', 'community']] as const) {
      r[k] = (await regions.create(admin, { name: `${k}名`, tier, parentId: r[parent], code: null, households: null, boundary: null, note: '' })).id;
    }
    let serial = 0;
    for (const [key, at, industry] of [['A', 'C1', '00'], ['B', 'C1', '00'], ['E', 'C2', '08'], ['X', 'S2', '00'], ['Y', 'S2', '00']] as const) {
      serial += 1;
      const input = stripEcho(
        cameraInputSchema.parse({
          gbCode: `21030200${industry}1320${String(serial).padStart(6, '0')}`,
          name: `${key}点`,
          regionId: r[at],
          address: `${key}地址`,
          endpoint: { host: `127.44.0.${serial}` },
          sharing: 'all',
          maintainer: { org: '鞍山安讯科技有限公司', contact: '王工', phone: '0412-5550101' },
        }),
      );
      p[key] = (await cameras.create(admin, input)).id;
    }
    const d = new HistoryDriver(app.ctx.store.conn);
    for (const key of ['A', 'B', 'E', 'X', 'Y']) {
      d.add(p[key], sh(2026, 6, 1));
      d.check(p[key], sh(2026, 6, 1), true);
    }
    d.check(p.B, sh(2026, 6, 10), false).check(p.B, sh(2026, 6, 11), true);
    d.check(p.E, sh(2026, 6, 5), false).check(p.E, sh(2026, 6, 7), true);
    await d.close(sh(2026, 7, 1));
    await reportsOf(app.ctx).refreshSums();

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: 'zh-CN', acceptDownloads: true });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  after(async () => {
    await browser?.close();
    await app?.close();
  });

  const rowKeys = (): Promise<string[]> => page.locator('[data-testid=report-row]').evaluateAll((els) => els.map((e) => (e as unknown as { dataset: Record<string, string> }).dataset.key ?? ''));

  it('when a planner opens the online-rate page for June, then the district’s streets are bars and rows, S1 flagged below its industry target', async () => {
    await page.goto(app.baseUrl);
    await page.fill('input[name=username]', bootAdmin.username);
    await page.fill('input[name=password]', bootAdmin.password);
    await page.click('[data-testid=login-form] button[type=submit]');
    await page.click('[data-testid=nav-reports]');
    await page.waitForSelector('[data-testid=reports]');
    await page.fill('[data-testid=reports-anchor]', '2026-06-15');
    // the current month's answer comes first: wait for June's (its rows would otherwise be read)
    await page.waitForFunction(
      () => (document.querySelector('[data-testid=reports]') as unknown as { dataset: Record<string, string> } | null)?.dataset.shownFrom === '2026-06-01' && document.querySelectorAll('[data-testid=report-row]').length === 2,
      null,
      { timeout: 20_000 },
    );
    expect(await rowKeys()).to.have.members([r.S1, r.S2]);
    expect(await page.locator(`[data-testid=report-row][data-key="${r.S1}"]`).getAttribute('data-below')).to.equal('1');
    expect(await page.locator(`[data-testid=report-row][data-key="${r.S2}"]`).getAttribute('data-below')).to.equal('0');
    // S1's industry class: E down 2 of 30 days = 93.33 % beside its 95 % target
    expect(await page.locator(`[data-testid=report-row][data-key="${r.S1}"] [data-testid=below-target]`).textContent()).to.contain('93.33%').and.contain('95%');
    expect(await page.locator('[data-testid=reports-chart] canvas').count()).to.be.greaterThan(0);
    expect(await page.locator('[data-testid=reports-trend] canvas').count()).to.be.greaterThan(0);
    await page.waitForTimeout(600); // the bar animation
    await page.locator('[data-testid=reports-chart]').screenshot({ path: path.join(artifacts, 'e2e-reports-tier-chart.png') });
    await page.screenshot({ path: path.join(artifacts, 'e2e-reports-zh.png'), fullPage: true });
  });

  it('when the planner drills down from the district to a street, a community and its points, then each level lists its children and then its points worst first', async () => {
    await page.click(`[data-testid=report-row][data-key="${r.S1}"] [data-testid=drill]`);
    await page.waitForFunction((k) => [...document.querySelectorAll('[data-testid=report-row]')].some((e) => (e as { dataset: Record<string, string> }).dataset.key === k), r.C1, { timeout: 20_000 });
    expect(await rowKeys()).to.have.members([r.C1, r.C2]);
    expect(await page.locator('[data-testid=reports-crumbs]').textContent()).to.contain('S1名');
    await page.click(`[data-testid=report-row][data-key="${r.C1}"] [data-testid=drill]`);
    await page.waitForFunction((k) => [...document.querySelectorAll('[data-testid=report-row]')].some((e) => (e as { dataset: Record<string, string> }).dataset.key === k), p.B, { timeout: 20_000 });
    // a community without grids lists its points, the worst first: B (one day down) before A
    expect(await rowKeys()).to.deep.equal([p.B, p.A]);
    await page.click(`[data-testid=report-row][data-key="${p.B}"] [data-testid=drill]`);
    await page.waitForFunction(() => location.search.includes('point='));
    // back up to the street through the breadcrumb
    await page.goBack();
    await page.click('[data-testid=reports-crumbs] a >> nth=1');
    await page.waitForFunction((k) => [...document.querySelectorAll('[data-testid=report-row]')].some((e) => (e as { dataset: Record<string, string> }).dataset.key === k), r.C2, { timeout: 20_000 });
  });

  it('when the planner exports CSV, then the file holds the rows shown and the total, as Excel reads it', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=csv-export]')]);
    const file = await download.path();
    const text = fs.readFileSync(file, 'utf8');
    expect(text.startsWith('\ufeff')).to.equal(true);
    const lines = text.replace('\ufeff', '').trim().split('\r\n');
    expect(lines[0]).to.match(/^名称,点位数,在线率/);
    expect(lines.slice(1).map((l) => l.split(',')[0])).to.have.members(['C1名', 'C2名', '合计']);
    const c2 = lines.find((l) => l.startsWith('C2名'))?.split(',') ?? [];
    expect(c2[2]).to.equal('93.3333');
  });

  it('when the planner switches to English, then the page speaks English', async () => {
    await page.click('[data-testid=lang]');
    await page.waitForFunction(() => document.querySelector('[data-testid=reports] h2')?.textContent === 'Online rate');
    await page.screenshot({ path: path.join(artifacts, 'e2e-reports-en.png'), fullPage: true });
    await page.click('[data-testid=lang]');
    expect(pageErrors).to.deep.equal([]);
  });
});

declare const document: { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): ArrayLike<unknown> & Iterable<unknown> };
declare const location: { search: string };
