import { expect } from 'chai';
import { bootApp, type TestApp } from '../helpers/app';
import { anonymous, items, type ApiClient, type Json } from '../helpers/http';

describe('regions over HTTP', function () {
  this.timeout(60_000);
  let app: TestApp;
  let api: ApiClient;
  let serial = 0;
  const cam = (regionId: string, over: Record<string, unknown> = {}) => ({
    gbCode: `21030201001320${String(++serial).padStart(6, '0')}`,
    name: `点位${serial}`,
    regionId,
    endpoint: { host: `127.31.0.${serial}` },
    ...over,
  });
  const create = async (body: Record<string, unknown>): Promise<string> => {
    const res = await api.request('POST', '/regions', body);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id as string;
  };

  before(async () => {
    app = await bootApp({ AUTH_MODE: 'open', MONITOR_ENABLED: 'false' });
    api = anonymous(app);
  });
  after(async () => {
    await app?.close();
  });

  describe('tier rules and codes', () => {
    let d: string;
    let s: string;
    let c: string;
    before(async () => {
      d = await create({ name: '铁东区', tier: 'district', code: '210302' });
      s = await create({ name: '站前街道', tier: 'street', parentId: d, code: '210302001' });
      c = await create({ name: '胜利社区', tier: 'community', parentId: s, code: '210302001001', households: 1200 });
    });

    it('when a node is created under the wrong tier, then 422 names parentId', async () => {
      const cases: Array<Record<string, unknown>> = [
        { name: 'x', tier: 'street', parentId: c },
        { name: 'x', tier: 'community', parentId: d },
        { name: 'x', tier: 'grid', parentId: s },
        { name: 'x', tier: 'district', parentId: d },
        { name: 'x', tier: 'street' },
      ];
      for (const body of cases) {
        const res = await api.request('POST', '/regions', body);
        expect(res.status, JSON.stringify(body)).to.equal(422);
        expect(res.body.error.details[0].field).to.equal('parentId');
      }
    });

    it('when the parent, the within filter or the parentId filter names an unknown region, then 404 names the field', async () => {
      const res = await api.request('POST', '/regions', { name: 'x', tier: 'street', parentId: 'abcdefabcdefabcdefabcdef' });
      expect(res.status).to.equal(404);
      expect(res.body.error.details[0].field).to.equal('parentId');
      expect((await api.request('GET', '/regions?within=abcdefabcdefabcdefabcdef')).status).to.equal(404);
      expect((await api.request('GET', '/regions?parentId=abcdefabcdefabcdefabcdef')).status).to.equal(404);
    });

    it('when a code has the wrong digits for its tier or does not extend the parent code, then 422 names code', async () => {
      for (const body of [
        { name: 'y', tier: 'district', code: '2103' + '0' },
        { name: 'y', tier: 'street', parentId: d, code: '2103020011' },
        { name: 'y', tier: 'street', parentId: d, code: '210303001' },
        { name: 'y', tier: 'community', parentId: s, code: '210302002001' },
        { name: 'y', tier: 'community', parentId: s, code: '21030200100a' },
      ]) {
        const res = await api.request('POST', '/regions', body);
        expect(res.status, JSON.stringify(body)).to.equal(422);
        expect(res.body.error.details[0].field).to.equal('code');
      }
    });

    it('when the request is malformed, not JSON, oversized or smuggles operators, then 400 / 415 / 413 / 400', async () => {
      expect((await api.request('POST', '/regions', '{"name":', { headers: { 'content-type': 'application/json' } })).status).to.equal(400);
      expect((await api.request('POST', '/regions', JSON.stringify({ name: 'n', tier: 'district' }), { headers: { 'content-type': 'text/plain' } })).status).to.equal(415);
      expect((await api.request('POST', '/regions', { name: 'n', tier: 'district', note: 'x'.repeat(1_100_000) })).status).to.equal(413);
      expect((await api.request('POST', '/regions', { name: { $ne: null }, tier: 'district' })).status).to.equal(400);
      expect((await api.request('PATCH', `/regions/${c}`, { $set: { name: 'x' } })).status).to.equal(400);
      expect((await api.request('GET', '/regions/tree?depth=9')).status).to.equal(400);
      expect((await api.request('GET', '/audit?cursor=xyz')).status).to.equal(400);
      expect((await api.request('GET', `/regions/${c}`)).body.name).to.equal('胜利社区');
    });

    it('when a code or a sibling name is taken, then 409 names it', async () => {
      const dupCode = await api.request('POST', '/regions', { name: '另一个', tier: 'street', parentId: d, code: '210302001' });
      expect(dupCode.status).to.equal(409);
      expect(dupCode.body.error.message).to.contain('210302001');
      const dupName = await api.request('POST', '/regions', { name: '站前街道', tier: 'street', parentId: d });
      expect(dupName.status).to.equal(409);
      expect(dupName.body.error.details[0].field).to.equal('name');
    });

    it('when households are given for a street or the boundary is not a closed polygon, then 422', async () => {
      expect((await api.request('POST', '/regions', { name: 'z', tier: 'street', parentId: d, households: 5 })).status).to.equal(422);
      const open = { type: 'Polygon', coordinates: [[[123, 41], [123.1, 41], [123.1, 41.1], [123, 41.1]]] };
      expect((await api.request('POST', '/regions', { name: 'z', tier: 'street', parentId: d, boundary: open })).status).to.equal(422);
      const closed = { type: 'Polygon', coordinates: [[[123, 41], [123.1, 41], [123.1, 41.1], [123, 41]]] };
      const id = await create({ name: '有边界', tier: 'street', parentId: d, boundary: closed });
      expect((await api.request('GET', `/regions/${id}`)).body.boundary).to.deep.equal(closed);
    });

    it('when reading, then get returns the path, unknown ids are 404 and list filters by tier and parent', async () => {
      const got = await api.request('GET', `/regions/${c}`);
      expect(got.status).to.equal(200);
      expect(got.body.path).to.deep.equal([d, s]);
      expect(got.headers.get('etag')).to.equal('"v1"');
      expect((await api.request('GET', '/regions/abcdefabcdefabcdefabcdef')).status).to.equal(404);
      expect((await api.request('GET', '/regions/zzz')).status).to.equal(404);
      const streets = await api.request('GET', `/regions?tier=street&parentId=${d}`);
      expect(items<{ name: string }>(streets.body).map((r) => r.name)).to.include('站前街道');
      expect(items<{ tier: string }>(streets.body).every((r) => r.tier === 'street')).to.equal(true);
      expect(items<{ id: string }>((await api.request('GET', `/regions?q=${encodeURIComponent('胜利')}`)).body).map((r) => r.id)).to.deep.equal([c]);
      expect((await api.request('GET', '/regions?tier=planet')).status).to.equal(400);
    });

    it('when a code change would orphan the codes of its children, then 422 names code', async () => {
      const res = await api.request('PATCH', `/regions/${s}`, { code: '210302009' });
      expect(res.status).to.equal(422);
      expect(res.body.error.details[0]).to.deep.include({ field: 'code' });
      expect(res.body.error.details[0].message).to.contain('210302001001');
    });

    it('when renaming with a stale If-Match, then 409; with the current one, the version bumps', async () => {
      const ok = await api.request('PATCH', `/regions/${c}`, { name: '胜利新社区' }, { headers: { 'if-match': '"v1"' } });
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
      expect(ok.body.version).to.equal(2);
      const stale = await api.request('PATCH', `/regions/${c}`, { name: '又改' }, { headers: { 'if-match': '"v1"' } });
      expect(stale.status).to.equal(409);
      expect((await api.request('GET', `/regions/${c}`)).body.name).to.equal('胜利新社区');
    });
  });

  describe('moving and deleting nodes that hold points', () => {
    let d: string;
    let s1: string;
    let s2: string;
    let c1: string;
    let g1: string;
    let c2: string;
    let otherD: string;
    let p1: string;
    before(async () => {
      d = await create({ name: '测试区', tier: 'district', code: '210399' });
      otherD = await create({ name: '外区', tier: 'district', code: '210398' });
      s1 = await create({ name: '一街道', tier: 'street', parentId: d });
      s2 = await create({ name: '二街道', tier: 'street', parentId: d });
      c1 = await create({ name: '一社区', tier: 'community', parentId: s1 });
      g1 = await create({ name: '一网格', tier: 'grid', parentId: c1, households: 520 });
      c2 = await create({ name: '二社区', tier: 'community', parentId: s2 });
      serial = 0;
      const mk = async (regionId: string, over: Record<string, unknown> = {}) => {
        const body = cam(regionId, over);
        body.gbCode = `210399${body.gbCode.slice(6)}`;
        const res = await api.request('POST', '/cameras', body);
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        return res.body.id as string;
      };
      p1 = await mk(c1, { gridId: g1 });
      await mk(c1);
      await mk(s1);
      await mk(c2, { enabled: false });
    });

    it('when the tree is read, then counts per node, per tier and grids with/without points are right', async () => {
      const tree = await api.request('GET', `/regions/tree?rootId=${d}`);
      expect(tree.status).to.equal(200);
      const root = tree.body.roots[0];
      expect(root.points).to.deep.equal({ direct: 0, total: 4, enabled: 3 });
      const one = (root.children as Json[]).find((n: Json) => n.id === s1);
      expect(one.points).to.deep.equal({ direct: 1, total: 3, enabled: 3 });
      const comm = one.children[0];
      expect(comm.points).to.deep.equal({ direct: 2, total: 2, enabled: 2 });
      expect(comm.children[0].points).to.deep.equal({ direct: 1, total: 1, enabled: 1 });
      expect(tree.body.counts.byTier).to.deep.equal({ district: 0, street: 1, community: 3 });
      expect(tree.body.counts.grids).to.deep.equal({ total: 1, withPoints: 1, withoutPoints: 0 });
      const shallow = await api.request('GET', `/regions/tree?rootId=${d}&depth=0`);
      expect(shallow.body.roots[0].children).to.deep.equal([]);
      expect(shallow.body.roots[0].points.total).to.equal(4);
      const counts = await api.request('GET', `/regions/counts?regionId=${s1}`);
      expect(counts.body).to.deep.include({ total: 3, enabled: 3 });
    });

    it('when a community with points is moved without saying what happens to them, then 409 and nothing moves', async () => {
      const res = await api.request('PATCH', `/regions/${c1}`, { parentId: s2 });
      expect(res.status).to.equal(409);
      expect(res.body.error.message).to.match(/holds 2 points/);
      expect((await api.request('GET', `/regions/${c1}`)).body.parentId).to.equal(s1);
    });

    it('when moved with withPoints=true, then the subtree and its points move together', async () => {
      const res = await api.request('PATCH', `/regions/${c1}`, { parentId: s2, withPoints: true });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.path).to.deep.equal([d, s2]);
      const sub = await api.request('GET', `/cameras?regionId=${s2}`);
      expect(sub.body.total).to.equal(3);
      expect((await api.request('GET', `/cameras/${p1}`)).body.regionId).to.equal(c1);
    });

    it('when a street moves to a district whose code its points do not match, then 422', async () => {
      const res = await api.request('PATCH', `/regions/${s2}`, { parentId: otherD, withPoints: true });
      expect(res.status).to.equal(422);
      expect(res.body.error.message).to.match(/210398/);
    });

    it('when a node with points is deleted, then 409 unless movePointsTo re-homes them; with children, cascade is required', async () => {
      const refused = await api.request('DELETE', `/regions/${c1}`);
      expect(refused.status).to.equal(409);
      const children = await api.request('DELETE', `/regions/${c1}?movePointsTo=${c2}`);
      expect(children.status).to.equal(409);
      expect(children.body.error.details[0].field).to.equal('cascade');
      const wrongTarget = await api.request('DELETE', `/regions/${c1}?cascade=true&movePointsTo=${g1}`);
      expect(wrongTarget.status).to.equal(422);
      const ok = await api.request('DELETE', `/regions/${c1}?cascade=true&movePointsTo=${c2}`);
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
      expect(ok.body).to.deep.equal({ deleted: 2, pointsMoved: 2 });
      const moved = (await api.request('GET', `/cameras/${p1}`)).body;
      expect(moved).to.deep.include({ regionId: c2, gridId: null, version: 2 });
      expect((await api.request('GET', `/regions/${g1}`)).status).to.equal(404);
      const audit = await api.request('GET', `/audit?entity=camera&entityId=${p1}`);
      expect(audit.body.items[0].action).to.equal('move');
      const regionAudit = await api.request('GET', `/audit?entity=region&entityId=${c1}`);
      expect(items<{ action: string }>(regionAudit.body).map((i) => i.action)).to.deep.equal(['delete', 'move', 'create']);
    });

    it('when a point moves to a grid of another community via movePointsTo, then region and grid are both set', async () => {
      const c3 = await create({ name: '三社区', tier: 'community', parentId: s1 });
      const g3 = await create({ name: '三网格', tier: 'grid', parentId: c3 });
      const res = await api.request('DELETE', `/regions/${c2}?movePointsTo=${g3}`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect((await api.request('GET', `/cameras/${p1}`)).body).to.deep.include({ regionId: c3, gridId: g3 });
    });

    it('when counts were kept in memory across creates, patches, moves and deletes, then they equal a fresh count from the store', async () => {
      const extra = (await api.request('POST', '/cameras', { ...cam(s1), gbCode: `210399010013200${String(++serial).padStart(5, '0')}` })).body;
      expect((await api.request('PATCH', `/cameras/${extra.id}`, { enabled: false })).status).to.equal(200);
      const tree = (await api.request('GET', `/regions/tree?rootId=${d}`)).body;
      const total = (await api.request('GET', `/cameras?regionId=${d}&limit=1`)).body.total as number;
      const enabled = (await api.request('GET', `/cameras?regionId=${d}&enabled=true&limit=1`)).body.total as number;
      expect(tree.roots[0].points).to.deep.include({ total, enabled });
      expect((await api.request('DELETE', `/cameras/${extra.id}`)).status).to.equal(204);
      const after = (await api.request('GET', `/regions/tree?rootId=${d}`)).body;
      expect(after.roots[0].points.total).to.equal(total - 1);
    });

    it('when an empty leaf is deleted, then 200 and it is gone from list and tree', async () => {
      const leaf = await create({ name: '空社区', tier: 'community', parentId: s1 });
      expect((await api.request('DELETE', `/regions/${leaf}`)).status).to.equal(200);
      const list = await api.request('GET', `/regions?within=${d}`);
      expect(items<{ id: string }>(list.body).map((r) => r.id)).to.not.include(leaf);
    });
  });
});
