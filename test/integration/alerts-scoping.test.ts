import { expect } from 'chai';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import type { IncidentView } from '../../server/src/contracts/incidents';
import { monitoringOf } from '../../server/src/monitoring';
import type { Transition } from '../../server/src/monitoring/events';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs, tokenFor } from '../helpers/auth';
import { bearerClient, type ApiClient } from '../helpers/http';
import { waitFor } from '../fixtures/polling';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };
const ORGS = ['甲公司', '乙公司', '丙公司', '丁公司', '戊公司'];
const PER_ORG = 10;

interface Tech {
  org: string;
  api: ApiClient;
  socket: ClientSocket;
  events: Array<{ event: string; view: IncidentView }>;
  points: string[];
}

/**
 * Done-when "scoping": 5 maintainer organisations × 10 incidents. Each technician's list (every page of it),
 * each incident he opens, and every incident event on his /live socket hold only his organisation's 10.
 * Confirmed transitions are emitted on the app's real monitoring change feed (polling is not what is
 * tested here); everything after it is the running app: incident service, store, REST, Socket.IO.
 */
describe('alerts: 5 organisations × 10 incidents under the visibility rule', function () {
  this.timeout(120_000);
  let app: TestApp;
  let admin: ApiClient;
  const techs: Tech[] = [];
  const regionOf = new Map<string, string>();
  const incidentsOf = new Map<string, Set<string>>();

  before(async () => {
    app = await bootAuthApp({ MONITOR_ENABLED: 'false', ALERTS_TICK_MS: '50' });
    admin = await loginAs(app, bootAdmin);
    const { regions, cameras } = app.registry;
    const district = (await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    const street = (await regions.create(fixture, { name: '站前街道', tier: 'street', parentId: district, code: null, households: null, boundary: null, note: '' })).id;
    const communities: string[] = [];
    for (let c = 0; c < 2; c++) communities.push((await regions.create(fixture, { name: `第${c + 1}社区`, tier: 'community', parentId: street, code: null, households: null, boundary: null, note: '' })).id);
    let serial = 0;
    for (const org of ORGS) {
      const user = await createUser(app, { role: 'technician', scopeRegionId: street, maintainerOrg: org });
      const api = bearerClient(app, await tokenFor(app, user));
      const socket = connect(`${app.baseUrl}/live`, { transports: ['websocket'], ...api.socketOptions() });
      const tech: Tech = { org, api, socket, events: [], points: [] };
      for (const event of ['incident:opened', 'incident:updated', 'incident:resolved'] as const) socket.on(event, (view: IncidentView) => tech.events.push({ event, view }));
      techs.push(tech);
      for (let i = 0; i < PER_ORG; i++) {
        serial += 1;
        // the organisations' points are mixed across both communities: region scope alone cannot tell them apart
        const regionId = communities[serial % 2];
        const input = stripEcho(
          cameraInputSchema.parse({
            gbCode: `21030200001320${String(serial).padStart(6, '0')}`,
            name: `${org}${i + 1}号点位`,
            regionId,
            endpoint: { host: `127.31.0.${serial}`, rtspPort: 554 },
            sharing: 'all',
            maintainer: { org, contact: '', phone: '' },
          }),
        );
        const id = (await cameras.create(fixture, input)).id;
        tech.points.push(id);
        regionOf.set(id, regionId);
      }
    }
    await Promise.all(techs.map((t) => new Promise<void>((res) => (t.socket.connected ? res() : t.socket.once('connect', () => res())))));
    const policy = await admin.post('/alert-policies', { name: '站前街道 每点一单', match: { regionIds: [street] }, groupBy: 'upstream', groupWaitSec: 0 });
    expect(policy.status, JSON.stringify(policy.body)).to.equal(201);
  });
  after(async () => {
    for (const t of techs) t.socket.close();
    await app?.close();
  });

  function emit(id: string, to: 'DOWN' | 'UP', seq: number): void {
    const t: Transition = { id: `${id}:${seq}`, cameraId: id, regionId: regionOf.get(id) as string, seq, from: to === 'DOWN' ? 'UP' : 'DOWN', to, at: new Date(), reason: null, rttMs: null, flapping: false, failingSince: null };
    monitoringOf(app.ctx).feed.emit(t);
  }

  it('when 50 points of 5 organisations go DOWN, then 50 incidents open and each technician lists exactly his 10, on every page', async () => {
    for (const t of techs) for (const id of t.points) emit(id, 'DOWN', 2);
    await waitFor('50 open incidents', async () => ((await admin.get('/incidents?state=open&limit=100')).body.items as IncidentView[]).length === ORGS.length * PER_ORG, 20_000);
    const all = (await admin.get('/incidents?state=open&limit=100')).body.items as IncidentView[];
    for (const t of techs) {
      const mine = all.filter((i) => i.members.every((m) => t.points.includes(m.pointId)));
      expect(mine, `${t.org}: its incidents`).to.have.length(PER_ORG);
      incidentsOf.set(t.org, new Set(mine.map((i) => i.id)));
    }

    for (const t of techs) {
      const seen: IncidentView[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await t.api.get(`/incidents?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).to.equal(200);
        seen.push(...(res.body.items as IncidentView[]));
        cursor = res.body.nextCursor as string | null;
        pages += 1;
      } while (cursor && pages < 20);
      expect(pages, `${t.org}: 10 incidents in pages of 3`).to.equal(4);
      expect(new Set(seen.map((i) => i.id)), `${t.org}: every page holds only its own`).to.deep.equal(incidentsOf.get(t.org));
      expect(seen.flatMap((i) => i.members.map((m) => m.org))).to.satisfy((orgs: string[]) => orgs.every((o) => o === t.org));
      const other = techs.find((o) => o !== t) as Tech;
      const foreign = [...(incidentsOf.get(other.org) ?? [])][0];
      expect((await t.api.get(`/incidents/${foreign}`)).status, `${t.org}: another organisation's incident is not found`).to.equal(404);
      expect((await t.api.post(`/incidents/${foreign}/ack`)).status).to.equal(404);
      expect((await t.api.get(`/incidents?org=${encodeURIComponent(other.org)}`)).body.items, `${t.org}: filtering by another organisation finds nothing`).to.have.length(0);
    }
  });

  it('when the incidents open, change and resolve, then each technician\'s socket carried events of his 10 only', async () => {
    // a change: each technician acknowledges one of his own
    for (const t of techs) {
      const id = [...(incidentsOf.get(t.org) ?? [])][0];
      expect((await t.api.post(`/incidents/${id}/ack`)).status).to.equal(200);
    }
    for (const t of techs) for (const id of t.points) emit(id, 'UP', 3);
    await waitFor('every technician saw his 10 resolved', () => techs.every((t) => new Set(t.events.filter((e) => e.event === 'incident:resolved').map((e) => e.view.id)).size === PER_ORG), 20_000);
    await new Promise((r) => setTimeout(r, 500));
    for (const t of techs) {
      const mine = incidentsOf.get(t.org) ?? new Set<string>();
      expect(new Set(t.events.filter((e) => e.event === 'incident:opened').map((e) => e.view.id)), `${t.org}: opened events`).to.deep.equal(mine);
      expect(new Set(t.events.map((e) => e.view.id)), `${t.org}: every event`).to.deep.equal(mine);
      expect(t.events.flatMap((e) => e.view.members.map((m) => m.org)).every((o) => o === t.org), `${t.org}: members in events`).to.equal(true);
      expect(t.events.some((e) => e.event === 'incident:updated' && e.view.ackedAt !== null), `${t.org}: its own acknowledgement came as an update`).to.equal(true);
    }
  });
});
