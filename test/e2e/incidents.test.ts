import path from 'node:path';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import type { IncidentView } from '../../server/src/contracts/incidents';
import { simAddress, startSimulator, type RunningSimulator } from '../../server/src/demo/sim/simulator';
import { monitoringOf } from '../../server/src/monitoring';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs, type TestUser } from '../helpers/auth';
import { artifacts, launchChromium } from '../helpers/browser';
import type { ApiClient } from '../helpers/http';
import { captureServer, type CaptureServer } from '../helpers/receivers';
import { waitFor } from '../fixtures/polling';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

/*
 * Page functions run in the browser, but this file is checked with the server's DOM-free lib: these
 * declarations type exactly what the page functions touch.
 */
interface CueCounts {
  outage: number;
  incident: number;
  muted: number;
}
declare const window: { __vigilCues: { counts(): CueCounts; audioState(): string }; __xss?: number };
declare const document: { querySelector(selector: string): { textContent: string | null } | null; querySelectorAll(selector: string): Iterable<{ textContent: string | null }> };

/*
 * The console's incident flow on a real app: one simulated camera (OrgA) polled every 300 ms, confirmed DOWN
 * after 2 retries 100 ms apart, a policy with groupWait 0 and a 100 ms alert clock — the scaled-down timers of
 * test/integration/alerts-incidents.test.ts, so the flow takes seconds. An operator watches the incidents page;
 * the technician of OrgA acknowledges from "my incidents"; the camera comes back and the incident resolves.
 */
