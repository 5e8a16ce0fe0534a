import { expect } from 'chai';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { alertsOf } from '../../server/src/alerts';
import { grants, roles, type Permission, type Role } from '../../server/src/contracts/access';
import { bootAdmin, bootAuthApp, TEST_PASSWORD, type TestApp } from '../helpers/app';
import { createUser, loginAs, type TestUser } from '../helpers/auth';
import { anonymous, bearerClient, type ApiClient } from '../helpers/http';

/**
 * The access-control acceptance test (issue 6). It walks EVERY operation of /api/v1/openapi.json and, for
 * users of each role at each tier (district D, street S1, community C1), checks:
 *   anonymous → 401; role without the operation's x-permission → 403;
 *   target outside the caller's scope → 404; allowed → the entry's 2xx.
 * An operation without an entry in `table` fails the test, so a new route cannot skip access control.
 *
 * Region layout: D ⊃ S1 ⊃ C1 and D ⊃ S2 ⊃ C2. The in-scope target is C1 (inside every fixture tier); the
 * out-of-scope target is C2 (outside S1 and C1; the district tier has no outside). Camera fixtures are
 * shared 'up' so the tiers above their community see them too, and maintained by the technicians' org.
 */

const tiers = ['district', 'street', 'community'] as const;
type Tier = (typeof tiers)[number];

interface Fixture {
  app: TestApp;
  root: ApiClient;
  region: { D: string; S1: string; S2: string; C1: string; C2: string };
  users: Record<Tier, Record<Role, { user: TestUser; client: ApiClient }>>;
  /** One long-lived point per community, for operations on state the polling engine must have loaded. */
  camera: Record<string, string>;
  seq: number;
}

interface Req {
  method: string;
  path: string;
  body?: unknown;
  /** Send as this client instead of the acting user's own session (fresh session / fresh user). */
  client?: ApiClient;
}

interface Actor {
  tier: Tier;
  role: Role;
  user: TestUser;
  client: ApiClient;
}

interface Entry {
  /**
   * Builds a valid request. `target` is the community the request addresses (C1 in scope, C2 out of
   * scope); `inScope` tells which case is being built; `actor` is the caller (global admin for the
   * anonymous probe).
   */
  build(fx: Fixture, target: string, ctx: { inScope: boolean; actor: Actor | null }): Promise<Req>;
  /** Status of an allowed request (default 200). */
  ok?: number;
  /** Why the out-of-scope case does not apply (the operation addresses no region; lists filter instead). */
  unscoped?: string;
  /** Public operation: anonymous gets this status instead of 401, and no per-user matrix runs. */
  publicStatus?: number;
  /** Why only a global admin may (every scoped actor of the matrix gets 403 even with the permission). */
  globalOnly?: string;
}

/** A one-off window a year ahead over one region (never open during the test). */
const maintenanceBody = (regionId: string): Record<string, unknown> => ({
  name: '夜间检修',
  matcher: { regionIds: [regionId] },
  schedule: { kind: 'once', startsAt: new Date(Date.now() + 300 * 24 * 3600_000).toISOString(), endsAt: new Date(Date.now() + 301 * 24 * 3600_000).toISOString() },
});
const inAYear = (): string => new Date(Date.now() + 200 * 24 * 3600_000).toISOString();
const ORG = 'test-maintainer';

