import { expect } from 'chai';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import type { IncidentView } from '../../server/src/contracts/incidents';
import { monitoringOf } from '../../server/src/monitoring';
import type { Transition } from '../../server/src/monitoring/events';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs, tokenFor } from '../helpers/auth';
import { bearerClient, type ApiClient } from '../helpers/http';
import { captureServer, type Captured, type CaptureServer } from '../helpers/receivers';
import { waitFor } from '../fixtures/polling';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface HookMessage {
  incidentId: string;
  title: string;
  state: 'firing' | 'resolved';
  points: string[];
  at: number;
}

/**
 * Done-when "silence then resolve" and "ack and escalation", through the running app: confirmed transitions
 * emitted on the real monitoring change feed, the incident service on its own clock (ALERTS_TICK_MS), silences
 * and acknowledgements over REST, and the app's dispatcher delivering to webhook receivers over HTTP. Each
 * receiver is one channel, so who was paged and when is read at the receivers.
 *
 * Escalation is scaled 1:300 by the policy's own settings (30 min → 6 s, 60 min → 12 s, an ack at 12 min →
 * 2.4 s); the exact minute-level timings are the engine's unit tests (injected clock).
 */
describe('alerts: silences and the escalation chain, delivered', function () {
  this.timeout(120_000);
  let app: TestApp;
  let admin: ApiClient;
  let tech: ApiClient;
  let receiver: CaptureServer;
  const ids: Record<string, string> = {};
  const regionOf = new Map<string, string>();
  const channel: Record<string, string> = {};
  const seq = new Map<string, number>();

  /** What a receiver path got, decoded from the webhook body. */
  const got = (path: string): HookMessage[] =>
    receiver.requests
      .filter((r: Captured) => r.url === `/${path}`)
      .flatMap((r) => {
        const body = r.json as { incidentId: string; messages: Array<{ title: string; state: 'firing' | 'resolved'; points: Array<{ name: string }> }> };
        return body.messages.map((m) => ({ incidentId: body.incidentId, title: m.title, state: m.state, points: m.points.map((p) => p.name), at: r.at }));
      });
  const about = (path: string, name: string): HookMessage[] => got(path).filter((m) => m.points.includes(name));

  before(async () => {
    app = await bootAuthApp({ MONITOR_ENABLED: 'false', ALERTS_TICK_MS: '50', ALERTS_DISPATCH_ENABLED: 'true', ALERTS_DISPATCH_TICK_MS: '50' });
    admin = await loginAs(app, bootAdmin);
    receiver = await captureServer({ reply: () => ({ status: 200, body: { ok: true } }) });
    const { regions, cameras } = app.registry;
    const district = (await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    const street = (await regions.create(fixture, { name: '站前街道', tier: 'street', parentId: district, code: null, households: null, boundary: null, note: '' })).id;
    const quiet = (await regions.create(fixture, { name: '静默社区', tier: 'community', parentId: street, code: null, households: null, boundary: null, note: '' })).id;
    const chain = (await regions.create(fixture, { name: '升级社区', tier: 'community', parentId: street, code: null, households: null, boundary: null, note: '' })).id;
    let serial = 0;
    for (const [key, regionId] of [['A', quiet], ['B', quiet], ['C', chain], ['D', chain]] as const) {
      serial += 1;
      const input = stripEcho(
        cameraInputSchema.parse({
          gbCode: `21030200001320${String(serial).padStart(6, '0')}`,
          name: `点位${key}`,
          regionId,
          endpoint: { host: `127.32.0.${serial}`, rtspPort: 554 },
          sharing: 'all',
          maintainer: { org: '某安防公司', contact: '', phone: '' },
        }),
      );
      ids[key] = (await cameras.create(fixture, input)).id;
      regionOf.set(ids[key], regionId);
    }
    for (const name of ['group', 'tech', 'lead', 'duty']) {
      const res = await admin.post('/channels', { kind: 'webhook', name, settings: { url: `${receiver.url}/${name}` }, secrets: { secret: `secret-of-${name}-0123456789abcdef` } });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      channel[name] = res.body.id as string;
    }
    const p1 = await admin.post('/alert-policies', { name: '静默社区', match: { regionIds: [quiet] }, groupWaitSec: 0, groupIntervalSec: 1, receivers: [{ kind: 'channel', id: channel.group }] });
    expect(p1.status, JSON.stringify(p1.body)).to.equal(201);
    const p2 = await admin.post('/alert-policies', {
      name: '升级社区',
      match: { regionIds: [chain] },
      groupWaitSec: 0,
      groupIntervalSec: 1,
      escalation: {
        steps: [
          { afterSec: 0, receivers: [{ kind: 'channel', id: channel.tech }] },
          { afterSec: 6, receivers: [{ kind: 'channel', id: channel.lead }] },
          { afterSec: 12, receivers: [{ kind: 'channel', id: channel.duty }] },
        ],
      },
    });
    expect(p2.status, JSON.stringify(p2.body)).to.equal(201);
    const user = await createUser(app, { role: 'technician', scopeRegionId: street, maintainerOrg: '某安防公司' });
    tech = bearerClient(app, await tokenFor(app, user));
  });
  after(async () => {
    await app?.close();
    await receiver?.close();
  });

  function emit(key: string, to: 'DOWN' | 'UP'): void {
    const id = ids[key];
    const n = (seq.get(id) ?? 1) + 1;
    seq.set(id, n);
    const t: Transition = { id: `${id}:${n}`, cameraId: id, regionId: regionOf.get(id) as string, seq: n, from: to === 'DOWN' ? 'UP' : 'DOWN', to, at: new Date(), reason: null, rttMs: null, flapping: false, failingSince: null };
    monitoringOf(app.ctx).feed.emit(t);
  }

  async function silence(key: string): Promise<void> {
    const res = await admin.post('/silences', { matcher: { pointIds: [ids[key]] }, endsAt: new Date(Date.now() + 2 * 3600_000).toISOString(), comment: '线路检修，已知离线' });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
  }

  it('when a firing incident is silenced for 2 h and resolves meanwhile, then exactly 1 resolved message follows; a point DOWN entirely inside a silence sends nothing', async () => {
    emit('A', 'DOWN');
    await waitFor('the firing message about A', () => about('group', '点位A').length === 1, 15_000);
    await silence('A');
    await silence('B');
    emit('B', 'DOWN');
    // the silence's "30 minutes", scaled: many ticks and dispatcher passes
    await sleep(2000);
    expect(about('group', '点位A').map((m) => m.state), 'nothing while silenced').to.deep.equal(['firing']);
    emit('A', 'UP');
    await waitFor('the resolved message about A', () => about('group', '点位A').length === 2, 15_000);
    emit('B', 'UP');
    await sleep(2000);
    expect(about('group', '点位A').map((m) => m.state), 'exactly one resolved message').to.deep.equal(['firing', 'resolved']);
    expect(about('group', '点位B'), 'B was DOWN only inside its silence').to.deep.equal([]);
    expect(got('group'), 'nothing else reached the receiver').to.have.length(2);
  });

  it('when nobody acknowledges, then the lead is paged 6 s ("30 min") and duty 12 s ("60 min") after the first message; an ack at 2.4 s ("12 min") stops the chain', async () => {
    emit('C', 'DOWN');
    emit('D', 'DOWN');
    await waitFor('the technician paged for C and D', () => about('tech', '点位C').length === 1 && about('tech', '点位D').length === 1, 15_000);
    const firstC = about('tech', '点位C')[0].at;
    const firstD = about('tech', '点位D')[0].at;
    const open = (await tech.get('/incidents?state=open')).body.items as IncidentView[];
    const incC = open.find((i) => i.members.some((m) => m.pointId === ids.C));
    const incD = open.find((i) => i.members.some((m) => m.pointId === ids.D));
    expect(incC, 'the technician sees C\'s incident').to.not.equal(undefined);
    expect(incD, 'the technician sees D\'s incident').to.not.equal(undefined);
    await sleep(Math.max(0, firstD + 2400 - Date.now()));
    const ack = await tech.post(`/incidents/${incD?.id ?? ''}/ack`);
    expect(ack.status, JSON.stringify(ack.body)).to.equal(200);

    await waitFor('duty paged for C', () => about('duty', '点位C').length === 1, 25_000);
    await sleep(1500);
    const lead = about('lead', '点位C');
    const duty = about('duty', '点位C');
    expect(lead, 'the lead paged once').to.have.length(1);
    expect(lead[0].title).to.match(/^未确认，升级通知/);
    // the engine's own times (its timeline): each step not before its time, and within a second of it (a
    // tick is 50 ms; a loaded machine delays timers); the receivers heard them in that order
    const timeline = ((await tech.get(`/incidents/${incC?.id ?? ''}`)).body as IncidentView).timeline ?? [];
    const announced = Date.parse(timeline.find((e) => e.kind === 'notified' && e.text.startsWith('firing'))?.at ?? '');
    const steps = timeline.filter((e) => e.kind === 'escalated').map((e) => ({ text: e.text, after: Date.parse(e.at) - announced }));
    expect(steps.map((x) => x.text)).to.deep.equal(['step 2', 'step 3']);
    expect(steps[0].after, 'lead at "30 min"').to.be.within(6000, 7000);
    expect(steps[1].after, 'duty at "60 min"').to.be.within(12_000, 13_000);
    expect(lead[0].at - firstC).to.be.above(5000);
    expect(duty[0].at).to.be.above(lead[0].at + 5000);
    const timelineD = ((await tech.get(`/incidents/${incD?.id ?? ''}`)).body as IncidentView).timeline ?? [];
    expect(timelineD.filter((e) => e.kind === 'escalated'), 'no step after the ack').to.deep.equal([]);
    expect(about('lead', '点位D'), 'D was acknowledged: no lead').to.deep.equal([]);
    expect(about('duty', '点位D'), 'D was acknowledged: no duty').to.deep.equal([]);
    expect(about('tech', '点位C'), 'the technician is not paged again').to.have.length(1);

    emit('C', 'UP');
    emit('D', 'UP');
    await waitFor('resolved messages', () => about('duty', '点位C').length === 2 && about('tech', '点位D').length === 2, 15_000);
    await sleep(1000);
    for (const path of ['tech', 'lead', 'duty']) expect(about(path, '点位C').map((m) => m.state).pop(), `${path} hears C resolved`).to.equal('resolved');
    expect(about('tech', '点位D').map((m) => m.state)).to.deep.equal(['firing', 'resolved']);
    expect(about('lead', '点位D')).to.deep.equal([]);
  });
});