describe('console incidents in headless Chromium: alarm, acknowledge, resolve', function () {
  this.timeout(90_000);
  let app: TestApp;
  let sim: RunningSimulator;
  let admin: ApiClient;
  let browser: Browser;
  let opPage: Page;
  let techPage: Page;
  let adminPage: Page;
  let receiver: CaptureServer;
  let tech: TestUser;
  let operator: TestUser;
  const addr = simAddress(63_000);
  let cameraId = '';
  let incidentId = '';
  const pageErrors: string[] = [];

  before(async () => {
    // first: the console is built here when its sources changed, and the app looks for client/dist when it starts
    // (the browser may play the cue without a gesture; the test's login click would unlock it anyway)
    browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
    sim = await startSimulator({ cameras: [{ addr }] });
    app = await bootAuthApp({
      MONITOR_ENABLED: 'true',
      MONITOR_INTERVAL_OVERRIDE_MS: '300',
      MONITOR_RETRY_INTERVAL_MS: '100',
      MONITOR_FLUSH_MS: '100',
      ALERTS_TICK_MS: '100',
    });
    const { regions, cameras } = app.registry;
    const D = (await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    const S1 = (await regions.create(fixture, { name: '站前街道', tier: 'street', parentId: D, code: null, households: null, boundary: null, note: '' })).id;
    const C1 = (await regions.create(fixture, { name: '光明社区', tier: 'community', parentId: S1, code: null, households: null, boundary: null, note: '' })).id;
    const input = stripEcho(
      cameraInputSchema.parse({
        gbCode: '21030200001320063000',
        name: '光明路口球机',
        regionId: C1,
        endpoint: { host: addr, rtspPort: sim.rtspPort },
        probe: { kind: 'tcp', timeoutMs: 300, retries: 2 },
        sharing: 'up',
        maintainer: { org: 'OrgA', contact: '张工', phone: '13900000000' },
      }),
    );
    cameraId = (await cameras.create(fixture, input)).id;
    admin = await loginAs(app, bootAdmin);
    const policy = await admin.post('/alert-policies', {
      name: '铁东区 按上级设备',
      match: { regionIds: [D] },
      groupBy: 'upstream',
      groupWaitSec: 0,
      groupIntervalSec: 1,
      receivers: [{ kind: 'org', org: 'OrgA' }],
    });
    expect(policy.status, JSON.stringify(policy.body)).to.equal(201);
    operator = await createUser(app, { role: 'operator', scopeRegionId: D, displayName: '值班员' });
    tech = await createUser(app, { role: 'technician', scopeRegionId: S1, maintainerOrg: 'OrgA', displayName: '运维张工' });
    await waitFor('the camera UP', () => monitoringOf(app.ctx).status(cameraId)?.state === 'UP', 20_000);

    const open = async (): Promise<Page> => {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
      const page = await context.newPage();
      page.on('pageerror', (err) => pageErrors.push(err.message));
      return page;
    };
    opPage = await open();
    techPage = await open();
    adminPage = await open();
    receiver = await captureServer();
  });

  after(async () => {
    await browser?.close();
    await receiver?.close();
    await app?.close();
    await sim?.stop();
  });

  async function login(page: Page, user: { username: string; password: string }): Promise<void> {
    await page.goto(app.baseUrl);
    await page.fill('input[name=username]', user.username);
    await page.fill('input[name=password]', user.password);
    await page.click('[data-testid=login-form] button[type=submit]');
    await page.waitForSelector('[data-testid=connection].live');
  }

  const cues = (page: Page): Promise<CueCounts> => page.evaluate(() => window.__vigilCues.counts());

  it('when a camera goes DOWN, then a new incident appears on the incidents page with the alarm sounding and shown', async () => {
    await login(opPage, operator);
    await opPage.click('[data-testid=nav-incidents]');
    await opPage.waitForSelector('[data-testid=incidents-none]');
    const before = await cues(opPage);

    sim.setCameraFault(addr, { mode: 'down' });
    const card = await opPage.waitForSelector('[data-testid=incident][data-state=open]', { timeout: 20_000 });
    incidentId = String(await card.getAttribute('data-id'));
    expect(incidentId).to.match(/^[0-9a-f]{24}$/);
    expect(await card.textContent()).to.contain('光明路口球机');

    // visible: the alarm banner names the camera; audible: the incident cue was played (not muted)
    const banner = await opPage.waitForSelector(`[data-testid=incident-alarm-item][data-id="${incidentId}"]`, { timeout: 5000 });
    expect(await banner.textContent()).to.contain('新告警：光明路口球机');
    await waitFor('the incident cue', async () => (await cues(opPage)).incident === before.incident + 1, 5000);
    expect((await cues(opPage)).muted).to.equal(before.muted);
    await opPage.screenshot({ path: path.join(artifacts, 'e2e-incident-01-alarm.png') });
  });

  it('when the mute switch is on, then a new incident shows but makes no sound', async () => {
    // the existing switch, shared with the outage beep; turned back on at the end
    await opPage.click('[data-testid=mute]');
    const before = await cues(opPage);
    // the board's own state drives nothing here: a pushed incident is enough to test the cue
    const view = (await admin.get(`/incidents/${incidentId}`)).body as IncidentView;
    expect(view.state).to.equal('open');
    app.io.of('/live').emit('incident:opened', { ...view, id: '0123456789abcdef01234567', revision: 1 });
    await opPage.waitForSelector('[data-testid=incident-alarm-item][data-id="0123456789abcdef01234567"]', { timeout: 5000 });
    const after = await cues(opPage);
    expect(after.incident).to.equal(before.incident);
    expect(after.muted).to.equal(before.muted + 1);
    await opPage.click('[data-testid=mute]');
    await opPage.click('[data-testid=incident-alarm-item][data-id="0123456789abcdef01234567"] button.ghost');
  });

  it('when the technician logs in, then he acknowledges it from my incidents, assigns himself and comments as plain text', async () => {
    await login(techPage, tech);
    await techPage.click('[data-testid=nav-my-incidents]');
    const card = `[data-testid=incident][data-id="${incidentId}"]`;
    await techPage.waitForSelector(card, { timeout: 10_000 });
    await techPage.click(`${card} .incident-head`);
    await techPage.waitForSelector(`${card} [data-testid=incident-member][data-id="${cameraId}"][data-state=firing]`);
    await techPage.click(`${card} [data-testid=incident-ack]`);
    await techPage.waitForSelector(`${card}[data-state=acked]`, { timeout: 5000 });
    // the operator's page follows through the incident:updated push
    await opPage.waitForSelector(`[data-testid=incident][data-id="${incidentId}"][data-state=acked]`, { timeout: 5000 });

    // the assignee list holds who the server allows: here the technician himself
    await techPage.waitForSelector(`${card} [data-testid=incident-assignee-select] option[value="${tech.id}"]`, { state: 'attached' });
    await techPage.selectOption(`${card} [data-testid=incident-assignee-select]`, tech.id);
    await techPage.click(`${card} [data-testid=incident-assign]`);
    await techPage.waitForFunction((sel) => document.querySelector(sel)?.textContent === '我', `${card} [data-testid=incident-assignee]`);

    const hostile = '<img src=x onerror="window.__xss=1">已到现场';
    await techPage.fill(`${card} [data-testid=incident-comment]`, hostile);
    await techPage.click(`${card} [data-testid=incident-comment-send]`);
    await techPage.waitForFunction((want) => [...document.querySelectorAll('.timeline li')].some((li) => li.textContent?.includes(want)), hostile);
    expect(await techPage.evaluate(() => window.__xss)).to.equal(undefined);
    expect(await techPage.$$(`${card} .timeline img`)).to.have.length(0);

    const server = (await admin.get(`/incidents/${incidentId}`)).body as IncidentView;
    expect(server.ackedBy).to.equal(tech.username);
    expect(server.assignee).to.equal(tech.id);
    await techPage.screenshot({ path: path.join(artifacts, 'e2e-incident-02-acknowledged.png') });
  });

  it('when the camera comes back, then the incident shows resolved, and the point page shows its timeline', async () => {
    sim.setCameraFault(addr, { mode: 'up' });
    const card = `[data-testid=incident][data-id="${incidentId}"]`;
    await techPage.waitForSelector(`${card}[data-state=resolved]`, { timeout: 20_000 });
    await techPage.waitForSelector(`${card} [data-testid=incident-member][data-id="${cameraId}"][data-state=resolved]`);
    await techPage.screenshot({ path: path.join(artifacts, 'e2e-incident-03-resolved.png') });

    await techPage.click(`${card} [data-testid=incident-member] a`);
    const onPoint = `[data-testid=point-incidents] [data-testid=point-incident][data-id="${incidentId}"]`;
    await techPage.waitForSelector(`${onPoint}[data-state=resolved]`, { timeout: 5000 });
    const text = String(await techPage.textContent(onPoint));
    expect(text).to.contain('确认');
    expect(text).to.contain('恢复');
    await techPage.screenshot({ path: path.join(artifacts, 'e2e-incident-04-point-timeline.png') });
    expect(pageErrors, pageErrors.join('\n')).to.deep.equal([]);
  });

  it('when the operator creates a silence in the editor and ends it, then the list shows it active, then ended', async () => {
    await opPage.click('[data-testid=nav-silences]');
    await opPage.waitForSelector('[data-testid=silence-form]');
    await opPage.fill('[data-testid=silence-form] input[name=codes]', '21030200001320063000');
    await opPage.fill('[data-testid=silence-form] input[name=comment]', '<b>光明路施工</b>');
    await opPage.click('[data-testid=silence-save]');
    const row = await opPage.waitForSelector('[data-testid=silence]', { timeout: 5000 });
    const text = String(await row.textContent());
    expect(text).to.contain('光明路口球机');
    expect(text).to.contain('<b>光明路施工</b>');
    expect(text).to.contain('生效中');
    const listed = (await admin.get('/silences')).body.items as Array<{ matcher: { pointIds: string[] }; active: boolean }>;
    expect(listed.map((x) => x.matcher.pointIds)).to.deep.equal([[cameraId]]);
    await opPage.click('[data-testid=silence-expire]');
    // the list shows active silences: the ended one leaves it
    await opPage.waitForSelector('[data-testid=silence]', { state: 'detached', timeout: 5000 });
    expect((await admin.get('/silences?active=true')).body.items).to.have.length(0);
  });

  it('when the admin adds a webhook channel and tests it, then the outcome and health show and the secret is never shown again', async () => {
    const secret = 'e2e-webhook-secret-0123456789';
    await login(adminPage, bootAdmin);
    await adminPage.click('[data-testid=nav-channels]');
    await adminPage.click('[data-testid=channel-new]');
    await adminPage.selectOption('[data-testid=channel-form] select[name=kind]', 'webhook');
    await adminPage.fill('[data-testid=channel-form] input[name=name]', '值班 webhook');
    await adminPage.fill('[data-testid=channel-form] textarea[name=settings]', JSON.stringify({ url: `${receiver.url}/hook`, headers: {} }));
    await adminPage.fill('[data-testid=channel-form] input[name=secret-secret]', secret);
    await adminPage.click('[data-testid=channel-save]');
    const channel = '[data-testid=channel]';
    await adminPage.waitForSelector(channel, { timeout: 5000 });

    await adminPage.click(`${channel} [data-testid=channel-test]`);
    await adminPage.waitForSelector(`${channel} [data-testid=channel-test-result] [data-outcome=delivered]`, { timeout: 10_000 });
    expect(receiver.requests).to.have.length(1);
    expect(String(receiver.requests[0].headers['x-vigil-signature'])).to.match(/^sha256=[0-9a-f]{64}$/);
    expect(await adminPage.textContent(`${channel} [data-testid=channel-health]`)).to.equal('正常');
    await adminPage.click(`${channel} [data-testid=channel-dead]`);
    await adminPage.waitForSelector(`${channel} [data-testid=channel-dead-list]`);

    // editing shows that a secret is set, never its value
    await adminPage.click(`${channel} [data-testid=channel-edit]`);
    const input = '[data-testid=channel-form] input[name=secret-secret]';
    expect(await adminPage.inputValue(input)).to.equal('');
    expect(await adminPage.getAttribute(input, 'placeholder')).to.contain('已设置');
    expect(await adminPage.content()).to.not.contain(secret);
    await adminPage.screenshot({ path: path.join(artifacts, 'e2e-incident-05-channels.png') });
    expect(pageErrors, pageErrors.join('\n')).to.deep.equal([]);
  });
});