async function mustOk(res: Promise<{ status: number; body: { id?: string; error?: unknown } }>, what: string): Promise<string> {
  const r = await res;
  if (r.status >= 300) throw new Error(`fixture ${what} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return String(r.body.id);
}

function cameraBody(fx: Fixture, regionId: string, sharing: 'own' | 'up' | 'all' = 'up'): Record<string, unknown> {
  fx.seq += 1;
  const serial = String(fx.seq).padStart(6, '0');
  return {
    gbCode: `2103020000132${'0'}${serial}`,
    name: `cam ${serial}`,
    regionId,
    endpoint: { host: `127.0.${Math.floor(fx.seq / 250)}.${(fx.seq % 250) + 1}` },
    maintainer: { org: ORG },
    sharing,
  };
}

const newCamera = (fx: Fixture, regionId: string, sharing: 'own' | 'up' | 'all' = 'up'): Promise<string> =>
  mustOk(fx.root.post('/cameras', cameraBody(fx, regionId, sharing)), 'camera');

const newGrid = (fx: Fixture, parentId: string): Promise<string> =>
  mustOk(fx.root.post('/regions', { name: `grid ${++fx.seq}`, tier: 'grid', parentId }), 'grid');

function channelBody(fx: Fixture): Record<string, unknown> {
  return { kind: 'webhook', name: `hook ${++fx.seq}`, settings: { url: 'http://127.0.0.1:1/hook' }, secrets: { secret: 'access-test-secret-0123456789' } };
}

const newChannel = (fx: Fixture): Promise<string> => mustOk(fx.root.post('/channels', channelBody(fx)), 'channel');

async function newUserAt(fx: Fixture, regionId: string, role: Role = 'viewer'): Promise<TestUser> {
  return createUser(fx.app, { role, scopeRegionId: regionId });
}

/** An open incident of a new point in `regionId` (the fixture's catch-all policy groups every point by itself). */
async function newIncident(fx: Fixture, regionId: string): Promise<string> {
  const cameraId = await newCamera(fx, regionId);
  const incidents = alertsOf(fx.app.ctx).incidents;
  incidents.onTransition({ cameraId, to: 'DOWN', at: new Date(), flapping: false });
  await incidents.flush();
  const inc = incidents.engine.openIncidents().find((i) => i.members.some((m) => m.pointId === cameraId));
  if (!inc) throw new Error('fixture incident not opened');
  return inc.id;
}

const policyBody = (fx: Fixture, regionId: string): Record<string, unknown> => ({ name: `policy ${++fx.seq}`, match: { regionIds: [regionId] }, groupBy: 'street' });

/** A finished dry-run import job started by `client` (jobs are visible to the user who started them). */
async function newImportJob(fx: Fixture, client: ApiClient, regionId: string): Promise<string> {
  await newCamera(fx, regionId);
  const csv = await fx.root.get(`/cameras/export?regionId=${regionId}&format=csv`);
  for (let attempt = 0; ; attempt++) {
    const form = new FormData();
    form.append('file', new Blob([String(csv.body)], { type: 'text/csv' }), 'points.csv');
    const res = await client.request('POST', '/cameras/import?mode=dry-run&async=true', form);
    if (res.status === 409 && attempt < 100) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    if (res.status !== 202) throw new Error(`fixture import job failed: ${res.status} ${JSON.stringify(res.body)}`);
    const id = String(res.body.id);
    for (let i = 0; i < 300; i++) {
      if ((await client.get(`/cameras/import/jobs/${id}`)).body.state !== 'running') return id;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('fixture import job did not finish');
  }
}

const exclusionBody = (target: { regionId: string } | { pointIds: string[] }): Record<string, unknown> => ({
  ...target,
  reason: 'power_cut',
  from: '2026-06-10T12:00:00+08:00',
  to: '2026-06-10T16:00:00+08:00',
  evidence: { text: '停电通知' },
});

/** A pending exclusion request for the points of region `regionId`, made by `client`. */
const newExclusion = (regionId: string, client: ApiClient): Promise<string> => mustOk(client.post('/reports/exclusions', exclusionBody({ regionId })), 'exclusion');

/** Per community: a grid with a point and an operator bound to it (made once: a login costs an argon2 hash). */
const gridRequesters = new Map<string, Promise<{ grid: string; client: ApiClient }>>();

/**
 * A new pending request by an operator bound to a grid under `regionId` (narrower than every tier of the matrix,
 * so an admin or planner of any tier that sees it may decide it).
 */
async function narrowerExclusion(fx: Fixture, regionId: string): Promise<string> {
  let requester = gridRequesters.get(regionId);
  if (!requester) {
    requester = (async () => {
      const grid = await newGrid(fx, regionId);
      await mustOk(fx.root.post('/cameras', { ...cameraBody(fx, regionId), gridId: grid }), 'camera in grid');
      return { grid, client: await loginAs(fx.app, await newUserAt(fx, grid, 'operator')) };
    })();
    gridRequesters.set(regionId, requester);
  }
  const { grid, client } = await requester;
  return newExclusion(grid, client);
}

const table: Record<string, Entry> = {
  // ---- audit -----------------------------------------------------------------------------------------
  'GET /audit': { unscoped: 'a list: entries are filtered to the caller\'s subtree', build: () => Promise.resolve({ method: 'GET', path: '/audit' }) },

  // ---- regions ---------------------------------------------------------------------------------------
  'GET /regions': { build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/regions?within=${t}` }) },
  'POST /regions': { ok: 201, build: (fx, t) => Promise.resolve({ method: 'POST', path: '/regions', body: { name: `grid ${++fx.seq}`, tier: 'grid', parentId: t } }) },
  'GET /regions/tree': { build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/regions/tree?rootId=${t}` }) },
  'GET /regions/counts': { build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/regions/counts?regionId=${t}` }) },
  'GET /regions/{id}': { build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/regions/${t}` }) },
  'PATCH /regions/{id}': { build: async (fx, t) => ({ method: 'PATCH', path: `/regions/${await newGrid(fx, t)}`, body: { name: `renamed ${++fx.seq}` } }) },
  'DELETE /regions/{id}': { ok: 200, build: async (fx, t) => ({ method: 'DELETE', path: `/regions/${await newGrid(fx, t)}` }) },

  // ---- cameras ---------------------------------------------------------------------------------------
  'GET /cameras': { build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/cameras?regionId=${t}` }) },
  'POST /cameras': { ok: 201, build: (fx, t) => Promise.resolve({ method: 'POST', path: '/cameras', body: cameraBody(fx, t) }) },
  'GET /cameras/{id}': { build: async (fx, t) => ({ method: 'GET', path: `/cameras/${await newCamera(fx, t)}` }) },
  'PATCH /cameras/{id}': { build: async (fx, t) => ({ method: 'PATCH', path: `/cameras/${await newCamera(fx, t)}`, body: { name: `renamed ${++fx.seq}` } }) },
  'DELETE /cameras/{id}': { ok: 204, build: async (fx, t) => ({ method: 'DELETE', path: `/cameras/${await newCamera(fx, t)}` }) },

  'POST /cameras/import': {
    unscoped: 'a batch: rows outside the caller\'s scope are refused row by row in the report (see the import tests)',
    build: async (fx, t) => {
      await newCamera(fx, t);
      const csv = await fx.root.get(`/cameras/export?regionId=${t}&format=csv`);
      const form = new FormData();
      form.append('file', new Blob([String(csv.body)], { type: 'text/csv' }), 'points.csv');
      return { method: 'POST', path: '/cameras/import?mode=dry-run', body: form };
    },
  },
  'GET /cameras/export': { build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/cameras/export?regionId=${t}&format=csv` }) },

  // ---- alerts: incidents, policies, silences ---------------------------------------------------------
  'GET /incidents': { unscoped: 'a list: incidents are filtered to those with a member point the caller sees', build: () => Promise.resolve({ method: 'GET', path: '/incidents' }) },
  'GET /incidents/{id}': { build: async (fx, t) => ({ method: 'GET', path: `/incidents/${await newIncident(fx, t)}` }) },
  'POST /incidents/{id}/ack': { build: async (fx, t) => ({ method: 'POST', path: `/incidents/${await newIncident(fx, t)}/ack` }) },
  'GET /incidents/{id}/assignees': { build: async (fx, t) => ({ method: 'GET', path: `/incidents/${await newIncident(fx, t)}/assignees` }) },
  'POST /incidents/{id}/assign': {
    build: async (fx, t) => ({ method: 'POST', path: `/incidents/${await newIncident(fx, t)}/assign`, body: { userId: fx.users.community.technician.user.id } }),
  },
  'POST /incidents/{id}/comments': { build: async (fx, t) => ({ method: 'POST', path: `/incidents/${await newIncident(fx, t)}/comments`, body: { text: '现场检查中' } }) },
  'POST /incidents/{id}/close': { build: async (fx, t) => ({ method: 'POST', path: `/incidents/${await newIncident(fx, t)}/close` }) },
  'GET /alert-policies': { unscoped: 'a list filtered to policies naming a region the caller sees', build: () => Promise.resolve({ method: 'GET', path: '/alert-policies' }) },
  'POST /alert-policies': { ok: 201, build: (fx, t) => Promise.resolve({ method: 'POST', path: '/alert-policies', body: policyBody(fx, t) }) },
  'GET /alert-policies/{id}': { build: async (fx, t) => ({ method: 'GET', path: `/alert-policies/${await mustOk(fx.root.post('/alert-policies', policyBody(fx, t)), 'policy')}` }) },
  'PUT /alert-policies/{id}': {
    build: async (fx, t) => ({ method: 'PUT', path: `/alert-policies/${await mustOk(fx.root.post('/alert-policies', policyBody(fx, t)), 'policy')}`, body: policyBody(fx, t) }),
  },
  'DELETE /alert-policies/{id}': { ok: 204, build: async (fx, t) => ({ method: 'DELETE', path: `/alert-policies/${await mustOk(fx.root.post('/alert-policies', policyBody(fx, t)), 'policy')}` }) },
  'GET /silences': { unscoped: 'a list filtered to silences the caller may see', build: () => Promise.resolve({ method: 'GET', path: '/silences' }) },
  'POST /silences': { ok: 201, build: (_fx, t) => Promise.resolve({ method: 'POST', path: '/silences', body: { matcher: { regionIds: [t] }, endsAt: inAYear(), comment: '施工' } }) },
  'DELETE /silences/{id}': {
    build: async (fx, t, { inScope, actor }) => {
      // a silence is ended by its creator (or an operator/admin who sees it): the actor creates his own in scope
      const creator = inScope && actor && grants[actor.role].has('alert:ack') ? actor.client : fx.root;
      const id = await mustOk(creator.post('/silences', { matcher: { regionIds: [t] }, endsAt: inAYear(), comment: '施工' }), 'silence');
      return { method: 'DELETE', path: `/silences/${id}` };
    },
  },

  // ---- reports, monitoring load, import jobs --------------------------------------------------------
  'GET /reports/online-rate': {
    build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/reports/online-rate?region=${t}&from=${new Date(Date.now() - 3600_000).toISOString()}&to=${new Date().toISOString()}` }),
  },
  'GET /reports/online-rate/trend': { build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/reports/online-rate/trend?region=${t}&months=2` }) },
  'GET /reports/assessment': { build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/reports/assessment?month=2025-01&region=${t}` }) },
  'GET /reports/assessment/xlsx': { build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/reports/assessment/xlsx?month=2025-01&region=${t}` }) },
  'POST /reports/assessment/reissue': {
    ok: 201,
    unscoped: 'a whole closed month is issued again (no region)',
    globalOnly: 'a re-issue replaces the figures every tier reads',
    build: () => Promise.resolve({ method: 'POST', path: '/reports/assessment/reissue', body: { month: '2025-01', reason: '更正' } }),
  },
  'GET /coverage/counts': { build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/coverage/counts?region=${t}` }) },
  'GET /coverage/gaps': { build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/coverage/gaps?region=${t}` }) },
  'POST /coverage/area': {
    build: (_fx, t) => Promise.resolve({ method: 'POST', path: '/coverage/area', body: { region: t, shape: { type: 'circle', center: { lon: 123, lat: 41.1 }, radiusM: 500 } } }),
  },
  'GET /reports/exclusions': { unscoped: 'a list: requests are filtered to those whose region lies in the caller\'s subtree', build: () => Promise.resolve({ method: 'GET', path: '/reports/exclusions' }) },
  'POST /reports/exclusions': { ok: 201, build: (_fx, t) => Promise.resolve({ method: 'POST', path: '/reports/exclusions', body: exclusionBody({ regionId: t }) }) },
  'GET /reports/exclusions/{id}': { build: async (fx, t) => ({ method: 'GET', path: `/reports/exclusions/${await newExclusion(t, fx.root)}` }) },
  'POST /reports/exclusions/{id}/approve': { build: async (fx, t) => ({ method: 'POST', path: `/reports/exclusions/${await narrowerExclusion(fx, t)}/approve`, body: {} }) },
  'POST /reports/exclusions/{id}/reject': { build: async (fx, t) => ({ method: 'POST', path: `/reports/exclusions/${await narrowerExclusion(fx, t)}/reject`, body: {} }) },
  'GET /monitoring/load': { unscoped: "the polling engine's load (no point data)", build: () => Promise.resolve({ method: 'GET', path: '/monitoring/load' }) },
  'GET /cameras/import/jobs/{id}': {
    unscoped: 'a job is visible to the user who started it (any other caller: 404)',
    build: async (fx, t, { actor }) => {
      const starter = actor && grants[actor.role].has('camera:import') ? actor.client : fx.root;
      return { method: 'GET', path: `/cameras/import/jobs/${await newImportJob(fx, starter, t)}` };
    },
  },

  // ---- monitoring (per point) ---------------------------------------------------------------------
  'GET /cameras/{id}/status': { build: (fx, t) => Promise.resolve({ method: 'GET', path: `/cameras/${fx.camera[t]}/status` }) },
  'GET /cameras/{id}/history': { build: (fx, t) => Promise.resolve({ method: 'GET', path: `/cameras/${fx.camera[t]}/history?period=24h` }) },
  'POST /cameras/{id}/check': { build: (fx, t) => Promise.resolve({ method: 'POST', path: `/cameras/${fx.camera[t]}/check` }) },

  // ---- demo ------------------------------------------------------------------------------------------
  'GET /demo': { unscoped: 'first-run state of the whole registry (empty or not, loading or not)', build: () => Promise.resolve({ method: 'GET', path: '/demo' }) },
  'POST /demo/simulator': {
    ok: 409,
    globalOnly: 'starts listeners on this machine (demo-simulator.test.ts)',
    unscoped: 'district-wide trial action; refused (409) until the demo district is loaded — its success path is in demo-simulator.test.ts',
    build: () => Promise.resolve({ method: 'POST', path: '/demo/simulator' }),
  },
  'POST /demo/load': {
    ok: 409,
    globalOnly: 'loads a whole district (and may start the simulator)',
    unscoped: 'district-wide first-run action; its success path (empty registry) is covered by the registry tests',
    build: () => Promise.resolve({ method: 'POST', path: '/demo/load' }),
  },

  // ---- live (REST part) ------------------------------------------------------------------------------
  'GET /live/config': { publicStatus: 200, build: () => Promise.resolve({ method: 'GET', path: '/live/config' }) },
  'GET /live/regions': { unscoped: 'a list of the regions the caller may see', build: () => Promise.resolve({ method: 'GET', path: '/live/regions' }) },
  'GET /live/points': { build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/live/points?regionId=${t}` }) },
  'GET /live/boundaries': { build: (_fx, t) => Promise.resolve({ method: 'GET', path: `/live/boundaries?regionId=${t}` }) },

  // ---- maintenance windows (alert:read to read, alert:manage to change; bound to the regions they match) ----
  'GET /maintenance-windows': { unscoped: 'a list filtered to windows concerning regions the caller sees', build: () => Promise.resolve({ method: 'GET', path: '/maintenance-windows' }) },
  'POST /maintenance-windows': { ok: 201, build: (_fx, t) => Promise.resolve({ method: 'POST', path: '/maintenance-windows', body: maintenanceBody(t) }) },
  'GET /maintenance-windows/{id}': { build: async (fx, t) => ({ method: 'GET', path: `/maintenance-windows/${await mustOk(fx.root.post('/maintenance-windows', maintenanceBody(t)), 'window')}` }) },
  'PUT /maintenance-windows/{id}': {
    build: async (fx, t) => ({ method: 'PUT', path: `/maintenance-windows/${await mustOk(fx.root.post('/maintenance-windows', maintenanceBody(t)), 'window')}`, body: maintenanceBody(t) }),
  },
  'DELETE /maintenance-windows/{id}': {
    ok: 204,
    build: async (fx, t) => ({ method: 'DELETE', path: `/maintenance-windows/${await mustOk(fx.root.post('/maintenance-windows', maintenanceBody(t)), 'window')}` }),
  },

  // ---- alert channels (admin-only configuration, not bound to a region) -------------------------------
  'GET /channels': { unscoped: 'global alerting configuration (admins)', build: () => Promise.resolve({ method: 'GET', path: '/channels' }) },
  'POST /channels': { ok: 201, unscoped: 'global alerting configuration (admins)', build: (fx) => Promise.resolve({ method: 'POST', path: '/channels', body: channelBody(fx) }) },
  'GET /channels/{id}': { unscoped: 'global alerting configuration (admins)', build: async (fx) => ({ method: 'GET', path: `/channels/${await newChannel(fx)}` }) },
  'PATCH /channels/{id}': { unscoped: 'global alerting configuration (admins)', build: async (fx) => ({ method: 'PATCH', path: `/channels/${await newChannel(fx)}`, body: { enabled: false } }) },
  'DELETE /channels/{id}': { ok: 204, unscoped: 'global alerting configuration (admins)', build: async (fx) => ({ method: 'DELETE', path: `/channels/${await newChannel(fx)}` }) },
  // the webhook points at a closed loopback port: the test send answers 200 with outcome "retry"
  'POST /channels/{id}/test': { unscoped: 'global alerting configuration (admins)', build: async (fx) => ({ method: 'POST', path: `/channels/${await newChannel(fx)}/test` }) },
  'GET /channels/{id}/deliveries': { unscoped: 'global alerting configuration (admins)', build: async (fx) => ({ method: 'GET', path: `/channels/${await newChannel(fx)}/deliveries?state=dead` }) },

  // ---- auth ------------------------------------------------------------------------------------------
  'POST /auth/login': { publicStatus: 200, build: () => Promise.resolve({ method: 'POST', path: '/auth/login', body: bootAdmin }) },
  'GET /auth/setup': { publicStatus: 200, build: () => Promise.resolve({ method: 'GET', path: '/auth/setup' }) },
  'POST /auth/setup': {
    // A first admin exists, so setup is over; the setup flow itself is covered in auth.test.ts.
    publicStatus: 404,
    build: () => Promise.resolve({ method: 'POST', path: '/auth/setup', body: { token: 'x'.repeat(43), username: 'late', password: TEST_PASSWORD } }),
  },
  'POST /auth/logout': {
    ok: 204,
    unscoped: 'acts on the caller\'s own session',
    build: async (fx, _t, { actor }) => ({ method: 'POST', path: '/auth/logout', ...(actor ? { client: await loginAs(fx.app, actor.user) } : {}) }),
  },
  'GET /auth/me': { unscoped: 'the caller himself', build: () => Promise.resolve({ method: 'GET', path: '/auth/me' }) },
  'POST /auth/password': {
    ok: 204,
    unscoped: 'the caller\'s own password',
    build: async (fx, _t, { actor }) => {
      const fresh = actor ? await createUser(fx.app, { role: actor.role, scopeRegionId: actor.user.scopeRegionId }) : null;
      return {
        method: 'POST',
        path: '/auth/password',
        body: { currentPassword: TEST_PASSWORD, newPassword: 'Another-pass-987' },
        ...(fresh ? { client: await loginAs(fx.app, fresh) } : {}),
      };
    },
  },

  // ---- users -----------------------------------------------------------------------------------------
  'GET /users': { unscoped: 'a list filtered to users bound in the caller\'s subtree', build: () => Promise.resolve({ method: 'GET', path: '/users' }) },
  'POST /users': {
    ok: 201,
    build: (fx, t) => Promise.resolve({ method: 'POST', path: '/users', body: { username: `u${++fx.seq}`, role: 'viewer', scopeRegionId: t, password: TEST_PASSWORD } }),
  },
  'GET /users/{id}': { build: async (fx, t) => ({ method: 'GET', path: `/users/${(await newUserAt(fx, t)).id}` }) },
  'PATCH /users/{id}': { build: async (fx, t) => ({ method: 'PATCH', path: `/users/${(await newUserAt(fx, t)).id}`, body: { displayName: 'changed' } }) },
  'POST /users/{id}/unlock': { build: async (fx, t) => ({ method: 'POST', path: `/users/${(await newUserAt(fx, t)).id}/unlock` }) },
  'DELETE /users/{id}': { ok: 204, build: async (fx, t) => ({ method: 'DELETE', path: `/users/${(await newUserAt(fx, t)).id}` }) },

  // ---- tokens ----------------------------------------------------------------------------------------
  'GET /tokens': { unscoped: 'a list of the caller\'s own tokens (admins: also those bound in their subtree)', build: () => Promise.resolve({ method: 'GET', path: '/tokens' }) },
  'POST /tokens': {
    ok: 201,
    build: (fx, t) => Promise.resolve({ method: 'POST', path: '/tokens', body: { name: `t${++fx.seq}`, role: 'viewer', scopeRegionId: t, expiresAt: inAYear() } }),
  },
  'DELETE /tokens/{id}': {
    ok: 204,
    build: async (fx, t, { inScope, actor }) => {
      // In scope: the caller's own token (everyone may revoke his own). Out of scope: a token of a user bound at t.
      const owner = inScope && actor ? actor.client : await loginAs(fx.app, await newUserAt(fx, t, 'operator'));
      const body = { name: `t${++fx.seq}`, role: 'viewer', ...(inScope && actor ? {} : { scopeRegionId: t }), expiresAt: inAYear() };
      const created = await owner.post('/tokens', body);
      if (created.status !== 201 && actor && grants[actor.role].has('token:manage')) throw new Error(`token fixture: ${created.status}`);
      // Roles without token:manage cannot own one: the 403 comes first anyway, any id will do.
      const id = created.status === 201 ? String(created.body.id) : '0123456789abcdef01234567';
      return { method: 'DELETE', path: `/tokens/${id}` };
    },
  },
};

