import path from 'node:path';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { bootApp, type TestApp } from '../helpers/app';
import { artifacts, launchChromium } from '../helpers/browser';
import { anonymous, type ApiClient } from '../helpers/http';

/** The console's test hook (client/src/live.ts), as the page holds it. */
declare const window: { __vigil?: { summary(): { size: number }; stateOf(id: string): number | null; connection(): string } };

/*
 * The console reloads its catalog when the registry changes shape (`status:resync`), at most once per 3 s.
 * Requests inside that gap used to wait on timers that each re-checked the gap and pushed it on: two requests
 * a second apart kept postponing each other, and the board never reloaded again (the CI run in which a demo
 * district's last 268 points never reached the board, then a rename and a new point did not either).
 */
describe('console catalog resync in headless Chromium', function () {
  this.timeout(120_000);
  let app: TestApp;
  let api: ApiClient;
  let browser: Browser;
  let page: Page;
  let districtId = '';
  let serial = 0;

  async function addPoint(): Promise<string> {
    serial += 1;
    const res = await api.post('/cameras', {
      gbCode: `21030200001320${String(900_000 + serial)}`,
      name: `重载点位${serial}`,
      regionId: districtId,
      endpoint: { host: `127.0.88.${serial}` },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return String(res.body.id);
  }

  const boardSize = (): Promise<number> => page.evaluate(() => window.__vigil?.summary().size ?? -1);

  before(async () => {
    // first: it builds the console when missing, and the server serves what is built when it starts
    browser = await launchChromium();
    app = await bootApp({ AUTH_MODE: 'open' });
    api = anonymous(app);
    const district = await api.post('/regions', { name: '铁东区', tier: 'district', parentId: null, code: '210302' });
    expect(district.status, JSON.stringify(district.body)).to.equal(201);
    districtId = String(district.body.id);
    for (let i = 0; i < 3; i++) await addPoint();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' })).newPage();
    await page.goto(app.baseUrl);
    await page.waitForFunction(() => window.__vigil?.summary().size === 3 && window.__vigil?.connection() === 'live', null, { timeout: 30_000 });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
  });

  it('when the registry changes three times a second apart, then the board reloads after the last change and holds every point', async () => {
    const added: string[] = [];
    for (let i = 0; i < 3; i++) {
      added.push(await addPoint());
      await new Promise((r) => setTimeout(r, 1000));
    }
    // at most one reload per 3 s: the last change is on the board one gap after the reload before it
    await page
      .waitForFunction(() => window.__vigil?.summary().size === 6, null, { timeout: 10_000, polling: 100 })
      .catch(async (err: unknown) => {
        throw new Error(`the board holds ${await boardSize()} of 6 points 10 s after the last change: ${String(err)}`);
      });
    for (const id of added) expect(await page.evaluate((pid) => window.__vigil?.stateOf(pid) ?? null, id)).to.not.equal(null);
    await page.screenshot({ path: path.join(artifacts, 'live-resync.png') });
  });
});
