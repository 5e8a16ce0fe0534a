import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { liveOf } from '../../server/src/live';
import { artifacts, CHROMIUM, ensureClientBuilt } from '../helpers/browser';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { loginAs } from '../helpers/auth';
import type { ApiClient } from '../helpers/http';
import { runTs, type StartedProcess } from '../helpers/process';


/*
 * Page functions run in the browser, but this file is checked with the server's DOM-free lib: these
 * module-local declarations type exactly what the page functions touch, without adding DOM globals to
 * the server's program.
 */
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  value?: string;
  querySelector(selector: string): PageElement | null;
  getAttribute(name: string): string | null;
}
interface BoardHook {
  summary(): BoardSummary;
  stateOf(id: string): number | null;
}
declare const document: { body: PageElement; querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): Iterable<PageElement> };
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: PageElement, options: { subtree: boolean; childList: boolean; characterData: boolean; attributes: boolean }): void;
}
declare const window: { __vigil: BoardHook; __xss?: number };
declare function getComputedStyle(e: PageElement): { fontSize: string };

/*
 * Real polling against the camera simulator. The simulator runs as a child process (`npm run sim -- --demo`),
 * as an operator runs it (5,400 first checks in one second need its event loop apart from the app's), on free
 * ports; the app is then configured with the ports it got (DEMO_SIM_RTSP_PORT / DEMO_SIM_HTTP_PORT), so the
 * demo points are registered naming them. A new point is checked within a second of being created, so the
 * simulator must already answer when the demo loads — re-pointing 5,400 points afterwards would first mark
 * every one of them DOWN.
 * Points keep the 60 s default interval (≈ 90 checks/s for the district); the few the test faults get
 * intervalSec 5 (the registry's minimum), and a failure is retried every RETRY_MS until DOWN is confirmed.
 */
const RETRY_MS = 200;
const RETRIES = 3;
const FAULTED_INTERVAL_SEC = 5;
/** Time from a fault to its first failing check, plus the confirm window, plus a live batch and margin. */
const DETECT_BUDGET_MS = FAULTED_INTERVAL_SEC * 1000 + RETRIES * RETRY_MS + 1500;

interface BoardSummary {
  size: number;
  seq: number;
  epoch: string | null;
  counts: number[];
  checksum: number;
}

const summary = (page: Page): Promise<BoardSummary> => page.evaluate(() => window.__vigil.summary());
const stateOf = (page: Page, id: string): Promise<number | null> =>
  page.evaluate((x) => window.__vigil.stateOf(x), id);

