import { expect } from 'chai';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import { monitoringOf } from '../../server/src/monitoring';
import type { Transition } from '../../server/src/monitoring/events';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { loginAs } from '../helpers/auth';
import type { ApiClient } from '../helpers/http';
import { captureServer, type CaptureServer } from '../helpers/receivers';
import { robot, robotContent, type Robot } from '../helpers/robots';
import { waitFor } from '../fixtures/polling';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };
const CAMERAS = 64;

/**
 * Done-when "NVR fan-out", per receiver: an NVR and 64 cameras behind it; confirmed transitions emitted on the
 * app's real monitoring change feed (the cameras first, the NVR among them, as checks land), the running
 * incident service, and the app's own dispatcher (ALERTS_DISPATCH_ENABLED) delivering to two receivers over
 * HTTP — a WeCom robot and a signed webhook. Every count is exact. Real polling of an NVR with cameras behind
 * it is alerts-incidents.test.ts; here the order and timing of the confirmations are the test's, so the
 * counts do not depend on how loaded the machine is (under a load average of 20+ real 65-point polling made
 * healthy cameras flap, which is another test's subject).
 */
describe('alerts: NVR fan-out to real receivers (64 cameras behind one NVR)', function () {
  this.timeout(180_000);
  let app: TestApp;
  let admin: ApiClient;
  let wecom: Robot;
  let hook: CaptureServer;
  const addr: Record<string, string> = {};
  let community = '';
  const ids: Record<string, string> = {};
  const cams = Array.from({ length: CAMERAS }, (_, i) => `cam${i}`);
  const hookTexts = (): string[] => hook.requests.map((r) => (r.json as { text: string }).text);
  const wecomTexts = (): string[] => wecom.requests.map(robotContent);

  before(async () => {
    ['nvr', ...cams].forEach((n, i) => (addr[n] = `127.33.0.${i + 1}`));
    app = await bootAuthApp({
      MONITOR_ENABLED: 'false',
      ALERTS_TICK_MS: '50',
      ALERTS_DISPATCH_ENABLED: 'true',
      ALERTS_DISPATCH_TICK_MS: '100',
    });
    admin = await loginAs(app, bootAdmin);
    const { regions, cameras } = app.registry;
    const district = (await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    const street = (await regions.create(fixture, { name: '站前街道', tier: 'street', parentId: district, code: null, households: null, boundary: null, note: '' })).id;
    community = (await regions.create(fixture, { name: '光明社区', tier: 'community', parentId: street, code: null, households: null, boundary: null, note: '' })).id;
    let serial = 0;
    const point = async (key: string, type: string, upstreamId: string | null): Promise<void> => {
      serial += 1;
      const input = stripEcho(
        cameraInputSchema.parse({
          gbCode: `2103020000${type}0${String(serial).padStart(6, '0')}`,
          name: key === 'nvr' ? '光明社区机房NVR' : `光明社区${key}号球机`,
          regionId: community,
          endpoint: { host: addr[key], rtspPort: 554 },
          sharing: 'up',
          maintainer: { org: '某安防公司', contact: '张工', phone: '13900000000' },
          upstreamId,
        }),
      );
      ids[key] = (await cameras.create(fixture, input)).id;
    };
    await point('nvr', '118', null);
    for (const c of cams) await point(c, '132', ids.nvr);

    wecom = await robot('wecom', { clock: Date.now });
    hook = await captureServer({ reply: () => ({ status: 200, body: { ok: true } }) });
    const ch1 = await admin.post('/channels', { kind: 'wecom', name: '运维企业微信群', secrets: { webhookUrl: wecom.webhookUrl } });
    expect(ch1.status, JSON.stringify(ch1.body)).to.equal(201);
    const ch2 = await admin.post('/channels', { kind: 'webhook', name: '运维工单系统', settings: { url: `${hook.url}/vigil` }, secrets: { secret: 'fanout-webhook-secret-0123456789' } });
    expect(ch2.status, JSON.stringify(ch2.body)).to.equal(201);
    const policy = await admin.post('/alert-policies', {
      name: '光明社区 按上级设备',
      match: { regionIds: [street] },
      groupBy: 'upstream',
      groupWaitSec: 3,
      groupIntervalSec: 1,
      receivers: [
        { kind: 'channel', id: ch1.body.id as string },
        { kind: 'channel', id: ch2.body.id as string },
      ],
    });
    expect(policy.status, JSON.stringify(policy.body)).to.equal(201);
  });
  after(async () => {
    await app?.close();
    await wecom?.close();
    await hook?.close();
  });

  const seq = new Map<string, number>();
  function emit(key: string, to: 'DOWN' | 'UP'): void {
    const id = ids[key];
    const n = (seq.get(id) ?? 1) + 1;
    seq.set(id, n);
    const t: Transition = { id: `${id}:${n}`, cameraId: id, regionId: community, seq: n, from: to === 'DOWN' ? 'UP' : 'DOWN', to, at: new Date(), reason: null, rttMs: null, flapping: false, failingSince: null };
    monitoringOf(app.ctx).feed.emit(t);
  }
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  it('when the NVR and its 64 cameras go DOWN, then each receiver gets exactly 1 message, naming the NVR and "64 suppressed", and no per-camera message', async () => {
    const downAt = Date.now();
    // the cameras' checks land first, the NVR's in the middle of them, all within a second or two
    for (const [i, c] of cams.entries()) {
      if (i === 32) emit('nvr', 'DOWN');
      emit(c, 'DOWN');
      if (i % 8 === 7) await sleep(100);
    }
    await waitFor('a message at both receivers', () => wecom.requests.length >= 1 && hook.requests.length >= 1, 40_000);
    const firstAt = Math.max(wecom.requests[0].at, hook.requests[0].at);
    // twice the group wait again: anything else would have come by now
    await sleep(4000);
    for (const texts of [wecomTexts(), hookTexts()]) {
      expect(texts.length, `exactly one message per receiver: ${JSON.stringify(texts.map((x) => x.split('\n').slice(0, 4).join(' | ')))}`).to.equal(1);
      expect(texts[0]).to.match(/^【告警】/);
      expect(texts[0]).to.include('光明社区机房NVR');
      expect(texts[0]).to.include('点位：1 个；上级设备离线抑制 64 个');
      expect(texts[0], 'no camera named').to.not.match(/cam\d+号球机/);
    }
    const hookBody = hook.requests[0].json as { messages: Array<{ suppressed: number; points: Array<{ name: string }> }> };
    expect(hookBody.messages).to.have.length(1);
    expect(hookBody.messages[0].suppressed).to.equal(64);
    expect(hookBody.messages[0].points.map((p) => p.name)).to.deep.equal(['光明社区机房NVR']);
    // groupWait (3 s) after the first confirmation, with room for a loaded machine
    expect(firstAt - downAt, 'within groupWait').to.be.within(3000, 3000 + 5000);
    const list = await admin.get('/incidents?state=open');
    expect(list.body.items).to.have.length(1);
    expect(list.body.items[0].counts).to.deep.equal({ firing: 1, suppressed: 64, flapping: 0, ended: 0 });
  });

  it('when the NVR and 62 cameras come back and 2 stay DOWN, then each receiver gets one resolved message for the NVR and one firing message for the 2', async () => {
    const before = { wecom: wecom.requests.length, hook: hook.requests.length };
    emit('nvr', 'UP');
    for (const [i, c] of cams.slice(0, 62).entries()) {
      emit(c, 'UP');
      if (i % 8 === 7) await sleep(100);
    }
    await waitFor('two more messages at both receivers', () => wecom.requests.length >= before.wecom + 2 && hook.requests.length >= before.hook + 2, 40_000);
    await sleep(4000);
    for (const texts of [wecomTexts().slice(before.wecom), hookTexts().slice(before.hook)]) {
      expect(texts.length, `exactly two more messages per receiver: ${JSON.stringify(texts.map((x) => x.split('\n').slice(0, 4).join(' | ')))}`).to.equal(2);
      const resolved = texts.filter((x) => x.startsWith('【恢复】'));
      const firing = texts.filter((x) => x.startsWith('【告警】'));
      expect(resolved).to.have.length(1);
      expect(resolved[0]).to.include('光明社区机房NVR');
      expect(resolved[0]).to.include('点位：1 个');
      expect(firing).to.have.length(1);
      expect(firing[0]).to.include('点位：2 个');
      expect(firing[0]).to.include('光明社区cam62号球机');
      expect(firing[0]).to.include('光明社区cam63号球机');
      expect(firing[0]).to.not.include('光明社区机房NVR');
    }
    const keys = hook.requests.map((r) => r.headers['x-vigil-idempotency-key']);
    expect(new Set(keys).size, 'each webhook message under its own key').to.equal(keys.length);
    const open = await admin.get('/incidents?state=open');
    expect(open.body.items).to.have.length(1);
    // the 62 that came back within the new incident's group wait stay in it as ended members, never named
    expect(open.body.items[0].counts).to.deep.equal({ firing: 2, suppressed: 0, flapping: 0, ended: 62 });
  });
});
