import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ObjectId, type Db } from 'mongodb';
import { chromium, type Browser, type Page } from 'playwright-core';
import { simAddress, startSimulator, type RunningSimulator } from '../../server/src/demo/sim/simulator';
import { monitoringOf } from '../../server/src/monitoring';
import { bootApp, type TestApp } from '../helpers/app';
import { artifacts, CHROMIUM, ensureClientBuilt } from '../helpers/browser';
import { cameraDoc, seedDistrict, waitFor } from '../fixtures/polling';


declare const document: { querySelector(selector: string): { textContent: string | null } | null };

/*
 * A real overload, made small: 40 points every 5 s want 8 checks a second, and the engine may dispatch 5
 * (MONITOR_MAX_CHECKS_PER_SEC, the admission ceiling). Routine intervals stretch to about 8 s and the console
 * shows the banner with both figures; when 30 points are deleted the load goes, the intervals return to 5 s
 * and the banner goes away. Nothing is faked between the engine and the page: the figure travels through
 * `/live` as the console receives it.
 */
describe('console overload banner in headless Chromium', function () {
  this.timeout(180_000);
  let sim: RunningSimulator;
  let app: TestApp;
  let db: Db;
  let browser: Browser;
  let page: Page;
  const ids: string[] = [];

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`e2e needs ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    ensureClientBuilt();
    fs.mkdirSync(artifacts, { recursive: true });
    sim = await startSimulator({ cameras: Array.from({ length: 40 }, (_, i) => ({ addr: simAddress(30_000 + i) })) });
    app = await bootApp({
      AUTH_MODE: 'open',
      MONITOR_ENABLED: 'true',
      MONITOR_INTERVAL_OVERRIDE_MS: '5000',
      MONITOR_MAX_CHECKS_PER_SEC: '5',
      MONITOR_FLUSH_MS: '200',
    });
    db = app.ctx.store.conn.db as unknown as Db;
    await seedDistrict(db);
    for (let i = 0; i < 40; i++) {
      const id = new ObjectId().toHexString();
      ids.push(id);
      await db.collection('cameras').insertOne(cameraDoc({ id, host: simAddress(30_000 + i), kind: 'tcp', rtspPort: sim.rtspPort, httpPort: sim.httpPort, timeoutMs: 1000 }));
    }
    await monitoringOf(app.ctx).resync();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await sim?.stop();
  });

  it('when routine checks run late, then the console shows the effective and the set interval with advice', async () => {
    await page.goto(app.baseUrl);
    await page.waitForSelector('[data-testid=overload-banner]', { timeout: 120_000 });
    const text = await page.evaluate(() => document.querySelector('[data-testid=overload-banner]')?.textContent ?? '');
    await page.screenshot({ path: path.join(artifacts, 'overload-banner.png') });
    const m = /监测过载：实际检测周期 (\d+) 秒（设定 (\d+) 秒）/.exec(text);
    expect(m, text).to.not.equal(null);
    const [effective, set] = [Number(m?.[1]), Number(m?.[2])];
    expect(set).to.equal(5);
    // 8 checks a second wanted, 5 allowed: about 8 s
    expect(effective).to.be.within(6, 11);
    expect(text).to.include('更长的检测周期');
    // the same figure on /metrics and the REST read
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(metrics).to.match(/vigil_schedule_overloaded 1/);
    expect(Number(/vigil_schedule_interval_effective_seconds ([\d.]+)/.exec(metrics)?.[1])).to.be.greaterThan(5.5);
    const load = (await (await fetch(`${app.baseUrl}/api/v1/monitoring/load`)).json()) as { overloaded: boolean; setIntervalSec: number };
    expect(load).to.include({ overloaded: true, setIntervalSec: 5 });
  });

  it('when the load goes, then the banner goes away', async () => {
    await db.collection('cameras').deleteMany({ _id: { $in: ids.slice(10).map((id) => new ObjectId(id)) } });
    await monitoringOf(app.ctx).resync();
    await waitFor('engine back on its interval', () => !monitoringOf(app.ctx).load().overloaded, 120_000, 500);
    await page.waitForSelector('[data-testid=overload-banner]', { state: 'detached', timeout: 10_000 });
    expect(monitoringOf(app.ctx).load().effectiveIntervalSec).to.be.below(5.5);
  });
});