function expected(entry: Entry, permission: Permission, role: Role, inScope: boolean): number {
  if (!grants[role].has(permission)) return 403;
  if (entry.globalOnly) return 403;
  if (!inScope) return 404;
  return entry.ok ?? 200;
}

interface OpenApiDoc {
  paths: Record<string, Record<string, { 'x-permission': Permission | null }>>;
}

describe('access control: every operation × role × tier (acceptance)', function () {
  this.timeout(600_000);
  let fx: Fixture;
  let ops: Array<{ key: string; permission: Permission | null }> = [];

  before(async () => {
    // Polling on, so per-point status operations have something to answer with.
    const app = await bootAuthApp({ MONITOR_ENABLED: 'true' });
    const root = await loginAs(app, bootAdmin);
    const seqStart = { seq: 0 };
    const mk = (name: string, tier: string, parentId: string | null): Promise<string> => mustOk(root.post('/regions', { name, tier, parentId }), `region ${name}`);
    const D = await mk('District', 'district', null);
    const S1 = await mk('Street 1', 'street', D);
    const S2 = await mk('Street 2', 'street', D);
    const C1 = await mk('Community 1', 'community', S1);
    const C2 = await mk('Community 2', 'community', S2);
    const scopeOf: Record<Tier, string> = { district: D, street: S1, community: C1 };
    const users = {} as Fixture['users'];
    for (const tier of tiers) {
      users[tier] = {} as Fixture['users'][Tier];
      for (const role of roles) {
        const user = await createUser(app, { role, scopeRegionId: scopeOf[tier], username: `${tier}-${role}`, ...(role === 'technician' ? { maintainerOrg: ORG } : {}) });
        users[tier][role] = { user, client: await loginAs(app, user) };
      }
    }
    fx = { app, root, region: { D, S1, S2, C1, C2 }, users, camera: {}, seq: seqStart.seq };
    // one catch-all policy, grouping by upstream device (a point without one is its own group)
    await mustOk(root.post('/alert-policies', { name: 'catch-all', groupBy: 'upstream' }), 'policy');
    for (const c of [C1, C2]) fx.camera[c] = await newCamera(fx, c);
    // The polling engine picks new points up asynchronously; status reads answer 503 until it has.
    for (let i = 0; i < 100; i++) {
      const ready = await Promise.all([C1, C2].map(async (c) => (await root.get(`/cameras/${fx.camera[c]}/status`)).status === 200));
      if (ready.every(Boolean)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const doc = (await anonymous(app).get('/openapi.json')).body as OpenApiDoc;
    ops = Object.entries(doc.paths).flatMap(([p, byMethod]) =>
      Object.entries(byMethod).map(([m, op]) => ({ key: `${m.toUpperCase()} ${p}`, permission: op['x-permission'] })),
    );
  });

  after(async () => {
    await fx?.app.close();
  });

  it('when openapi.json lists an operation, then the access table has an entry for it (and no stale ones)', () => {
    const keys = ops.map((o) => o.key);
    expect(keys.length).to.be.greaterThan(20);
    expect(keys.filter((k) => !(k in table)), 'operations without an access-table entry: add one to `table` in test/integration/access.test.ts').to.deep.equal([]);
    expect(Object.keys(table).filter((k) => !keys.includes(k)), 'table entries for operations that no longer exist').to.deep.equal([]);
  });

  it('when every operation is called by anonymous, each role and each tier, then 401 / 403 / 404 / 2xx as the rules say', async () => {
    const mismatches: string[] = [];
    let checked = 0;
    for (const op of ops) {
      const entry = table[op.key];
      if (!entry) continue;
      let lastError = '';
      const send = async (client: ApiClient, req: Req): Promise<number> => {
        const res = await (req.client ?? client).request(req.method, req.path, req.body);
        lastError = res.status >= 400 ? ` (${String(res.body?.error?.message ?? '')})` : '';
        return res.status;
      };
      const anonReq = await entry.build(fx, fx.region.C1, { inScope: true, actor: null });
      const anonStatus = await send(anonymous(fx.app), { ...anonReq, client: anonymous(fx.app) });
      const anonWant = entry.publicStatus ?? 401;
      checked++;
      if (anonStatus !== anonWant) mismatches.push(`${op.key} anonymous: got ${anonStatus}${lastError}, want ${anonWant}`);
      if (entry.publicStatus !== undefined || op.permission === null) {
        if (op.permission === null && entry.publicStatus === undefined) mismatches.push(`${op.key}: public operation needs publicStatus in the table`);
        continue;
      }
      for (const tier of tiers) {
        for (const role of roles) {
          const actor: Actor = { tier, role, ...fx.users[tier][role] };
          const targets: Array<{ regionId: string; inScope: boolean }> = [{ regionId: fx.region.C1, inScope: true }];
          if (tier !== 'district' && !entry.unscoped) targets.push({ regionId: fx.region.C2, inScope: false });
          for (const t of targets) {
            const req = await entry.build(fx, t.regionId, { inScope: t.inScope, actor });
            const got = await send(actor.client, req);
            const want = expected(entry, op.permission, role, t.inScope);
            checked++;
            if (got !== want) mismatches.push(`${op.key} as ${tier} ${role} (${t.inScope ? 'in scope' : 'out of scope'}): got ${got}${lastError}, want ${want}`);
          }
        }
      }
    }
    expect(checked).to.be.greaterThan(500);
    expect(mismatches).to.deep.equal([]);
  });
});

describe('access control: counts, socket subscribe, token revocation (acceptance)', function () {
  this.timeout(120_000);
  let app: TestApp;
  let root: ApiClient;
  const region = { D: '', S1: '', S2: '', C1: '', C2: '' };
  const fxLite = { seq: 500 } as Fixture;

  before(async () => {
    app = await bootAuthApp();
    root = await loginAs(app, bootAdmin);
    fxLite.root = root;
    const mk = (name: string, tier: string, parentId: string | null): Promise<string> => mustOk(root.post('/regions', { name, tier, parentId }), name);
    region.D = await mk('D', 'district', null);
    region.S1 = await mk('S1', 'street', region.D);
    region.S2 = await mk('S2', 'street', region.D);
    region.C1 = await mk('C1', 'community', region.S1);
    region.C2 = await mk('C2', 'community', region.S2);
    // S1: 2 own; C1: 1 up + 1 own; S2: 3 own; C2: 1 up + 1 all  → 9 points in all
    const plan: Array<[string, 'own' | 'up' | 'all', number]> = [
      [region.S1, 'own', 2], [region.C1, 'up', 1], [region.C1, 'own', 1], [region.S2, 'own', 3], [region.C2, 'up', 1], [region.C2, 'all', 1],
    ];
    for (const [r, sharing, n] of plan) for (let i = 0; i < n; i++) await newCamera(fxLite, r, sharing);
  });
  after(async () => {
    await app?.close();
  });

  it('when a street operator asks for counts, then other streets\' unshared points are excluded', async () => {
    const op = await loginAs(app, await createUser(app, { role: 'operator', scopeRegionId: region.S1 }));
    const all = await root.get('/regions/counts');
    const mine = await op.get('/regions/counts');
    expect(all.status).to.equal(200);
    expect(mine.status).to.equal(200);
    expect(all.body.total).to.equal(9);
    // S1's own 2 + C1's 'up' 1 + C2's 'all' 1; not S2's 3 own, C2's 'up' (shared upwards only), C1's own (below S1's tier)
    expect(mine.body.total).to.equal(4);
    const list = await op.get(`/cameras?limit=100`);
    expect(list.body.items.length).to.equal(4);
    expect((await op.get(`/regions/counts?regionId=${region.S2}`)).status).to.equal(404);
  });

  it('when a street operator subscribes on /live outside his street, then the subscribe is refused', async () => {
    const op = await loginAs(app, await createUser(app, { role: 'operator', scopeRegionId: region.S1 }));
    const socket: ClientSocket = connect(`${app.baseUrl}/live`, { transports: ['websocket'], reconnection: false, forceNew: true, ...op.socketOptions() });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const ack = (regionId: string): Promise<{ ok: boolean; error?: { code: string } }> =>
        new Promise((resolve) => socket.emit('subscribe', { regionId }, (a: { ok: boolean; error?: { code: string } }) => resolve(a)));
      const outside = await ack(region.S2);
      expect(outside.ok).to.equal(false);
      expect(outside.error?.code).to.equal('not_found');
      expect((await ack(region.S1)).ok).to.equal(true);
    } finally {
      socket.disconnect();
    }
    const anon: ClientSocket = connect(`${app.baseUrl}/live`, { transports: ['websocket'], reconnection: false, forceNew: true });
    try {
      const err = await new Promise<string>((resolve) => {
        anon.once('connect', () => resolve('connected'));
        anon.once('connect_error', (e) => resolve(e.message));
      });
      expect(err).to.equal('unauthenticated');
    } finally {
      anon.disconnect();
    }
  });

  it('when a token is revoked, then the next request with it is refused at once', async () => {
    const op = await loginAs(app, await createUser(app, { role: 'operator', scopeRegionId: region.S1 }));
    const created = await op.post('/tokens', { name: 'integration', expiresAt: inAYear() });
    expect(created.status).to.equal(201);
    const integration = bearerClient(app, String(created.body.secret));
    expect((await integration.get('/cameras')).status).to.equal(200);
    expect((await op.delete(`/tokens/${created.body.id}`)).status).to.equal(204);
    expect((await integration.get('/cameras')).status).to.equal(401);
  });
});
