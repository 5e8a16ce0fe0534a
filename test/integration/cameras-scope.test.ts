import { expect } from 'chai';
import type { Principal, Role } from '../../server/src/contracts/access';
import type { Sharing } from '../../server/src/contracts/vocabulary';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import { bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, tokenFor } from '../helpers/auth';
import { anonymous, bearerClient, items, type ApiClient } from '../helpers/http';

const admin: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

describe('camera and region scoping over HTTP (tiers × sharing × roles)', function () {
  this.timeout(60_000);
  let app: TestApp;
  const r: Record<string, string> = {};
  const pts: Record<string, string> = {};
  const as: Record<string, ApiClient> = {};
  let serial = 0;

  async function user(role: Role, scope: string | null, maintainerOrg?: string): Promise<ApiClient> {
    const u = await createUser(app, { role, scopeRegionId: scope, ...(maintainerOrg ? { maintainerOrg } : {}) });
    return bearerClient(app, await tokenFor(app, u));
  }

  before(async () => {
    app = await bootAuthApp({ MONITOR_ENABLED: 'false' });
    const { regions, cameras } = app.registry;
    r.D = (await regions.create(admin, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    for (const [k, parent, tier] of [['S1', 'D', 'street'], ['S2', 'D', 'street'], ['C11', 'S1', 'community'], ['C21', 'S2', 'community']] as const) {
      r[k] = (await regions.create(admin, { name: k, tier, parentId: r[parent], code: null, households: null, boundary: null, note: '' })).id;
    }
    // one point per (region, sharing), maintained by OrgA at S1's subtree and OrgB elsewhere
    for (const at of ['D', 'S1', 'S2', 'C11', 'C21']) {
      for (const sharing of ['own', 'up', 'all'] as Sharing[]) {
        serial += 1;
        const input = stripEcho(
          cameraInputSchema.parse({
            gbCode: `21030200001320${String(serial).padStart(6, '0')}`,
            name: `${at}-${sharing}`,
            regionId: r[at],
            endpoint: { host: `127.40.0.${serial}` },
            sharing,
            maintainer: { org: at === 'S1' || at === 'C11' ? 'OrgA' : 'OrgB' },
          }),
        );
        pts[`${at}-${sharing}`] = (await cameras.create(admin, input)).id;
      }
    }
    as.global = await user('admin', null);
    as.district = await user('operator', r.D);
    as.street = await user('operator', r.S1);
    as.community = await user('operator', r.C11);
    as.tech = await user('technician', r.S1, 'OrgA');
    as.viewer = await user('viewer', r.S1);
  });
  after(async () => {
    await app?.close();
  });

  const names = async (c: ApiClient, qs = ''): Promise<string[]> => {
    const res = await c.get(`/cameras?limit=1000&sort=name${qs}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    // the total comes from the in-memory counts; it must agree with the page the store returned
    expect(res.body.total).to.equal(items(res.body).length);
    return (res.body.items as Array<{ name: string }>).map((x) => x.name).sort();
  };

  it('when nobody is authenticated, then every registry route answers 401', async () => {
    const anon = anonymous(app);
    for (const path of ['/cameras', `/cameras/${pts['D-all']}`, '/regions', '/regions/tree', `/regions/${r.D}`, '/audit']) {
      expect((await anon.get(path)).status, path).to.equal(401);
    }
  });

  it('when a street operator lists points, then he sees his subtree, the shared-up points below him, the pool, and the unshared points of his ancestors — nothing of the other street', async () => {
    expect(await names(as.street)).to.deep.equal(
      ['C11-all', 'C11-up', 'C21-all', 'D-all', 'D-own', 'D-up', 'S1-all', 'S1-own', 'S1-up', 'S2-all'].sort(),
    );
  });

  it('when a community operator lists points, then own points of the street above are visible but up-shared points of siblings are not', async () => {
    expect(await names(as.community)).to.deep.equal(['C11-all', 'C11-own', 'C11-up', 'C21-all', 'D-all', 'D-own', 'D-up', 'S1-all', 'S1-own', 'S1-up', 'S2-all'].sort());
  });

  it('when a district operator lists points, then community "own" points stay hidden while "up" and "all" are visible', async () => {
    const seen = await names(as.district);
    expect(seen).to.include.members(['C11-up', 'C21-up', 'S1-up', 'S2-up', 'D-own']);
    expect(seen).to.not.include.members(['C11-own', 'C21-own', 'S1-own', 'S2-own']);
  });

  it('when a technician lists points, then only OrgA points visible in his scope appear', async () => {
    expect(await names(as.tech)).to.deep.equal(['C11-all', 'C11-up', 'S1-all', 'S1-own', 'S1-up'].sort());
  });

  it('when the tree and counts are read by a street operator, then other streets are absent and counts only include visible points', async () => {
    const tree = await as.street.get('/regions/tree');
    expect(tree.status).to.equal(200);
    const root = tree.body.roots[0];
    expect((root.children as Array<{ name: string }>).map((n) => n.name)).to.deep.equal(['S1']);
    expect(tree.body.counts.total).to.equal(10);
    // the pool points of the other street (S2-all, C21-all) are visible, so they count, though S2 itself is not shown
    expect(tree.body.counts.byTier).to.deep.equal({ district: 3, street: 4, community: 3 });
    expect(root.points.total).to.equal(10);
    const regions = await as.street.get('/regions');
    expect(items<{ name: string }>(regions.body).map((x) => x.name).sort()).to.deep.equal(['C11', 'S1', '铁东区']);
  });

  it('when a point or region outside the scope is addressed, then 404 (existence not revealed)', async () => {
    expect((await as.street.get(`/cameras/${pts['S2-own']}`)).status).to.equal(404);
    expect((await as.street.get(`/cameras/${pts['C21-up']}`)).status).to.equal(404);
    expect((await as.street.patch(`/cameras/${pts['S2-own']}`, { name: 'x' })).status).to.equal(404);
    expect((await as.street.delete(`/cameras/${pts['S2-own']}`)).status).to.equal(404);
    expect((await as.street.get(`/regions/${r.S2}`)).status).to.equal(404);
    expect((await as.street.get(`/cameras?regionId=${r.S2}`)).status).to.equal(404);
    expect((await as.tech.get(`/cameras/${pts['S1-own']}`)).status).to.equal(200);
    expect((await as.tech.get(`/cameras/${pts['D-all']}`)).status).to.equal(404);
  });

  it('when a visible point lies outside the write scope, then writes are 403; inside they succeed', async () => {
    expect((await as.street.patch(`/cameras/${pts['D-own']}`, { name: 'x' })).status).to.equal(403);
    expect((await as.street.delete(`/cameras/${pts['S2-all']}`)).status).to.equal(403);
    const ok = await as.street.patch(`/cameras/${pts['C11-up']}`, { address: '街道改的' });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
    // moving a point out of the own subtree is a write outside scope too
    expect((await as.street.patch(`/cameras/${pts['C11-up']}`, { regionId: r.D })).status).to.equal(403);
    // creating in an ancestor region (visible, not writable) is 403; a hidden region is "not found"
    const body = { gbCode: '21030200001320999999', name: 'n', endpoint: { host: '10.0.0.9' } };
    expect((await as.street.post('/cameras', { ...body, regionId: r.D })).status).to.equal(403);
    const hidden = await as.street.post('/cameras', { ...body, regionId: r.S2 });
    expect(hidden.status).to.equal(404);
    expect(hidden.body.error.details[0].field).to.equal('regionId');
  });

  it('when a role lacks the permission, then 403 (viewer writes, technician edits, operator region writes, operator demo load)', async () => {
    expect((await as.viewer.patch(`/cameras/${pts['S1-own']}`, { name: 'x' })).status).to.equal(403);
    expect((await as.tech.patch(`/cameras/${pts['S1-own']}`, { name: 'x' })).status).to.equal(403);
    expect((await as.street.post('/regions', { name: 'new', tier: 'community', parentId: r.S1 })).status).to.equal(403);
    expect((await as.street.post('/demo/load')).status).to.equal(403);
    expect((await as.viewer.get('/audit')).status).to.equal(403);
  });

  it('when a scoped admin creates regions, then only inside his subtree; a district needs a global admin', async () => {
    const scopedAdmin = await user('admin', r.S1);
    expect((await scopedAdmin.post('/regions', { name: 'C12', tier: 'community', parentId: r.S1 })).status).to.equal(201);
    expect((await scopedAdmin.post('/regions', { name: 'C22', tier: 'community', parentId: r.S2 })).status).to.equal(404);
    expect((await scopedAdmin.get(`/regions?within=${r.S2}`)).status).to.equal(404);
    expect((await scopedAdmin.post('/regions', { name: 'S3', tier: 'street', parentId: r.D })).status).to.equal(403);
    expect((await scopedAdmin.post('/regions', { name: '新区', tier: 'district', code: '210304' })).status).to.equal(403);
    expect((await as.global.post('/regions', { name: '新区', tier: 'district', code: '210304' })).status).to.equal(201);
  });

  it('when the audit log is read by a street operator, then camera entries are exactly about the points he may see', async () => {
    const all = await as.global.get('/audit?entity=camera&limit=500');
    const mine = await as.street.get('/audit?entity=camera&limit=500');
    expect(mine.status).to.equal(200);
    expect(items(all.body).length).to.be.greaterThan(items(mine.body).length);
    const listed = new Set(items<{ id: string }>((await as.street.get('/cameras?limit=500')).body).map((c) => c.id));
    const audited = new Set(items<{ entityId: string }>(mine.body).map((e) => e.entityId));
    expect([...audited].sort()).to.deep.equal([...listed].sort());
    expect(audited.has(pts['C11-up'])).to.equal(true);
    expect(audited.has(pts['C11-own'])).to.equal(false);
  });
});
