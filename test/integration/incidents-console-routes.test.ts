import { expect } from 'chai';
import { alertsOf } from '../../server/src/alerts';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import type { IncidentAssignee, IncidentView } from '../../server/src/contracts/incidents';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs, tokenFor, type TestUser } from '../helpers/auth';
import { bearerClient, type ApiClient } from '../helpers/http';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

/**
 * What the console's incident pages ask of the server: list filters that never reveal a member the caller
 * cannot see, the incidents of one point (the point's page), and the technicians an incident may be
 * assigned to. One incident of street S1 holds an OrgA point (community C1) and an OrgB point (C2); the
 * OrgA technician sees only the first.
 */
describe('incidents for the console: member filters under the visibility rule, assignees', function () {
  this.timeout(60_000);
  let app: TestApp;
  let admin: ApiClient;
  let operator: ApiClient;
  let techA: ApiClient;
  let userA: TestUser;
  let userB: TestUser;
  let userAElsewhere: TestUser;
  const r: Record<string, string> = {};
  const ids: Record<string, string> = {};
  let incidentId = '';

  before(async () => {
    app = await bootAuthApp({ ALERTS_TICK_MS: '50' });
    const { regions, cameras } = app.registry;
    r.D = (await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    for (const s of ['S1', 'S2']) r[s] = (await regions.create(fixture, { name: `${s}街道`, tier: 'street', parentId: r.D, code: null, households: null, boundary: null, note: '' })).id;
    for (const [c, s] of [['C1', 'S1'], ['C2', 'S1'], ['C3', 'S2']]) {
      r[c] = (await regions.create(fixture, { name: `${c}社区`, tier: 'community', parentId: r[s], code: null, households: null, boundary: null, note: '' })).id;
    }
    let serial = 0;
    const point = async (key: string, region: string, org: string): Promise<void> => {
      serial += 1;
      const input = stripEcho(
        cameraInputSchema.parse({
          gbCode: `21030200001320${String(serial).padStart(6, '0')}`,
          name: `${key}-点位`,
          regionId: r[region],
          endpoint: { host: `127.0.77.${serial}`, rtspPort: 554 },
          sharing: 'up',
          maintainer: { org, contact: '张工', phone: '13900000000' },
        }),
      );
      ids[key] = (await cameras.create(fixture, input)).id;
    };
    await point('a1', 'C1', 'OrgA');
    await point('b1', 'C2', 'OrgB');
    admin = await loginAs(app, bootAdmin);
    const policy = await admin.post('/alert-policies', { name: '按街道', match: { regionIds: [r.D] }, groupBy: 'street', groupWaitSec: 0 });
    expect(policy.status, JSON.stringify(policy.body)).to.equal(201);
    userA = await createUser(app, { role: 'technician', scopeRegionId: r.S1, maintainerOrg: 'OrgA' });
    userB = await createUser(app, { role: 'technician', scopeRegionId: r.S1, maintainerOrg: 'OrgB' });
    // OrgA, but bound to the other street: he cannot see street S1's points
    userAElsewhere = await createUser(app, { role: 'technician', scopeRegionId: r.S2, maintainerOrg: 'OrgA' });
    operator = await loginAs(app, await createUser(app, { role: 'operator', scopeRegionId: r.S1 }));
    techA = bearerClient(app, await tokenFor(app, userA));

    const incidents = alertsOf(app.ctx).incidents;
    incidents.onTransition({ cameraId: ids.a1, to: 'DOWN', at: new Date(), flapping: false });
    incidents.onTransition({ cameraId: ids.b1, to: 'DOWN', at: new Date(), flapping: false });
    await incidents.flush();
    const open = incidents.engine.openIncidents();
    expect(open, 'one incident for the street').to.have.length(1);
    expect(open[0].members.map((m) => m.pointId)).to.have.members([ids.a1, ids.b1]);
    incidentId = open[0].id;
  });
  after(async () => {
    await app?.close();
  });

  const listed = async (client: ApiClient, query: string): Promise<string[]> => {
    const res = await client.get(`/incidents${query}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return (res.body.items as IncidentView[]).map((i) => i.id);
  };

  it('when a technician filters by the organisation, region or id of a member he cannot see, then the incident is not listed', async () => {
    // what he sees of it: his own organisation's member only
    expect(await listed(techA, '')).to.deep.equal([incidentId]);
    expect(await listed(techA, '?org=OrgB'), 'org of a hidden member').to.deep.equal([]);
    expect(await listed(techA, `?regionId=${r.C2}`), 'region of a hidden member').to.deep.equal([]);
    expect(await listed(techA, `?pointId=${ids.b1}`), 'id of a hidden member').to.deep.equal([]);
  });

  it('when a filter names a member the caller sees, then the incident is listed (the point page asks by pointId)', async () => {
    expect(await listed(techA, '?org=OrgA')).to.deep.equal([incidentId]);
    expect(await listed(techA, `?regionId=${r.C1}`)).to.deep.equal([incidentId]);
    expect(await listed(techA, `?pointId=${ids.a1}&state=open`)).to.deep.equal([incidentId]);
    expect(await listed(operator, '?org=OrgB')).to.deep.equal([incidentId]);
    expect(await listed(operator, `?pointId=${ids.b1}`)).to.deep.equal([incidentId]);
    const bad = await techA.get('/incidents?pointId=nope');
    expect(bad.status).to.equal(400);
    expect(JSON.stringify(bad.body.error.details)).to.include('pointId');
  });

  it('when the console asks whom to assign to, then it gets the technicians of the organisations the caller sees who can see the incident', async () => {
    const forOperator = await operator.get(`/incidents/${incidentId}/assignees`);
    expect(forOperator.status, JSON.stringify(forOperator.body)).to.equal(200);
    const names = (forOperator.body.items as IncidentAssignee[]).map((u) => u.username);
    expect(names).to.have.members([userA.username, userB.username]);
    const forTech = await techA.get(`/incidents/${incidentId}/assignees`);
    expect((forTech.body.items as IncidentAssignee[]).map((u) => u.username), 'OrgB stays hidden from an OrgA technician').to.deep.equal([userA.username]);
  });

  it('when an operator assigns to a technician of the organisation who cannot see the incident, then it is refused naming userId', async () => {
    const refused = await operator.post(`/incidents/${incidentId}/assign`, { userId: userAElsewhere.id });
    expect(refused.status, JSON.stringify(refused.body)).to.equal(422);
    expect(JSON.stringify(refused.body.error.details)).to.include('userId');
    const ok = await operator.post(`/incidents/${incidentId}/assign`, { userId: userB.id });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
    expect(ok.body.assignee).to.equal(userB.id);
    const timeline = (ok.body as IncidentView).timeline ?? [];
    expect(timeline.find((e) => e.kind === 'assigned')?.text, 'the timeline names the assignee').to.equal(userB.username);
  });
});