describe('console end to end in headless Chromium', function () {
  this.timeout(120_000);
  let app: TestApp;
  let sim: StartedProcess;
  let simControl = '';
  let api: ApiClient;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      // .ci/run installs Debian's chromium; a missing browser is a failure, never a silent skip
      throw new Error(`e2e needs ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    }
    ensureClientBuilt();
    fs.mkdirSync(artifacts, { recursive: true });
    sim = runTs('scripts/sim/main.ts', ['--demo', '--rtsp-port', '0', '--http-port', '0', '--control-port', '0'], {});
    const started = await sim.waitFor(/"rtspPort":(\d+),"httpPort":(\d+),.*"control":"(http:[^"]+)"/, 30_000);
    simControl = started[3];
    app = await bootAuthApp({
      DEMO_SIM_RTSP_PORT: started[1],
      DEMO_SIM_HTTP_PORT: started[2],
      LIVE_RECONCILE_SEC: '0',
      MONITOR_ENABLED: 'true',
      MONITOR_RETRY_INTERVAL_MS: String(RETRY_MS),
      PROBE_DEFAULT_RETRIES: String(RETRIES),
      MONITOR_FLUSH_MS: '200',
      // the demo load makes 5,400 first checks in one second: bounded, they queue instead of timing out
      MONITOR_CONCURRENCY: '256',
    });
    api = await loginAs(app, bootAdmin);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    page = await context.newPage();
    page.on('pageerror', (err) => consoleErrors.push(err.message));
    page.on('request', (req) => {
      const url = req.url();
      if (!url.startsWith(app.baseUrl) && !/^(data|blob):/.test(url)) foreignRequests.push(url);
    });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    if (sim && sim.child.exitCode === null) {
      sim.child.kill('SIGTERM');
      await sim.exited;
    }
  });

  /** Sets the fault of simulated cameras through the simulator's control API (as an operator's script would). */
  async function setFault(addresses: string[], mode: 'down' | 'up'): Promise<void> {
    const res = await fetch(`${simControl}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ select: { addresses }, fault: { mode } }),
    });
    expect(res.status, await res.text()).to.equal(200);
  }

  /** Shortens a point's check interval through the REST API; returns its simulator address. */
  async function watchClosely(id: string): Promise<string> {
    const cur = await api.get(`/cameras/${id}`);
    expect(cur.status).to.equal(200);
    const res = await api.request('PATCH', `/cameras/${id}`, { probe: { intervalSec: FAULTED_INTERVAL_SEC } }, { headers: { 'if-match': String(cur.headers.get('etag')) } });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return String(res.body.endpoint.host);
  }

  async function serverState(id: string): Promise<string> {
    const res = await api.get(`/cameras/${id}/status`);
    return String(res.body.state);
  }

  it('when an operator logs in to an empty registry, then the first-run page loads the demo district and the board shows it live', async () => {
    await page.goto(app.baseUrl);
    await page.fill('input[name=username]', bootAdmin.username);
    await page.fill('input[name=password]', bootAdmin.password);
    await page.click('[data-testid=login-form] button[type=submit]');
    await page.waitForSelector('[data-testid=first-run]');
    await page.screenshot({ path: path.join(artifacts, 'e2e-01-first-run.png') });
    // this test runs its own simulator child (with a control API it drives), so the in-process one stays off
    await page.uncheck('[data-testid=with-simulator]');
    await page.click('[data-testid=load-demo]');
    // the points arrive in bursts while the demo loads (under a loaded full run the board read 5,132 right after
    // passing 5,000): wait for all of them; a board that stays short (points lost by live push) still fails here
    await page
      .waitForFunction(() => window.__vigil.summary().size === 5400, null, { timeout: 60_000, polling: 250 })
      .catch(async (err: unknown) => {
        throw new Error(`the board holds ${(await summary(page)).size} of 5,400 points after 60 s: ${String(err)}`);
      });
    await page.waitForSelector('[data-testid=connection].live');
    await page.waitForSelector('.point-row');
    const s = await summary(page);
    expect(s.size).to.equal(5400);
    // every enabled point is checked within a second of loading; the simulator answers them all, and no
    // first UNKNOWN→UP may be lost while the new points enter the live index
    await page.waitForFunction(() => window.__vigil.summary().counts[0] === 0 && window.__vigil.summary().counts[1] >= 5000, null, { timeout: 20_000, polling: 250 }).catch(async (err: unknown) => {
      const hub = await liveOf(app.ctx).ready();
      const room = hub.join(hub.regions.roots()[0], { scopeRegionId: null, maintainerOrg: null });
      const st = hub.stateFor(room);
      const server = st.counts.total;
      hub.leave(room);
      const sample = st.kind === 'snapshot' ? st.points.ids.find((_, i) => st.points.st[i] !== 1 && st.points.st[i] !== 5) : undefined;
      const sampleStatus = sample ? JSON.stringify((await api.get(`/cameras/${sample}/status`)).body) : '';
      throw new Error(`${String(err)}; board counts ${JSON.stringify((await summary(page)).counts)}; server ${JSON.stringify(server)}; sim ${await (await fetch(`${simControl}/stats`)).text()}; e.g. ${sampleStatus}`);
    });
    await page.screenshot({ path: path.join(artifacts, 'e2e-02-board-zh.png') });
  });

  let victim = '';
  let victimCode = '';
  it('when a camera goes down, then its row turns red and it appears under Outages within the confirm window', async () => {
    // an UP point (the board sorts what needs attention first, so the first rows are the disabled ones)
    const hub = await liveOf(app.ctx).ready();
    const room = hub.join(hub.regions.roots()[0], { scopeRegionId: null, maintainerOrg: null });
    const snap = hub.stateFor(room);
    hub.leave(room);
    if (snap.kind !== 'snapshot') throw new Error('expected snapshot');
    victim = snap.points.ids.find((_, i) => snap.points.st[i] === 1) ?? '';
    victimCode = String((await api.get(`/cameras/${victim}`)).body.gbCode);
    expect(victim).to.match(/^[0-9a-f]{24}$/);
    await page.fill('[data-testid=search]', victimCode);
    await page.waitForSelector(`.point-row[data-id="${victim}"]`);

    const addr = await watchClosely(victim);
    await page.waitForSelector(`.point-row[data-id="${victim}"][data-state="UP"]`, { timeout: 10_000 });
    expect((await fetch(`${simControl}/cameras/${addr}/fault`)).status).to.equal(200);

    // the simulated camera stops answering; polling finds it, confirms DOWN, live push takes it to the board
    const started = Date.now();
    await setFault([addr], 'down');
    await page.waitForSelector(`.point-row[data-id="${victim}"][data-state="DOWN"]`, { timeout: DETECT_BUDGET_MS + 5000 });
    const redAt = Date.now();
    const toRed = redAt - started;
    expect(toRed).to.be.below(DETECT_BUDGET_MS);
    // the confirm window itself: first failed check → board red within retries × retry interval + margin
    // live push comes straight from the change feed; the transition reaches the store with the next flush
    type T = { to: string; at: string; failingSince: string | null };
    let transitions: T[] = [];
    let down: T | undefined;
    for (const until = Date.now() + 5000; !down && Date.now() < until; ) {
      transitions = (await api.get(`/cameras/${victim}/history?period=24h`)).body.transitions as T[];
      down = transitions.find((t) => t.to === 'DOWN');
      if (!down) await new Promise((r) => setTimeout(r, 100));
    }
    expect(down, JSON.stringify(transitions)).to.not.equal(undefined);
    const failingSince = Date.parse(String(down?.failingSince));
    expect(redAt - failingSince).to.be.below(RETRIES * RETRY_MS + 1500);
    await page.waitForSelector('[data-testid=outage-toast]');
    await page.screenshot({ path: path.join(artifacts, 'e2e-03-board-down.png') });

    await page.click('[data-testid="nav-outages"]');
    await page.waitForSelector(`[data-testid=outage-item][data-id="${victim}"]`, { timeout: 5000 });
    await page.screenshot({ path: path.join(artifacts, 'e2e-04-outages.png') });

    // the fault clears: the next check finds it up and it leaves Outages
    await setFault([addr], 'up');
    await page.waitForSelector(`[data-testid=outage-item][data-id="${victim}"]`, { state: 'detached', timeout: DETECT_BUDGET_MS + 5000 });
    expect(await stateOf(page, victim)).to.equal(1);
  });

  it('when the connection drops and changes happen meanwhile, then after reconnecting the board equals the server state', async () => {
    const before = await summary(page);
    const hub = await liveOf(app.ctx).ready();
    const rootRoom = hub.join(hub.regions.roots()[0], { scopeRegionId: null, maintainerOrg: null });
    const snap = hub.stateFor(rootRoom);
    if (snap.kind !== 'snapshot') throw new Error('expected snapshot');
    const downNow = snap.points.ids.filter((id, i) => snap.points.st[i] === 1 && id !== victim).slice(0, 30);
    expect(downNow).to.have.length(30);
    const addrs = await Promise.all(downNow.map((id) => watchClosely(id)));

    await page.context().setOffline(true);
    for (const s of await app.io.of('/live').fetchSockets()) s.disconnect(false);
    await page.waitForSelector('[data-testid=connection].offline', { timeout: 5000 });

    // while the console is away, 30 simulated cameras fail and polling confirms them DOWN
    await setFault(addrs, 'down');
    const deadline = Date.now() + DETECT_BUDGET_MS + 5000;
    for (;;) {
      const states = await Promise.all(downNow.map((id) => serverState(id)));
      if (states.every((st) => st === 'DOWN')) break;
      if (Date.now() > deadline) throw new Error(`not all DOWN: ${states.join(',')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 600));

    await page.context().setOffline(false);
    await page.waitForSelector('[data-testid=connection].live', { timeout: 20_000 });
    await page.waitForFunction(
      ([id, expected]) => window.__vigil.stateOf(id) === expected,
      [downNow[29], 3] as const,
      { timeout: 5000, polling: 200 },
    );
    const after = await summary(page);
    const server = hub.stateFor(rootRoom);
    hub.leave(rootRoom);
    expect(after.counts).to.deep.equal(server.counts.total);
    expect(after.counts[3]).to.equal(before.counts[3] + 30);
    expect(await stateOf(page, victim)).to.equal(1);
    await page.waitForSelector(`[data-testid=outage-item][data-id="${downNow[0]}"]`);
    await page.screenshot({ path: path.join(artifacts, 'e2e-05-after-reconnect.png') });
  });

  it('when a batch arrives after a gap in seq, then the console does not apply it and resynchronises with the server', async () => {
    const before = await summary(page);
    const hub = await liveOf(app.ctx).ready();
    const rootId = hub.regions.roots()[0];
    const upId = victim;
    expect(await stateOf(page, upId)).to.equal(1);
    // a forged batch two ahead of the console's seq, claiming that point went DOWN
    app.io.of('/live').emit('status:changed', {
      regionId: rootId,
      epoch: before.epoch,
      seq: before.seq + 2,
      serverTime: Date.now(),
      changes: { ids: [upId], st: [3], since: [Math.floor(Date.now() / 1000)], flap: [] },
      counts: { total: [0, 0, 0, 0, 0, 0], children: {} },
    });
    await page.waitForTimeout(800);
    expect(await stateOf(page, upId)).to.equal(1);
    await page.waitForSelector('[data-testid=connection].live');
    const after = await summary(page);
    expect(after.counts).to.deep.equal(before.counts);
    expect(after.seq).to.equal(before.seq);
  });

  it('when the operator switches language, then the console speaks English and back', async () => {
    await page.click('[data-testid="nav-"]');
    await page.waitForSelector('.point-row');
    expect(await page.textContent('[data-testid="nav-"]')).to.contain('状态总览');
    await page.click('[data-testid=lang]');
    await page.waitForFunction(() => document.querySelector('[data-testid="nav-"]')?.textContent?.includes('Status board'));
    expect(await page.getAttribute('html', 'lang')).to.equal('en');
    await page.screenshot({ path: path.join(artifacts, 'e2e-06-board-en.png') });
    await page.click('[data-testid=lang]');
    await page.waitForFunction(() => document.querySelector('[data-testid="nav-"]')?.textContent?.includes('状态总览'));
  });

  it('when the operator renames a point in the registry screen, then the board shows the new name as plain text', async () => {
    await page.click('[data-testid="nav-"]');
    await page.fill('[data-testid=search]', victimCode);
    await page.click(`.point-row[data-id="${victim}"]`);
    await page.waitForSelector('[data-testid=point-detail] .attrs');
    await page.click('[data-testid=edit-point]');
    await page.waitForFunction(() => (document.querySelector('input[name=name]')?.value ?? '') !== '');
    const hostile = '<b>renamed</b><img src=x onerror="window.__xss=1">';
    await page.fill('input[name=name]', hostile);
    await page.click('[data-testid=save-point]');
    await page.waitForFunction(() => (document.querySelector('[data-testid=save-message]')?.textContent ?? '') !== '');
    expect(await page.textContent('[data-testid=save-message]')).to.match(/已保存|Saved/);
    await page.click('[data-testid="nav-"]');
    await page
      .waitForFunction(
        (want) => document.querySelector(`.point-row[data-id="${want.id}"] .c-name`)?.textContent === want.text,
        { id: victim, text: hostile },
        { timeout: 10_000, polling: 200 },
      )
      .catch(async (err: unknown) => {
        await page.screenshot({ path: path.join(artifacts, 'e2e-fail-rename.png') });
        const shown = await page.evaluate(() => [...document.querySelectorAll('.point-row .c-name')].map((e) => e.textContent));
        throw new Error(`${String(err)}; rows: ${JSON.stringify(shown)}; connection: ${await page.textContent('[data-testid=connection]')}`);
      });
    expect(await page.evaluate(() => window.__xss)).to.equal(undefined);
    expect(await page.$$(`.point-row[data-id="${victim}"] .c-name img`)).to.have.length(0);
  });

  it('when a point is registered without an address, then the board lists it as 未接入 and its detail shows — for the address', async () => {
    const near = await api.get(`/cameras/${victim}`);
    const res = await api.post('/cameras', { gbCode: `${victimCode.slice(0, 14)}987654`, name: '规划点位（未接入）', regionId: near.body.regionId, endpoint: {} });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const id = String(res.body.id);
    await page.click('[data-testid="nav-"]');
    await page.fill('[data-testid=search]', '987654');
    const row = `.point-row[data-id="${id}"]`;
    await page.waitForSelector(`${row}[data-state="NOT_CONNECTED"]`, { timeout: 10_000 });
    expect(await page.textContent(`${row} .badge`)).to.equal('未接入');
    await page.click(row);
    await page.waitForSelector('[data-testid=point-host]');
    expect(await page.textContent('[data-testid=point-host]')).to.match(/^— \(未接入\)$/);
    await page.screenshot({ path: path.join(artifacts, 'e2e-07a-not-connected.png') });
    await page.click('[data-testid=point-detail] header button');
    await page.waitForSelector('[data-testid=point-detail]', { state: 'detached' });
    await page.fill('[data-testid=search]', '');
  });

  it('when the operator uploads an exported CSV to the import wizard, then the dry-run report is shown before any commit', async () => {
    const csv = await page.evaluate(async (code) => {
      const res = await fetch(`/api/v1/cameras/export?format=csv&q=${encodeURIComponent(code)}`, { credentials: 'same-origin' });
      return res.ok ? await res.text() : `HTTP ${res.status}`;
    }, victimCode);
    expect(csv).to.contain(victimCode);
    await page.click('[data-testid="nav-registry"]');
    await page.click('[data-testid=tab-import]');
    await page.setInputFiles('[data-testid=import-file]', { name: 'points.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.click('[data-testid=dry-run]');
    await page.waitForSelector('[data-testid=import-totals]', { timeout: 20_000 });
    expect(await page.textContent('[data-testid=import-totals]')).to.match(/有效 1 行|1 valid rows/);
    expect(await page.$('[data-testid=commit]')).to.not.equal(null);
    await page.screenshot({ path: path.join(artifacts, 'e2e-07-import-dry-run.png') });
  });

  it('when the map opens, then the points are drawn on the offline basemap without any outside request', async () => {
    await page.click('[data-testid="nav-"]');
    await page.fill('[data-testid=search]', '');
    await page.click('[data-testid="nav-map"]');
    await page.waitForSelector('[data-testid=map] canvas');
    await page.waitForTimeout(1500);
    await page.screenshot({ path: path.join(artifacts, 'e2e-08-map.png') });
    expect(foreignRequests, foreignRequests.join('\n')).to.deep.equal([]);
  });

  it('when the wall display opens at 1920×1080, then it shows the district online rate in large type', async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.click('[data-testid="nav-wall"]');
    await page.waitForSelector('[data-testid=wall] .wall-tile');
    const size = await page.evaluate(() => {
      const e = document.querySelector('.wall-rate');
      return e ? parseFloat(getComputedStyle(e).fontSize) : 0;
    });
    expect(size).to.be.at.least(48);
    await page.screenshot({ path: path.join(artifacts, 'e2e-09-wall-1920.png') });
    expect(consoleErrors, consoleErrors.join('\n')).to.deep.equal([]);
  });

  it('when the operator commits a 3,000-row import, then the console shows its progress (phase, bar, rows) while it runs and the totals when it ends', async () => {
    await page.setViewportSize({ width: 1366, height: 900 });
    // the wall display has no navigation: back to the console
    await page.goto(`${app.baseUrl}/registry`);
    const csv = await page.evaluate(async (code) => {
      const res = await fetch(`/api/v1/cameras/export?format=csv&q=${encodeURIComponent(code)}`, { credentials: 'same-origin' });
      return res.ok ? await res.text() : `HTTP ${res.status}`;
    }, victimCode);
    const [header, row] = csv.replace(/^\uFEFF/, '').split(/\r?\n/);
    expect(row).to.contain(victimCode);
    // 3,000 new points like the exported one: network digit 9 (the demo's are 0), serials 0–2999
    const rows = Array.from({ length: 3000 }, (_, i) => row.split(victimCode).join(`${victimCode.slice(0, 13)}9${String(i).padStart(6, '0')}`));
    await page.click('[data-testid="nav-registry"]');
    await page.click('[data-testid=tab-import]');
    await page.setInputFiles('[data-testid=import-file]', { name: 'points-3000.csv', mimeType: 'text/csv', buffer: Buffer.from([header, ...rows].join('\r\n')) });
    await page.click('[data-testid=dry-run]');
    await page.waitForSelector('[data-testid=commit]', { timeout: 30_000 });
    // what the progress area shows, recorded at every change of the page from the commit on
    await page.evaluate(() => {
      const w = window as unknown as { seen: Array<{ text: string; value: string | null }> };
      w.seen = [];
      // (no named function here: tsx would wrap it in a helper the page does not have)
      new MutationObserver(() => {
        const el = document.querySelector('[data-testid=import-progress]');
        if (el) w.seen.push({ text: el.textContent ?? '', value: el.querySelector('progress')?.getAttribute('value') ?? null });
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.click('[data-testid=commit]');
    // the dry run's report already said +3000: the commit is done when the console says so
    await page.waitForFunction(() => /导入完成|Import committed/.test(document.body.textContent ?? ''), undefined, { timeout: 60_000 });
    expect(await page.textContent('[data-testid=import-totals]')).to.match(/\+3000/);
    const seen = await page.evaluate(() => (window as unknown as { seen: Array<{ text: string; value: string | null }> }).seen);
    const rowsShown = seen.filter((x) => /已读取 \d+ 行|已写入 \d+ \/ 3000 行|rows read|rows written/.test(x.text));
    expect(rowsShown.length, JSON.stringify(seen.slice(0, 40))).to.be.greaterThan(0);
    expect(seen.some((x) => x.value !== null && Number(x.value) > 0 && Number(x.value) <= 1)).to.equal(true);
    await page.screenshot({ path: path.join(artifacts, 'e2e-10-import-done.png') });
    expect(consoleErrors, consoleErrors.join('\n')).to.deep.equal([]);
  });
});
