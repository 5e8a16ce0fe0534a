import { expect } from 'chai';
import { bootApp, type TestApp } from '../helpers/app';
import { anonymous, items, type ApiClient, type ApiResponse } from '../helpers/http';

describe('camera points over HTTP', function () {
  this.timeout(60_000);
  let app: TestApp;
  let api: ApiClient;
  let district: string;
  let street: string;
  let community: string;
  let grid: string;
  let otherDistrict: string;
  let serial = 100;
  const code = (type = '132', center = '21030200') => `${center}00${type}0${String(++serial).padStart(6, '0')}`;
  const point = (over: Record<string, unknown> = {}) => ({ gbCode: code(), name: '胜利路与建国道交口', regionId: community, address: '辽宁省鞍山市铁东区胜利路1号', endpoint: { host: '127.30.0.1' }, vendor: '海康威视', maintainer: { org: '安讯' }, ...over });

  before(async () => {
    app = await bootApp({ AUTH_MODE: 'open', MONITOR_ENABLED: 'false', PROBE_DEFAULT_INTERVAL_SEC: '30' });
    api = anonymous(app);
    district = (await api.request('POST', '/regions', { name: '铁东区', tier: 'district', code: '210302' })).body.id;
    street = (await api.request('POST', '/regions', { name: '站前街道', tier: 'street', parentId: district, code: '210302001' })).body.id;
    community = (await api.request('POST', '/regions', { name: '胜利社区', tier: 'community', parentId: street, code: '210302001001', households: 1800 })).body.id;
    grid = (await api.request('POST', '/regions', { name: '第1网格', tier: 'grid', parentId: community, households: 560 })).body.id;
    otherDistrict = (await api.request('POST', '/regions', { name: '铁西区', tier: 'district', code: '210303' })).body.id;
    expect([district, street, community, grid, otherDistrict].every((x) => typeof x === 'string')).to.equal(true);
  });
  after(async () => {
    await app?.close();
  });

  describe('create and read', () => {
    it('when a valid point is posted, then 201 returns it with defaults, decoded GB fields, version 1, ETag and Location', async () => {
      const res = await api.request('POST', '/cameras', point({ gridId: grid, location: { lon: 123.0, lat: 41.1 }, tags: ['路口', '路口'] }));
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const c = res.body;
      expect(c.endpoint).to.deep.equal({ host: '127.30.0.1', rtspPort: 554, rtspPath: '', httpPort: null, onvifPort: null });
      expect(c.probe).to.deep.equal({ kind: 'tcp', intervalSec: 30, timeoutMs: 3000, retries: 3 });
      expect(c.gb).to.include({ type: '132', typeName: 'IP camera', industry: '00', network: '0' });
      expect(c.sharing).to.equal('own');
      expect(c.tags).to.deep.equal(['路口']);
      expect(c.version).to.equal(1);
      expect(c.status.state).to.equal('UNKNOWN');
      expect(res.headers.get('etag')).to.equal('"v1"');
      expect(res.headers.get('location')).to.equal(`/api/v1/cameras/${c.id}`);
      const got = await api.request('GET', `/cameras/${c.id}`);
      expect(got.status).to.equal(200);
      expect(got.body).to.deep.equal(c);
    });

    it('when the id is unknown or malformed, then 404', async () => {
      expect((await api.request('GET', '/cameras/0123456789abcdef01234567')).status).to.equal(404);
      expect((await api.request('GET', '/cameras/not-an-id')).status).to.equal(404);
      expect((await api.request('PATCH', '/cameras/0123456789abcdef01234567', { name: 'x' })).status).to.equal(404);
      expect((await api.request('DELETE', '/cameras/0123456789abcdef01234567')).status).to.equal(404);
    });

    it('when a gbCode already exists, then 409 names it', async () => {
      const p = point();
      expect((await api.request('POST', '/cameras', p)).status).to.equal(201);
      const dup = await api.request('POST', '/cameras', { ...p, name: 'another' });
      expect(dup.status).to.equal(409);
      expect(dup.body.error.code).to.equal('conflict');
      expect(dup.body.error.message).to.contain(p.gbCode);
      expect(dup.body.error.details[0]).to.deep.include({ field: 'gbCode' });
    });

    const invalid: Array<[string, Record<string, unknown>, string]> = [
      ['gbCode of 19 digits', { gbCode: '2103020000132000000' }, 'gbCode'],
      ['unknown type code', { gbCode: '21030200009990000001' }, 'gbCode'],
      ['center code of another district', { gbCode: '21030300001320000001' }, 'gbCode'],
      ['longitude out of range', { location: { lon: 190, lat: 41 } }, 'location.lon'],
      ['latitude out of range', { location: { lon: 123, lat: 91 } }, 'location.lat'],
      ['host neither IP nor hostname', { endpoint: { host: 'not a host!' } }, 'endpoint.host'],
      ['port above 65535', { endpoint: { host: '10.0.0.1', rtspPort: 70000 } }, 'endpoint.rtspPort'],
      ['port 0', { endpoint: { host: '10.0.0.1', onvifPort: 0 } }, 'endpoint.onvifPort'],
      ['missing name', { name: undefined }, 'name'],
      ['a grid as region', { regionId: 'GRID' }, 'regionId'],
      ['grid outside the region', { regionId: 'OTHER', gbCode: 'OTHERCODE', gridId: 'GRID' }, 'gridId'],
      ['unknown field (typo)', { vendr: 'x' }, 'body'],
      ['bad sharing', { sharing: 'public' }, 'sharing'],
      ['a line break in the name', { name: '第一行\n第二行' }, 'name'],
      ['probe interval too short', { probe: { intervalSec: 1 } }, 'probe.intervalSec'],
    ];
    for (const [what, over, field] of invalid) {
      it(`when the body has ${what}, then 422 names ${field}`, async () => {
        const body: Record<string, unknown> = point(over);
        if (body.regionId === 'GRID') body.regionId = grid;
        if (body.regionId === 'OTHER') body.regionId = otherDistrict;
        if (body.gbCode === 'OTHERCODE') body.gbCode = code('132', '21030300');
        if (body.gridId === 'GRID') body.gridId = grid;
        const res = await api.request('POST', '/cameras', body);
        expect(res.status, JSON.stringify(res.body)).to.equal(422);
        expect(res.body.error.code).to.equal('validation_failed');
        const fields = (res.body.error.details as Array<{ field: string; message: string }>).map((d) => d.field);
        expect(fields, JSON.stringify(res.body)).to.include(field);
        for (const d of res.body.error.details as Array<{ message: string }>) expect(d.message).to.be.a('string').and.not.equal('');
      });
    }

    it('when the body references an unknown region, grid or upstream point, then 404 names the field (like an out-of-scope one)', async () => {
      for (const [over, field] of [
        [{ regionId: 'abcdefabcdefabcdefabcdef' }, 'regionId'],
        [{ gridId: 'abcdefabcdefabcdefabcdef' }, 'gridId'],
        [{ upstreamId: 'abcdefabcdefabcdefabcdef' }, 'upstreamId'],
      ] as const) {
        const res = await api.request('POST', '/cameras', point(over));
        expect(res.status, field).to.equal(404);
        expect(res.body.error.details[0].field).to.equal(field);
      }
    });

    it('when the JSON is malformed, then 400', async () => {
      const res = await api.request('POST', '/cameras', '{"gbCode": ', { headers: { 'content-type': 'application/json' } });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal('bad_request');
    });

    it('when the content type is not JSON, then 415', async () => {
      const res = await api.request('POST', '/cameras', JSON.stringify(point()), { headers: { 'content-type': 'text/plain' } });
      expect(res.status).to.equal(415);
    });

    it('when the body exceeds BODY_LIMIT_BYTES, then 413', async () => {
      const res = await api.request('POST', '/cameras', point({ note: 'x'.repeat(1_200_000) }));
      expect(res.status).to.equal(413);
      expect(res.body.error.code).to.equal('payload_too_large');
    });

    it('when a query operator is smuggled in the body or the query, then it is rejected and never reaches the store', async () => {
      const body = await api.request('POST', '/cameras', point({ name: { $gt: '' } }));
      expect(body.status).to.equal(400);
      const patch = await api.request('PATCH', '/cameras/0123456789abcdef01234567', { 'maintainer.org': 'x' });
      expect(patch.status).to.equal(400);
      const list = await api.request('GET', `/cameras?${encodeURIComponent('vendor[$ne]')}=x`);
      expect(list.status).to.equal(400);
      const gbInjection = await api.request('GET', `/cameras?q=${encodeURIComponent('.*')}`);
      expect(gbInjection.status).to.equal(200);
      expect(gbInjection.body.items).to.have.length(0);
    });
  });

  describe('update with optimistic concurrency', () => {
    it('when If-Match is current, then the update applies and bumps version and ETag; nested objects merge', async () => {
      const c = (await api.request('POST', '/cameras', point({ endpoint: { host: '10.0.0.5', httpPort: 8080 } }))).body;
      const res = await api.request('PATCH', `/cameras/${c.id}`, { name: '新名称', endpoint: { rtspPort: 8554 } }, { headers: { 'if-match': '"v1"' } });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.version).to.equal(2);
      expect(res.headers.get('etag')).to.equal('"v2"');
      expect(res.body.endpoint).to.deep.include({ host: '10.0.0.5', rtspPort: 8554, httpPort: 8080 });
      const cleared = await api.request('PATCH', `/cameras/${c.id}`, { endpoint: { httpPort: null } });
      expect(cleared.body.endpoint.httpPort).to.equal(null);
    });

    it('when the If-Match version is stale, then 409 and the other writer\'s change is kept', async () => {
      const c = (await api.request('POST', '/cameras', point())).body;
      const first = await api.request('PATCH', `/cameras/${c.id}`, { address: '第一位修改' }, { headers: { 'if-match': '"v1"' } });
      expect(first.status).to.equal(200);
      const stale = await api.request('PATCH', `/cameras/${c.id}`, { address: '第二位修改' }, { headers: { 'if-match': '"v1"' } });
      expect(stale.status).to.equal(409);
      expect(stale.body.error.details[0]).to.deep.include({ field: 'version' });
      const staleBody = await api.request('PATCH', `/cameras/${c.id}`, { address: '第三位修改', version: 1 });
      expect(staleBody.status).to.equal(409);
      const now = await api.request('GET', `/cameras/${c.id}`);
      expect(now.body.address).to.equal('第一位修改');
      expect(now.body.version).to.equal(2);
    });

    it('when two updates race with the same version, then exactly one wins', async () => {
      const c = (await api.request('POST', '/cameras', point())).body;
      const results = await Promise.all(['甲', '乙', '丙'].map((n) => api.request('PATCH', `/cameras/${c.id}`, { name: n }, { headers: { 'if-match': '"v1"' } })));
      expect(results.map((r) => r.status).sort()).to.deep.equal([200, 409, 409]);
      const winner = results.find((r) => r.status === 200)?.body.name;
      expect((await api.request('GET', `/cameras/${c.id}`)).body.name).to.equal(winner);
    });

    it('when a patch changes nothing, then the version stays', async () => {
      const c = (await api.request('POST', '/cameras', point())).body;
      const res = await api.request('PATCH', `/cameras/${c.id}`, { name: c.name, vendor: c.vendor });
      expect(res.status).to.equal(200);
      expect(res.body.version).to.equal(1);
    });

    it('when a patch is invalid or takes an existing gbCode, then 422 / 409 and nothing changes', async () => {
      const a = (await api.request('POST', '/cameras', point())).body;
      const b = (await api.request('POST', '/cameras', point())).body;
      expect((await api.request('PATCH', `/cameras/${a.id}`, { location: { lon: 500, lat: 0 } })).status).to.equal(422);
      expect((await api.request('PATCH', `/cameras/${a.id}`, { gbCode: '21030300001320000077' })).status).to.equal(422);
      const dup = await api.request('PATCH', `/cameras/${a.id}`, { gbCode: b.gbCode });
      expect(dup.status).to.equal(409);
      expect(dup.body.error.message).to.contain(b.gbCode);
      expect((await api.request('PATCH', `/cameras/${a.id}`, { name: 'x' }, { headers: { 'if-match': 'garbage' } })).status).to.equal(400);
      expect((await api.request('GET', `/cameras/${a.id}`)).body.version).to.equal(1);
    });
  });

  describe('delete', () => {
    it('when a point is deleted, then 204 and it is gone; points behind it lose their upstream link', async () => {
      const nvr = (await api.request('POST', '/cameras', point({ gbCode: code('118') }))).body;
      const cam = (await api.request('POST', '/cameras', point({ upstreamId: nvr.id }))).body;
      expect(cam.upstreamId).to.equal(nvr.id);
      expect((await api.request('DELETE', `/cameras/${nvr.id}`, undefined, { headers: { 'if-match': '"v9"' } })).status).to.equal(409);
      expect((await api.request('DELETE', `/cameras/${nvr.id}`)).status).to.equal(204);
      expect((await api.request('GET', `/cameras/${nvr.id}`)).status).to.equal(404);
      expect((await api.request('DELETE', `/cameras/${nvr.id}`)).status).to.equal(404);
      const after = (await api.request('GET', `/cameras/${cam.id}`)).body;
      expect(after.upstreamId).to.equal(null);
      expect(after.version).to.equal(2);
    });
  });

  describe('list, filters, search and pagination', () => {
    let streetPoint: string;
    before(async () => {
      streetPoint = (await api.request('POST', '/cameras', point({ regionId: street, name: '站前广场东侧', vendor: '大华', tags: ['广场'], maintainer: { org: '联通' }, enabled: false, sharing: 'up' }))).body.id;
      await api.request('POST', '/cameras', point({ name: '园林路口北', address: '鞍山市铁东区园林路88号', vendor: '宇视', gbCode: code('131') }));
    });

    it('when filtering by region subtree, then the street filter includes its community; subtree=false only the street', async () => {
      const sub = await api.request('GET', `/cameras?regionId=${street}&limit=1000`);
      const own = await api.request('GET', `/cameras?regionId=${street}&subtree=false`);
      expect(sub.body.total as number).to.be.greaterThan(own.body.total as number);
      expect(items<{ id: string }>(own.body).map((c) => c.id)).to.deep.equal([streetPoint]);
      const byGrid = await api.request('GET', `/cameras?regionId=${grid}`);
      expect(items<{ gridId: string }>(byGrid.body).every((c) => c.gridId === grid)).to.equal(true);
      expect(byGrid.body.total).to.equal(1);
      for (const qs of [`regionId=${street}`, `regionId=${community}&subtree=false`, 'enabled=true', 'enabled=false', 'tier=community', 'tier=grid', `maintainer=${encodeURIComponent('安讯')}`, 'sharing=own,up', `vendor=${encodeURIComponent('海康威视')}`, `vendor=${encodeURIComponent('大华')}&enabled=false`]) {
        const page = await api.request('GET', `/cameras?${qs}&limit=1000`);
        expect(page.body.total, qs).to.equal(items(page.body).length);
      }
      const tier = await api.request('GET', '/cameras?tier=street');
      expect(items<{ id: string }>(tier.body).map((c) => c.id)).to.deep.equal([streetPoint]);
    });

    it('when filtering by vendor, maintainer, tag, enabled, sharing and type, then only matching points come back', async () => {
      const q = async (qs: string) => items<{ id: string }>((await api.request('GET', `/cameras?${qs}`)).body).map((c) => c.id);
      expect(await q(`vendor=${encodeURIComponent('大华')}`)).to.deep.equal([streetPoint]);
      expect(await q(`maintainer=${encodeURIComponent('联通')}`)).to.deep.equal([streetPoint]);
      expect(await q(`tag=${encodeURIComponent('广场')}`)).to.deep.equal([streetPoint]);
      expect(await q('enabled=false')).to.deep.equal([streetPoint]);
      expect(await q('sharing=up')).to.deep.equal([streetPoint]);
      const cams131 = (await api.request('GET', '/cameras?type=131')).body.items as Array<{ gb: { type: string } }>;
      expect(cams131.length).to.equal(1);
      expect(cams131[0].gb.type).to.equal('131');
      expect((await api.request('GET', '/cameras?state=UNKNOWN,DISABLED')).body.total).to.be.greaterThan(3);
    });

    it('when searching text, then Chinese substrings of name and address and parts of the gbCode match', async () => {
      const names = async (q: string) => ((await api.request('GET', `/cameras?q=${encodeURIComponent(q)}`)).body.items as Array<{ name: string; gbCode: string }>);
      expect((await names('园林路口')).map((c) => c.name)).to.deep.equal(['园林路口北']);
      expect((await names('园林路88')).map((c) => c.name)).to.deep.equal(['园林路口北']);
      expect((await names('广场东')).map((c) => c.name)).to.deep.equal(['站前广场东侧']);
      expect((await names('园')).length).to.be.greaterThan(0);
      const one = (await names('园林路口'))[0];
      expect((await names(one.gbCode)).map((c) => c.name)).to.deep.equal(['园林路口北']);
      expect((await names(one.gbCode.slice(-6))).map((c) => c.gbCode)).to.include(one.gbCode);
      expect(await names('不存在的名字')).to.deep.equal([]);
    });

    it('when sorting, then names and codes come back ordered; a bad sort is 400', async () => {
      const byCodeDesc = items<{ gbCode: string }>((await api.request('GET', '/cameras?sort=-gbCode&limit=1000')).body).map((c) => c.gbCode);
      expect(byCodeDesc).to.deep.equal([...byCodeDesc].sort().reverse());
      const byName = items<{ name: string }>((await api.request('GET', '/cameras?sort=name&limit=1000')).body).map((c) => c.name);
      expect(byName).to.deep.equal([...byName].sort());
      expect((await api.request('GET', '/cameras?sort=password')).status).to.equal(400);
      expect((await api.request('GET', '/cameras?limit=0')).status).to.equal(400);
      expect((await api.request('GET', '/cameras?cursor=nonsense')).status).to.equal(400);
    });

    it('when paging with a cursor while points are inserted and deleted, then no unchanged point is skipped or repeated', async () => {
      const all = items<{ id: string }>((await api.request('GET', '/cameras?limit=1000&sort=name')).body).map((c) => c.id);
      const seen: string[] = [];
      let cursor: string | null = null;
      let round = 0;
      const deleted = all[all.length - 2];
      const inserted: string[] = [];
      do {
        const page: ApiResponse = await api.request('GET', `/cameras?limit=3&sort=name${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).to.equal(200);
        seen.push(...(page.body.items as Array<{ id: string }>).map((c) => c.id));
        cursor = page.body.nextCursor as string | null;
        if (round === 1) {
          inserted.push((await api.request('POST', '/cameras', point({ name: '啊啊排在最前' }))).body.id as string);
          expect((await api.request('DELETE', `/cameras/${deleted}`)).status).to.equal(204);
        }
        round += 1;
      } while (cursor);
      expect(new Set(seen).size).to.equal(seen.length);
      const expected = all.filter((id) => id !== deleted);
      expect(seen.filter((id) => !inserted.includes(id))).to.deep.equal(expected);
    });
  });

  describe('audit', () => {
    it('when a point is created, updated and deleted, then /audit lists each with before/after, newest first, filterable and paginated', async () => {
      const c = (await api.request('POST', '/cameras', point())).body;
      await api.request('PATCH', `/cameras/${c.id}`, { name: '改名' });
      await api.request('DELETE', `/cameras/${c.id}`);
      const res = await api.request('GET', `/audit?entity=camera&entityId=${c.id}`);
      expect(res.status).to.equal(200);
      const entries = res.body.items as Array<{ action: string; before: { name: string } | null; after: { name: string } | null; actor: { username: string } }>;
      expect(entries.map((i) => i.action)).to.deep.equal(['delete', 'update', 'create']);
      expect(entries[1].before?.name).to.equal(c.name);
      expect(entries[1].after?.name).to.equal('改名');
      expect(entries[0].after).to.equal(null);
      expect(entries[2].actor.username).to.equal('dev');
      const page1 = await api.request('GET', `/audit?entity=camera&entityId=${c.id}&limit=2`);
      expect(page1.body.items).to.have.length(2);
      const page2: ApiResponse = await api.request('GET', `/audit?entity=camera&entityId=${c.id}&limit=2&cursor=${page1.body.nextCursor}`);
      expect(items<{ action: string }>(page2.body).map((i) => i.action)).to.deep.equal(['create']);
      expect(page2.body.nextCursor).to.equal(null);
      const future = await api.request('GET', `/audit?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
      expect(future.body.items).to.deep.equal([]);
      expect((await api.request('GET', '/audit?actor=dev&limit=1')).body.items).to.have.length(1);
      expect((await api.request('GET', '/audit?entity=spaceship')).status).to.equal(400);
    });
  });

  it('when the OpenAPI document is fetched, then every camera operation is described', async () => {
    const doc = (await api.request('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths['/cameras'] as object)).to.include.members(['get', 'post']);
    expect(Object.keys(doc.paths['/cameras/{id}'] as object)).to.include.members(['get', 'patch', 'delete']);
    expect(doc.paths['/regions/tree'].get).to.not.equal(undefined);
    expect(doc.paths['/audit'].get['x-permission']).to.equal('audit:read');
  });
});
