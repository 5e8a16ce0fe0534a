import { expect } from 'chai';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { alertsOf } from '../../server/src/alerts';
import type { Notice } from '../../server/src/alerts/incidents/engine';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import type { IncidentView } from '../../server/src/contracts/incidents';
import { monitoringOf } from '../../server/src/monitoring';
import { simAddress, startSimulator, type RunningSimulator } from '../../server/src/demo/sim/simulator';
import { bootAuthApp, bootAdmin, type TestApp } from '../helpers/app';
import { createUser, loginAs, tokenFor, type TestUser } from '../helpers/auth';
import { bearerClient, type ApiClient } from '../helpers/http';
import { waitFor } from '../fixtures/polling';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

/**
 * Incidents end to end: real polling of simulated cameras, the real store, REST and Socket.IO. An NVR with 8
 * cameras behind it (OrgA, community C1) and 3 cameras of OrgB (community C2) under one policy grouped by
 * upstream device.
 */
describe('alerts: incidents from real polling, under the visibility rule', function () {
  this.timeout(90_000);
  let app: TestApp;
  let sim: RunningSimulator;
  let admin: ApiClient;
  let techA: ApiClient;
  let techB: ApiClient;
  let userA: TestUser;
  let userB: TestUser;
  const r: Record<string, string> = {};
  const addr: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const notices: Notice[] = [];
  const sockets: ClientSocket[] = [];
  const cams = Array.from({ length: 8 }, (_, i) => `cam${i}`);

  before(async () => {
    const names = ['nvr', ...cams, 'b0', 'b1', 'b2'];
    names.forEach((n, i) => (addr[n] = simAddress(52_000 + i)));
    sim = await startSimulator({ cameras: names.map((n) => ({ addr: addr[n] })) });
    app = await bootAuthApp({
      MONITOR_ENABLED: 'true',
      MONITOR_INTERVAL_OVERRIDE_MS: '200',
      MONITOR_RETRY_INTERVAL_MS: '100',
      MONITOR_FLUSH_MS: '100',
      ALERTS_TICK_MS: '50',
    });
    const { regions, cameras } = app.registry;
    r.D = (await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    r.S1 = (await regions.create(fixture, { name: '站前街道', tier: 'street', parentId: r.D, code: null, households: null, boundary: null, note: '' })).id;
    for (const c of ['C1', 'C2']) r[c] = (await regions.create(fixture, { name: `${c}社区`, tier: 'community', parentId: r.S1, code: null, households: null, boundary: null, note: '' })).id;
    let serial = 0;
    const point = async (key: string, region: string, org: string, type: string, upstreamId: string | null): Promise<void> => {
      serial += 1;
      const input = stripEcho(
        cameraInputSchema.parse({
          gbCode: `2103020000${type}0${String(serial).padStart(6, '0')}`,
          name: `${key}-点位`,
          regionId: r[region],
          endpoint: { host: addr[key], rtspPort: sim.rtspPort },
          probe: { kind: 'tcp', timeoutMs: 300, retries: 2 },
          sharing: 'up',
          maintainer: { org, contact: '张工', phone: '13900000000' },
          upstreamId,
        }),
      );
      ids[key] = (await cameras.create(fixture, input)).id;
    };
    await point('nvr', 'C1', 'OrgA', '118', null);
    for (const c of cams) await point(c, 'C1', 'OrgA', '132', ids.nvr);
    for (const b of ['b0', 'b1', 'b2']) await point(b, 'C2', 'OrgB', '132', null);
    alertsOf(app.ctx).incidents.onNotices((ns) => {
      notices.push(...ns);
      return Promise.resolve();
    });
    admin = await loginAs(app, bootAdmin);
    userA = await createUser(app, { role: 'technician', scopeRegionId: r.S1, maintainerOrg: 'OrgA' });
    userB = await createUser(app, { role: 'technician', scopeRegionId: r.S1, maintainerOrg: 'OrgB' });
    techA = bearerClient(app, await tokenFor(app, userA));
    techB = bearerClient(app, await tokenFor(app, userB));
    const created = await admin.post('/alert-policies', {
      name: '站前街道 按上级设备',
      match: { regionIds: [r.S1] },
      groupBy: 'upstream',
      // long enough for the NVR's own confirmation to land inside it on a loaded machine
      groupWaitSec: 6,
      groupIntervalSec: 1,
      receivers: [{ kind: 'org', org: 'OrgA' }],
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    await waitFor('every point UP', () => Object.values(ids).every((id) => monitoringOf(app.ctx).status(id)?.state === 'UP'), 20_000);
  });
  after(async () => {
    for (const s of sockets) s.close();
    await app?.close();
    await sim?.stop();
  });

  it('policies are for admins: a technician may read but not create one (403), a bad body names the field (422)', async () => {
    expect((await techA.post('/alert-policies', { name: 'x' })).status).to.equal(403);
    expect((await techA.get('/alert-policies')).status).to.equal(200);
    const bad = await admin.post('/alert-policies', { name: 'bad', groupBy: 'building' });
    expect(bad.status).to.equal(422);
    expect(JSON.stringify(bad.body.error.details)).to.include('groupBy');
  });

  it('the NVR and its 8 cameras go DOWN → 1 incident, 1 message naming the NVR with 8 suppressed; only OrgA sees it', async () => {
    const sockA = connect(`${app.baseUrl}/live`, { transports: ['websocket'], ...techA.socketOptions() });
    const sockB = connect(`${app.baseUrl}/live`, { transports: ['websocket'], ...techB.socketOptions() });
    sockets.push(sockA, sockB);
    const gotA: IncidentView[] = [];
    const gotB: IncidentView[] = [];
    sockA.on('incident:opened', (v: IncidentView) => gotA.push(v));
    sockA.on('incident:updated', (v: IncidentView) => gotA.push(v));
    sockB.on('incident:opened', (v: IncidentView) => gotB.push(v));
    sockB.on('incident:updated', (v: IncidentView) => gotB.push(v));
    await Promise.all([sockA, sockB].map((s) => new Promise<void>((res) => (s.connected ? res() : s.once('connect', () => res())))));

    for (const c of cams) sim.setCameraFault(addr[c], { mode: 'down' });
    sim.setCameraFault(addr.nvr, { mode: 'down' });
    await waitFor('the firing message', () => notices.some((n) => n.kind === 'firing'), 20_000);
    await new Promise((res) => setTimeout(res, 1500));
    const firing = notices.filter((n) => n.kind === 'firing');
    expect(firing).to.have.length(1);
    expect(firing[0].firing).to.deep.equal([ids.nvr]);
    expect(firing[0].suppressed).to.equal(8);
    expect(firing[0].receivers).to.deep.equal([{ kind: 'org', org: 'OrgA' }]);

    const list = await techA.get('/incidents?state=open');
    expect(list.status).to.equal(200);
    expect(list.body.items).to.have.length(1);
    const inc = list.body.items[0] as IncidentView;
    expect(inc.counts).to.deep.equal({ firing: 1, suppressed: 8, flapping: 0, ended: 0 });
    expect(inc.members.find((m) => m.pointId === ids.nvr)?.name).to.equal('nvr-点位');

    expect((await techB.get('/incidents')).body.items, 'OrgB sees none of OrgA').to.have.length(0);
    expect((await techB.get(`/incidents/${inc.id}`)).status).to.equal(404);
    expect((await techB.post(`/incidents/${inc.id}/ack`)).status).to.equal(404);
    expect(gotA.some((v) => v.id === inc.id), 'OrgA technician got the socket event').to.equal(true);
    expect(gotB, 'OrgB technician got no socket event').to.have.length(0);
  });

  it('acknowledge and assign: only to a technician of the organisation; the timeline records who', async () => {
    const inc = ((await techA.get('/incidents?state=open')).body.items as IncidentView[])[0];
    const ack = await techA.post(`/incidents/${inc.id}/ack`);
    expect(ack.status, JSON.stringify(ack.body)).to.equal(200);
    expect(ack.body.ackedBy).to.equal(userA.username);
    const wrong = await admin.post(`/incidents/${inc.id}/assign`, { userId: userB.id });
    expect(wrong.status).to.equal(422);
    expect(JSON.stringify(wrong.body.error.details)).to.include('userId');
    const ok = await admin.post(`/incidents/${inc.id}/assign`, { userId: userA.id });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
    expect(ok.body.assignee).to.equal(userA.id);
    await techA.post(`/incidents/${inc.id}/comments`, { text: '已派人前往机房' });
    const full = await techA.get(`/incidents/${inc.id}`);
    const kinds = (full.body.timeline as Array<{ kind: string; by: string | null }>).map((e) => `${e.kind}:${e.by ?? ''}`);
    expect(kinds).to.include(`acknowledged:${userA.username}`);
    expect(kinds).to.include(`comment:${userA.username}`);
    expect((await techA.get('/incidents?mine=true')).body.items).to.have.length(1);
  });

  it('NVR back, 6 cameras back, 2 still DOWN → one resolved message for the NVR incident and one firing message for the 2', async () => {
    const before = notices.length;
    const first = ((await techA.get('/incidents?state=open')).body.items as IncidentView[])[0];
    sim.setCameraFault(addr.nvr, { mode: 'up' });
    for (const c of cams.slice(0, 6)) sim.setCameraFault(addr[c], { mode: 'up' });
    await waitFor('two messages', () => notices.length >= before + 2, 20_000);
    await new Promise((res) => setTimeout(res, 2500));
    const later = notices.slice(before);
    expect(later.map((n) => n.kind)).to.deep.equal(['resolved', 'firing']);
    expect(later[0].incidentId).to.equal(first.id);
    expect(later[1].incidentId).to.not.equal(first.id);
    expect(later[1].firing).to.have.members([ids.cam6, ids.cam7]);
    const resolved = await techA.get(`/incidents/${first.id}`);
    expect(resolved.body.state).to.equal('resolved');
    expect((await techA.post(`/incidents/${first.id}/ack`)).status, 'a resolved incident takes no action').to.equal(409);
  });
});
