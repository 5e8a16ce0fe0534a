import path from 'node:path';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import type { AlertPolicyView } from '../../server/src/contracts/incidents';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs, type TestUser } from '../helpers/auth';
import { artifacts, launchChromium } from '../helpers/browser';
import type { ApiClient } from '../helpers/http';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

/* Page functions run in the browser; this file is checked with the server's DOM-free lib. */
declare const window: { __xss?: number };
declare const document: { querySelector(selector: string): { textContent: string | null; value?: string } | null };

/*
 * The alert-policy editor on a real app (no polling: the policies are configuration). The admin creates a policy
 * through the form with every picker (region, organisation, tag, type, channel, escalation step to an
 * organisation and to a user), edits a timing (the shared contract refuses 30 s in the browser, 7,200 s is saved
 * with If-Match), meets the server's refusal of a duplicate name next to the name field and a version conflict,
 * and deletes it; after each step the server's state is read over real HTTP.
 */
describe('console alert policies in headless Chromium: create, edit, refusals, delete', function () {
  this.timeout(60_000);
  let app: TestApp;
  let admin: ApiClient;
  let browser: Browser;
  let page: Page;
  let tech: TestUser;
  let street = '';
  let channelId = '';
  let policyId = '';
  const pageErrors: string[] = [];
  const form = '[data-testid=policy-form]';
  const hostileTag = '<img src=x onerror=__xss=1>夜间';

  before(async () => {
    browser = await launchChromium();
    app = await bootAuthApp({ MONITOR_ENABLED: 'false' });
    const { regions, cameras } = app.registry;
    const D = (await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    street = (await regions.create(fixture, { name: '站前街道', tier: 'street', parentId: D, code: null, households: null, boundary: null, note: '' })).id;
    const C1 = (await regions.create(fixture, { name: '光明社区', tier: 'community', parentId: street, code: null, households: null, boundary: null, note: '' })).id;
    await cameras.create(
      fixture,
      stripEcho(
        cameraInputSchema.parse({
          gbCode: '21030200001320000001',
          name: '光明路口球机',
          regionId: C1,
          endpoint: { host: '127.20.0.9', rtspPort: 554 },
          sharing: 'up',
          maintainer: { org: 'OrgA', contact: '张工', phone: '13900000000' },
          tags: ['路口', hostileTag],
        }),
      ),
    );
    admin = await loginAs(app, bootAdmin);
    const ch = await admin.post('/channels', { kind: 'webhook', name: '值班群 webhook', settings: { url: 'http://receiver.internal/vigil', headers: {} }, secrets: { secret: 'e2e-policy-webhook-secret' } });
    expect(ch.status, JSON.stringify(ch.body)).to.equal(201);
    channelId = String(ch.body.id);
    tech = await createUser(app, { role: 'technician', scopeRegionId: street, maintainerOrg: 'OrgA', displayName: '运维张工' });

    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: 'zh-CN' });
    page = await context.newPage();
    page.setDefaultTimeout(5000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(app.baseUrl);
    await page.fill('input[name=username]', bootAdmin.username);
    await page.fill('input[name=password]', bootAdmin.password);
    await page.click('[data-testid=login-form] button[type=submit]');
    await page.waitForSelector('[data-testid=connection].live');
  });

  after(async () => {
    await browser?.close();
    await app?.close();
  });

  const policies = async (): Promise<AlertPolicyView[]> => {
    const res = await admin.get('/alert-policies');
    expect(res.status).to.equal(200);
    return (res.body as { items: AlertPolicyView[] }).items;
  };
  const fieldErrors = (field: string): Promise<string[]> => page.locator(`${form} [data-field="${field}"] > [data-testid=field-error]`).allTextContents();
  const chip = async (name: string, value: string): Promise<void> => {
    await page.fill(`${form} [data-testid=chips-${name}] input[name=${name}]`, value);
    await page.press(`${form} [data-testid=chips-${name}] input[name=${name}]`, 'Enter');
  };
  const receiver = async (name: string, kind: 'channel' | 'user' | 'org', value: string): Promise<void> => {
    await page.selectOption(`${form} select[name=${name}-kind]`, kind);
    if (kind === 'org') await page.fill(`${form} input[name=${name}-pick]`, value);
    else await page.selectOption(`${form} select[name=${name}-pick]`, value);
    await page.click(`${form} [data-testid=receivers-add-${name}]`);
  };

  it('when the admin fills the form with every picker, then the policy is listed as the server stores it', async () => {
    await page.click('[data-testid=nav-alert-policies]');
    await page.waitForSelector('[data-testid=policies-none]');
    await page.click('[data-testid=policy-new]');
    // the contract's defaults fill a new form
    expect(await page.inputValue(`${form} input[name=groupWaitSec]`)).to.equal('30');
    expect(await page.inputValue(`${form} input[name=groupIntervalSec]`)).to.equal('300');
    expect(await page.inputValue(`${form} input[name=repeatIntervalSec]`)).to.equal('14400');

    await page.fill(`${form} input[name=name]`, '站前街道 按网格');
    await page.selectOption(`${form} select[name=regionIds]`, [street]);
    await chip('orgs', 'OrgA');
    await chip('tags', hostileTag);
    await chip('types', '132');
    await page.selectOption(`${form} select[name=groupBy]`, 'grid');
    await page.fill(`${form} input[name=groupWaitSec]`, '60');
    await receiver('receivers', 'channel', channelId);
    await page.click(`${form} [data-testid=policy-add-step]`);
    await receiver('step-0', 'org', 'OrgA');
    await page.click(`${form} [data-testid=policy-add-step]`);
    await page.fill(`${form} input[name=step-1-afterSec]`, '1800');
    await receiver('step-1', 'user', tech.id);
    await page.click(`${form} [data-testid=policy-save]`);
    await page.waitForSelector(form, { state: 'detached', timeout: 5000 });

    const [stored] = await policies();
    policyId = stored.id;
    expect(stored).to.deep.include({
      name: '站前街道 按网格',
      enabled: true,
      priority: 100,
      groupBy: 'grid',
      groupWaitSec: 60,
      groupIntervalSec: 300,
      repeatIntervalSec: 14_400,
      version: 1,
    });
    expect(stored.match).to.deep.equal({ regionIds: [street], orgs: ['OrgA'], tags: [hostileTag], types: ['132'] });
    expect(stored.receivers).to.deep.equal([{ kind: 'channel', id: channelId }]);
    expect(stored.escalation).to.deep.equal({
      steps: [
        { afterSec: 0, receivers: [{ kind: 'org', org: 'OrgA' }] },
        { afterSec: 1800, receivers: [{ kind: 'user', id: tech.id }] },
      ],
      repeat: 0,
    });

    const card = `[data-testid=policy][data-id="${policyId}"]`;
    expect(await page.textContent(`${card} [data-testid=policy-match]`)).to.equal(`区域（含下级）: 站前街道，且 运维单位: OrgA，且 标签（须全部具备）: ${hostileTag}，且 设备类型（国标编码第 11–13 位）: 132`);
    expect(await page.textContent(`${card} [data-testid=policy-group]`)).to.equal('网格');
    expect(await page.textContent(`${card} [data-testid=policy-timings]`)).to.contain('首次等待 1m 00s · 更新间隔 5m 00s · 重复提醒 4h 00m');
    expect(await page.textContent(`${card} [data-testid=policy-receivers]`)).to.equal('渠道: 值班群 webhook（Webhook（签名））');
    const escalation = String(await page.textContent(`${card} [data-testid=policy-escalation]`));
    expect(escalation).to.contain('第 1 步：0s 后 → 运维单位技术员: OrgA');
    expect(escalation).to.contain(`第 2 步：30m 00s 后 → 用户: 运维张工 (${tech.username})`);
    // the tag is text, never markup
    expect(await page.$$(`${card} img`)).to.have.length(0);
    expect(await page.evaluate(() => window.__xss)).to.equal(undefined);
    await page.screenshot({ path: path.join(artifacts, 'e2e-policies-01-list.png'), fullPage: true });
  });

  it('when a timing breaks the shared contract, then the field says so in the browser and nothing is sent; a valid one is saved with its version', async () => {
    const card = `[data-testid=policy][data-id="${policyId}"]`;
    await page.click(`${card} [data-testid=policy-edit]`);
    await page.fill(`${form} input[name=repeatIntervalSec]`, '30');
    await page.click(`${form} [data-testid=policy-save]`);
    await page.waitForSelector(`${form} [data-field=repeatIntervalSec] > [data-testid=field-error]`);
    // zod's own message for min(60), in the console's language
    const [msg] = await fieldErrors('repeatIntervalSec');
    expect(msg).to.contain('60');
    expect(msg).to.match(/[\u4e00-\u9fff]/);
    expect(await fieldErrors('groupWaitSec')).to.deep.equal([]);
    const untouched = (await policies())[0];
    expect(untouched.version).to.equal(1);
    expect(untouched.repeatIntervalSec).to.equal(14_400);

    await page.fill(`${form} input[name=repeatIntervalSec]`, '7200');
    await page.click(`${form} [data-testid=policy-save]`);
    await page.waitForSelector(form, { state: 'detached', timeout: 5000 });
    const [edited] = await policies();
    expect(edited.version).to.equal(2);
    expect(edited.repeatIntervalSec).to.equal(7200);
    // the rest of the policy is kept as it was
    expect(edited.escalation.steps).to.have.length(2);
    expect(edited.match.tags).to.deep.equal([hostileTag]);
    // the list is re-read after the form closes: wait for the card to show the saved figure
    await page.waitForSelector(`${card} [data-testid=policy-timings]:has-text("重复提醒 2h 00m")`, { timeout: 5000 });
    expect(await page.textContent(`${card} [data-testid=policy-timings]`)).to.contain('重复提醒 2h 00m');
  });

  it('when the server refuses a duplicate name, then its words show next to the name field and the stored policy is unchanged', async () => {
    const other = await admin.post('/alert-policies', { name: '全区 兜底', groupBy: 'street' });
    expect(other.status).to.equal(201);
    const card = `[data-testid=policy][data-id="${policyId}"]`;
    await page.click(`${card} [data-testid=policy-edit]`);
    await page.fill(`${form} input[name=name]`, '全区 兜底');
    await page.click(`${form} [data-testid=policy-save]`);
    await page.waitForSelector(`${form} [data-field=name] > [data-testid=field-error]`, { timeout: 5000 });
    expect(await fieldErrors('name')).to.deep.equal(['already exists']);
    expect(await page.textContent(`${form} [data-testid=policy-form-message]`)).to.contain('服务器拒绝保存');
    // the refusal's kind in Chinese first, then the server's own words
    expect(await page.textContent(`${form} [data-testid=policy-form-message]`)).to.match(/与现有数据冲突：a policy named 全区 兜底 exists/);
    await page.locator(`${form} input[name=name]`).scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(artifacts, 'e2e-policies-02-refused.png') });
    const stored = (await admin.get(`/alert-policies/${policyId}`)).body as AlertPolicyView;
    expect(stored.name).to.equal('站前街道 按网格');
    expect(stored.version).to.equal(2);
  });

  it('when someone else saved the policy meanwhile, then saving says so, keeps the newer version, and reload shows it', async () => {
    // the form still holds version 2; another admin (here: HTTP) makes version 3
    const current = (await admin.get(`/alert-policies/${policyId}`)).body as AlertPolicyView;
    const { id: _id, version: _v, createdAt: _c, updatedAt: _u, ...input } = current;
    const put = await admin.request('PUT', `/alert-policies/${policyId}`, { ...input, groupIntervalSec: 600 }, { headers: { 'If-Match': '"v2"' } });
    expect(put.status, JSON.stringify(put.body)).to.equal(200);

    await page.fill(`${form} input[name=name]`, '站前街道 按网格（改）');
    await page.click(`${form} [data-testid=policy-save]`);
    await page.waitForSelector(`${form} [data-testid=policy-reload]`, { timeout: 5000 });
    expect(await page.textContent(`${form} [data-testid=policy-form-message]`)).to.contain('已被他人修改');
    const kept = (await admin.get(`/alert-policies/${policyId}`)).body as AlertPolicyView;
    expect(kept).to.deep.include({ name: '站前街道 按网格', version: 3, groupIntervalSec: 600 });

    await page.click(`${form} [data-testid=policy-reload]`);
    await page.waitForFunction(() => document.querySelector('[data-testid=policy-form] input[name=groupIntervalSec]')?.value === '600');
    expect(await page.inputValue(`${form} input[name=name]`)).to.equal('站前街道 按网格');
    await page.click(`${form} [data-testid=policy-cancel]`);
    await page.waitForSelector(form, { state: 'detached' });
  });

  it('when a technician opens the page, then he reads the policy of his scope and has no editing controls', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
    const techPage = await context.newPage();
    techPage.on('pageerror', (err) => pageErrors.push(err.message));
    await techPage.goto(app.baseUrl);
    await techPage.fill('input[name=username]', tech.username);
    await techPage.fill('input[name=password]', tech.password);
    await techPage.click('[data-testid=login-form] button[type=submit]');
    await techPage.waitForSelector('[data-testid=connection].live');
    await techPage.click('[data-testid=nav-alert-policies]');
    await techPage.waitForSelector(`[data-testid=policy][data-id="${policyId}"]`);
    // the global policy names no region of his scope: the server leaves it out
    expect(await techPage.$$('[data-testid=policy]')).to.have.length(1);
    expect(await techPage.$$('[data-testid=policy-new], [data-testid=policy-edit], [data-testid=policy-delete]')).to.have.length(0);
    await context.close();
  });

  it('when the admin deletes the policy and confirms, then it leaves the list and the server', async () => {
    const card = `[data-testid=policy][data-id="${policyId}"]`;
    // dismissing the confirmation keeps it
    page.once('dialog', (d) => void d.dismiss());
    await page.click(`${card} [data-testid=policy-delete]`);
    expect((await admin.get(`/alert-policies/${policyId}`)).status).to.equal(200);

    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await page.click(`${card} [data-testid=policy-delete]`);
    await page.waitForSelector(card, { state: 'detached', timeout: 5000 });
    expect(asked).to.contain('站前街道 按网格');
    expect((await admin.get(`/alert-policies/${policyId}`)).status).to.equal(404);
    expect((await policies()).map((p) => p.name)).to.deep.equal(['全区 兜底']);
    expect(await page.textContent('[data-testid=policy-message]')).to.contain('已删除');

    await page.click('[data-testid=lang]');
    await page.waitForFunction(() => document.querySelector('[data-testid=policies-page] h2')?.textContent === 'Alert policies');
    await page.screenshot({ path: path.join(artifacts, 'e2e-policies-03-deleted-en.png'), fullPage: true });
    await page.click('[data-testid=lang]');
    expect(pageErrors, pageErrors.join('\n')).to.deep.equal([]);
  });
});
