import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import type { MaintenanceWindowView } from '../../server/src/contracts/maintenance';
import { simAddress, startSimulator, type RunningSimulator } from '../../server/src/demo/sim/simulator';
import { monitoringOf } from '../../server/src/monitoring';
import { waitFor } from '../fixtures/polling';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs } from '../helpers/auth';
import type { ApiClient } from '../helpers/http';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };
const H = 3_600_000;
/** Monday 15 June 2026, 10:00 Asia/Shanghai. */
const MON10 = Date.UTC(2026, 5, 15, 2);
const weeklyTue = { kind: 'weekly', days: [2], start: '22:00', end: '02:00' };
const fields = (body: unknown): string[] => ((body as { error?: { details?: Array<{ field: string }> } }).error?.details ?? []).map((d) => d.field);

/**
 * Maintenance windows over real HTTP, the real store and real polling of a few simulated cameras: validation,
 * who may write what (a scoped admin only inside his subtree), who sees what, the audit trail, a point
 * registered during an open window, and restarts in and after a window (the state is right again).
 */
describe('maintenance windows: REST under the visibility rule, points joining, restarts', function () {
  this.timeout(120_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-maint-'));
  let app: TestApp;
  let sim: RunningSimulator;
  let admin: ApiClient;
  let s1Admin: ApiClient;
  let s2Admin: ApiClient;
  let techB: ApiClient;
  let operator: ApiClient;
  let offset = 0;
  const setClock = (t: number): void => {
    offset = t - Date.now();
  };
  const clock = (): number => Date.now() + offset;
  const env = {
    DATA_DIR: dataDir,
    MONITOR_ENABLED: 'true',
    MONITOR_INTERVAL_OVERRIDE_MS: '300',
    MONITOR_RETRY_INTERVAL_MS: '100',
    MONITOR_FLUSH_MS: '100',
    MAINTENANCE_TICK_MS: '100',
  };
  const r: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const addrs = Array.from({ length: 4 }, (_, i) => simAddress(71_000 + i));
  const pointBody = (key: string, i: number, region: string, org: string, tags: string[] = []): Record<string, unknown> => ({
    gbCode: `21030200001320${String(710_000 + i).padStart(6, '0')}`,
    name: `${key}-点位`,
    regionId: r[region],
    endpoint: { host: addrs[i], rtspPort: sim.rtspPort },
    probe: { kind: 'tcp', timeoutMs: 300, retries: 2 },
    sharing: 'up',
    maintainer: { org, contact: '李工', phone: '13900000001' },
    tags,
  });
  const state = (id: string): string | undefined => monitoringOf(app.ctx).status(id)?.state;

  before(async () => {
    setClock(MON10);
    sim = await startSimulator({ cameras: addrs.map((a) => ({ addr: a })) });
    app = await bootAuthApp(env, { maintenanceClock: clock });
    const { regions, cameras } = app.registry;
    r.D = (await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    r.S1 = (await regions.create(fixture, { name: '站前街道', tier: 'street', parentId: r.D, code: null, households: null, boundary: null, note: '' })).id;
    r.S2 = (await regions.create(fixture, { name: '新兴街道', tier: 'street', parentId: r.D, code: null, households: null, boundary: null, note: '' })).id;
    r.C1 = (await regions.create(fixture, { name: '站前社区', tier: 'community', parentId: r.S1, code: null, households: null, boundary: null, note: '' })).id;
    for (const [key, i, region, org, tags] of [
      ['a', 0, 'S1', 'OrgA', []],
      ['b', 1, 'C1', 'OrgB', ['夜间']],
      ['c', 2, 'S2', 'OrgA', []],
    ] as const) {
      ids[key] = (await cameras.create(fixture, stripEcho(cameraInputSchema.parse(pointBody(key, i, region, org, [...tags]))))).id;
    }
    admin = await loginAs(app, bootAdmin);
    s1Admin = await loginAs(app, await createUser(app, { role: 'admin', scopeRegionId: r.S1 }));
    s2Admin = await loginAs(app, await createUser(app, { role: 'admin', scopeRegionId: r.S2 }));
    techB = await loginAs(app, await createUser(app, { role: 'technician', scopeRegionId: r.D, maintainerOrg: 'OrgB' }));
    operator = await loginAs(app, await createUser(app, { role: 'operator', scopeRegionId: r.D }));
    await waitFor('points UP', () => ['a', 'b', 'c'].every((k) => state(ids[k]) === 'UP'), 30_000, 100);
  });
  after(async () => {
    await app?.close();
    await sim?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when a body is bad, then 422 names the field (weekday, cron, a one-off already over, an empty matcher)', async () => {
    const post = (body: Record<string, unknown>) => admin.post('/maintenance-windows', { name: 'x', matcher: { regionIds: [r.S1] }, schedule: weeklyTue, ...body });
    const day = await post({ schedule: { ...weeklyTue, days: [8] } });
    expect([day.status, fields(day.body)]).to.deep.equal([422, ['schedule.days.0']]);
    const cron = await post({ schedule: { kind: 'cron', expression: '0 0 31 2 *', durationMin: 60 } });
    expect([cron.status, fields(cron.body)]).to.deep.equal([422, ['schedule.expression']]);
    const over = await post({ schedule: { kind: 'once', startsAt: new Date(MON10 - 2 * H).toISOString(), endsAt: new Date(MON10 - H).toISOString() } });
    expect([over.status, fields(over.body)]).to.deep.equal([422, ['schedule.endsAt']]);
    const empty = await post({ matcher: {} });
    expect(empty.status).to.equal(422);
    expect(fields(empty.body)[0]).to.match(/^matcher/);
    const kind = await post({ schedule: { kind: 'yearly' } });
    expect([kind.status, fields(kind.body)[0]]).to.deep.equal([422, 'schedule.kind']);
  });

  it('when scoped callers write and read, then admins write only inside their subtree and readers see the windows of what they see; every write is audited', async () => {
    expect((await operator.post('/maintenance-windows', { name: 'x', matcher: { regionIds: [r.S1] }, schedule: weeklyTue })).status, 'operator').to.equal(403);
    expect((await techB.post('/maintenance-windows', { name: 'x', matcher: { regionIds: [r.S1] }, schedule: weeklyTue })).status, 'technician').to.equal(403);
    const otherStreet = await s1Admin.post('/maintenance-windows', { name: 'x', matcher: { regionIds: [r.S2] }, schedule: weeklyTue });
    expect([otherStreet.status, fields(otherStreet.body)], 'another street: not found').to.deep.equal([404, ['matcher.regionIds.0']]);
    const district = await s1Admin.post('/maintenance-windows', { name: 'x', matcher: { regionIds: [r.D] }, schedule: weeklyTue });
    expect([district.status, fields(district.body)], 'his district, seen but not his').to.deep.equal([403, ['matcher.regionIds.0']]);
    const hiddenPoint = await s1Admin.post('/maintenance-windows', { name: 'x', matcher: { pointIds: [ids.c] }, schedule: weeklyTue });
    expect([hiddenPoint.status, fields(hiddenPoint.body)]).to.deep.equal([404, ['matcher.pointIds.0']]);

    const own = await s1Admin.post('/maintenance-windows', { name: '站前 OrgB 夜间', matcher: { orgs: ['OrgB'] }, schedule: weeklyTue });
    expect(own.status, JSON.stringify(own.body)).to.equal(201);
    const ownView = own.body as MaintenanceWindowView;
    expect(ownView.matcher.regionIds, 'bound to his subtree').to.deep.equal([r.S1]);
    expect(ownView.coveredPoints).to.equal(1);
    const s2 = (await admin.post('/maintenance-windows', { name: '新兴 周二', matcher: { regionIds: [r.S2] }, schedule: weeklyTue })).body as MaintenanceWindowView;
    const whole = (await admin.post('/maintenance-windows', { name: '全区 OrgA 月末', matcher: { regionIds: [r.D], orgs: ['OrgA'] }, schedule: { kind: 'monthly', days: [-1], start: '23:00', end: '05:00' } }))
      .body as MaintenanceWindowView;
    expect(whole.coveredPoints, 'a and c').to.equal(2);

    const names = async (c: ApiClient): Promise<string[]> => ((await c.get('/maintenance-windows')).body.items as MaintenanceWindowView[]).map((w) => w.name).sort();
    expect(await names(admin)).to.deep.equal([ownView.name, s2.name, whole.name].sort());
    expect(await names(s1Admin), 'not the other street').to.deep.equal([ownView.name, whole.name].sort());
    expect(await names(s2Admin)).to.deep.equal([s2.name, whole.name].sort());
    expect(await names(techB), 'OrgB: not the OrgA window').to.deep.equal([ownView.name, s2.name].sort());
    expect((await s2Admin.get(`/maintenance-windows/${ownView.id}`)).status).to.equal(404);
    expect((await s2Admin.delete(`/maintenance-windows/${ownView.id}`)).status).to.equal(404);
    expect((await s1Admin.put(`/maintenance-windows/${whole.id}`, { name: 'mine now', matcher: { regionIds: [r.S1] }, schedule: weeklyTue })).status, 'the district window').to.equal(403);
    expect((await s1Admin.delete(`/maintenance-windows/${whole.id}`)).status).to.equal(403);

    const renamed = await s1Admin.request('PUT', `/maintenance-windows/${ownView.id}`, { name: '站前 OrgB 周二夜间', matcher: { orgs: ['OrgB'] }, schedule: weeklyTue }, { headers: { 'If-Match': '"v1"' } });
    expect([renamed.status, renamed.body.version], JSON.stringify(renamed.body)).to.deep.equal([200, 2]);
    const stale = await s1Admin.request('PUT', `/maintenance-windows/${ownView.id}`, { name: 'late', matcher: { orgs: ['OrgB'] }, schedule: weeklyTue }, { headers: { 'If-Match': '"v1"' } });
    expect(stale.status).to.equal(409);
    expect((await s1Admin.delete(`/maintenance-windows/${ownView.id}`)).status).to.equal(204);
    for (const w of [s2, whole]) expect((await admin.delete(`/maintenance-windows/${w.id}`)).status).to.equal(204);

    const audit = await admin.get('/audit?entity=alert&limit=100');
    const actions = (audit.body.items as Array<{ action: string; entityId: string }>).filter((e) => e.entityId === ownView.id).map((e) => e.action);
    expect(actions.sort()).to.deep.equal(['maintenance.create', 'maintenance.delete', 'maintenance.update']);
    const s1Audit = await s1Admin.get('/audit?entity=alert&limit=100');
    expect((s1Audit.body.items as Array<{ entityId: string }>).some((e) => e.entityId === ownView.id), 'his own entries, scoped').to.equal(true);

    const doc = await admin.get('/openapi.json');
    expect(Object.keys(doc.body.paths as Record<string, unknown>)).to.include.members(['/maintenance-windows', '/maintenance-windows/{id}']);
  });

  it('when a window is open, then a point registered into its scope joins it; after a restart inside it the points are still in; after a restart past its end they are out', async () => {
    const once = await admin.post('/maintenance-windows', {
      name: '站前街道 临时施工',
      matcher: { regionIds: [r.S1] },
      schedule: { kind: 'once', startsAt: new Date(MON10 + H).toISOString(), endsAt: new Date(MON10 + 3 * H).toISOString() },
    });
    expect(once.status, JSON.stringify(once.body)).to.equal(201);
    setClock(MON10 + H);
    await waitFor('the street in maintenance', () => state(ids.a) === 'MAINTENANCE' && state(ids.b) === 'MAINTENANCE', 10_000, 50);
    expect(state(ids.c)).to.equal('UP');

    const created = await admin.post('/cameras', pointBody('d', 3, 'C1', 'OrgB'));
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    ids.d = created.body.id as string;
    await waitFor('the new point in maintenance', () => state(ids.d) === 'MAINTENANCE', 10_000, 50);

    // restart inside the window
    await app.close({ keepData: true });
    setClock(MON10 + 2 * H);
    app = await bootAuthApp(env, { maintenanceClock: clock });
    for (const k of ['a', 'b', 'd']) expect(state(ids[k]), `${k} after the restart`).to.equal('MAINTENANCE');
    expect(state(ids.c)).to.not.equal('MAINTENANCE');

    // down while the window ends: the next start finds it over
    await app.close({ keepData: true });
    setClock(MON10 + 4 * H);
    app = await bootAuthApp(env, { maintenanceClock: clock });
    for (const k of ['a', 'b', 'd']) expect(state(ids[k]), `${k} once the window is over`).to.not.equal('MAINTENANCE');
    await waitFor('all UP', () => ['a', 'b', 'c', 'd'].every((k) => state(ids[k]) === 'UP'), 20_000, 50);
  });

  it('when an open window is deleted, then its points leave maintenance at once', async () => {
    admin = await loginAs(app, bootAdmin);
    const w = (await admin.post('/maintenance-windows', { name: '标签 夜间', matcher: { tags: ['夜间'] }, schedule: { kind: 'cron', expression: '0 * * * *', durationMin: 120 } }))
      .body as MaintenanceWindowView;
    expect(w.active).to.equal(true);
    await waitFor('the tagged point in maintenance', () => state(ids.b) === 'MAINTENANCE', 10_000, 50);
    expect(state(ids.a), 'untagged').to.equal('UP');
    expect((await admin.delete(`/maintenance-windows/${w.id}`)).status).to.equal(204);
    expect(state(ids.b), 'out before the answer').to.not.equal('MAINTENANCE');
  });
});
