import { expect } from 'chai';
import { parseGbCode } from '../../server/src/cameras/gbcode';
import { cameraInputSchema, stripEcho, validateCameraInput, type RegionLookup } from '../../server/src/cameras/schema';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_COUNTS, generateDemoDistrict, loadDemoIfEmpty } from '../../server/src/demo/district';
import { bootApp, type TestApp } from '../helpers/app';
import { anonymous, type ApiClient, type ApiResponse } from '../helpers/http';
import { runTs } from '../helpers/process';

describe('demo district', () => {
  describe('generation', () => {
    const demo = generateDemoDistrict();

    it('when generated, then it has 1 district, 10 streets, 60 communities, exactly 536 grids and 5,400 points', () => {
      const tiers = (t: string) => demo.regions.filter((r) => r.tier === t).length;
      expect([tiers('district'), tiers('street'), tiers('community'), tiers('grid')]).to.deep.equal([1, 10, 60, 536]);
      expect(demo.points).to.have.length(DEMO_COUNTS.points);
    });

    it('when generated twice with the same seed, then the output is identical; another seed differs', () => {
      expect(JSON.stringify(generateDemoDistrict())).to.equal(JSON.stringify(demo));
      expect(generateDemoDistrict(7).points[0].gbCode).to.not.equal(undefined);
      expect(JSON.stringify(generateDemoDistrict(7).regions.map((r) => r.id))).to.not.equal(JSON.stringify(demo.regions.map((r) => r.id)));
    });

    it('when checked, then every GB code is valid, unique, under 210302 and passes the full point validation', () => {
      const byId = new Map(demo.regions.map((r) => [r.id, r]));
      const lookup: RegionLookup = {
        get: (id) => {
          const r = byId.get(id);
          return r ? { id: r.id, tier: r.tier, code: r.code, name: r.name } : undefined;
        },
        ancestorsOrSelf: (id) => {
          const out: string[] = [];
          for (let r = byId.get(id); r; r = r.parentId ? byId.get(r.parentId) : undefined) out.push(r.id);
          return out;
        },
      };
      const codes = new Set<string>();
      for (const p of demo.points) {
        expect(parseGbCode(p.gbCode).ok, p.gbCode).to.equal(true);
        expect(p.gbCode.startsWith('210302')).to.equal(true);
        codes.add(p.gbCode);
        const { upstreamGbCode: _u, ...raw } = p;
        const input = stripEcho(cameraInputSchema.parse(raw));
        expect(validateCameraInput(input, lookup), p.gbCode).to.deep.equal([]);
      }
      expect(codes.size).to.equal(DEMO_COUNTS.points);
    });

    it('when generated for other simulator ports, then only the endpoints\' ports differ; a port the simulator cannot have (0) is refused', () => {
      const other = generateDemoDistrict(undefined, { rtspPort: 18554, httpPort: 18080 });
      const ports = new Set(other.points.map((p) => `${p.endpoint.rtspPort}/${p.endpoint.httpPort}/${p.endpoint.onvifPort}`));
      expect([...ports]).to.deep.equal(['18554/18080/18080']);
      const withoutPorts = (d: typeof demo): unknown => d.points.map((p) => ({ ...p, endpoint: { ...p.endpoint, rtspPort: 0, httpPort: 0, onvifPort: 0 } }));
      expect(JSON.stringify(withoutPorts(other))).to.equal(JSON.stringify(withoutPorts(demo)));
      expect(() => generateDemoDistrict(undefined, { rtspPort: 0, httpPort: 8080 })).to.throw(RangeError, /port 0/);
    });

    it('when checked, then grids hold 500-600 households, hosts are distinct loopback addresses and coordinates lie in the Tiedong box', () => {
      for (const g of demo.regions.filter((r) => r.tier === 'grid')) expect(g.households).to.be.within(500, 600);
      const hosts = new Set(demo.points.map((p) => p.endpoint.host));
      expect(hosts.size).to.equal(DEMO_COUNTS.points);
      for (const h of hosts) expect(h).to.match(/^127\.\d+\.\d+\.\d+$/);
      for (const p of demo.points) {
        expect(p.location?.lon).to.be.within(122.96, 123.05);
        expect(p.location?.lat).to.be.within(41.08, 41.14);
        expect(p.tags).to.include('synthetic');
      }
    });

    it('when counted, then Hikvision and Dahua dominate, NVRs are upstream of cameras and maintainers are spread', () => {
      const share = (v: string) => demo.points.filter((p) => p.vendor === v).length / demo.points.length;
      expect(share('海康威视')).to.be.within(0.45, 0.65);
      expect(share('大华')).to.be.within(0.2, 0.4);
      const nvrCodes = new Set(demo.points.filter((p) => p.gbCode.slice(10, 13) === '118').map((p) => p.gbCode));
      expect(nvrCodes.size).to.be.greaterThan(50);
      for (const p of demo.points.filter((x) => x.upstreamGbCode)) expect(nvrCodes.has(p.upstreamGbCode as string)).to.equal(true);
      const orgs = new Set(demo.points.map((p) => p.maintainer?.org));
      expect(orgs.size).to.be.within(4, 6);
      const sharing = new Set(demo.points.map((p) => p.sharing));
      expect([...sharing].sort()).to.deep.equal(['all', 'own', 'up']);
    });
  });

  describe('loading over HTTP', function () {
    this.timeout(120_000);
    let app: TestApp;
    let api: ApiClient;
    // ports the points name; nothing listens on them (no simulator is started here)
    const simPorts = { DEMO_SIM_RTSP_PORT: '18554', DEMO_SIM_HTTP_PORT: '18080' };
    before(async () => {
      app = await bootApp({ AUTH_MODE: 'open', MONITOR_ENABLED: 'false', ...simPorts });
      api = anonymous(app);
    });
    after(async () => {
      await app?.close();
    });

    it('when the registry is empty, then POST /demo/load loads 5,400 points and the tree counts them; a second load is refused with 409', async () => {
      const stopped = { running: false, cameras: 0, rtspPort: null, httpPort: null, controlUrl: null };
      expect((await api.get('/demo')).body).to.deep.equal({ empty: true, demoLoaded: false, simulator: stopped });
      // a double click: the second concurrent request is refused, not run twice
      const both = await Promise.all([api.post('/demo/load'), api.post('/demo/load')]);
      expect(both.map((r) => r.status).sort()).to.deep.equal([201, 409]);
      const res = both.find((r) => r.status === 201) as ApiResponse;
      expect(res.body.points).to.equal(5400);
      expect(res.body.regions).to.equal(1 + 10 + 60 + 536);
      const tree = (await api.get('/regions/tree')).body as { roots: Array<{ points: { total: number }; children: unknown[] }>; counts: { total: number; grids: { total: number } } };
      expect(tree.roots).to.have.length(1);
      expect(tree.roots[0].points.total).to.equal(5400);
      expect(tree.roots[0].children).to.have.length(10);
      expect(tree.counts.total).to.equal(5400);
      expect(tree.counts.grids.total).to.equal(536);
      expect((await api.get('/demo')).body).to.deep.equal({ empty: false, demoLoaded: true, simulator: stopped });
      expect((await api.post('/demo/load')).status).to.equal(409);
      const list = (await api.get(`/cameras?limit=5&q=${encodeURIComponent('社区')}`)).body as { items: unknown[]; total: number };
      expect(list.items).to.have.length(5);
      expect(list.total).to.be.greaterThan(1000);
    });

    it('when the simulator ports are configured, then every loaded point names them and loading starts no simulator', async () => {
      type Page = { items: Array<{ endpoint: { rtspPort: number; httpPort: number; onvifPort: number } }>; nextCursor: string | null };
      const ports = new Set<string>();
      for (let cursor: string | null = '', pages = 0; cursor !== null; pages++) {
        expect(pages).to.be.below(10);
        const page = (await api.get(`/cameras?limit=1000&count=false${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).body as Page;
        for (const p of page.items) ports.add(`${p.endpoint.rtspPort}/${p.endpoint.httpPort}/${p.endpoint.onvifPort}`);
        cursor = page.nextCursor;
      }
      expect([...ports]).to.deep.equal(['18554/18080/18080']);
      expect((await api.get('/demo')).body.simulator.running).to.equal(false);
    });

    it('when a free-text search matches more than 1,000 points, then the total stops at 1,000 and says so; narrower searches count exactly', async () => {
      type Page = { items: Array<{ address: string; name: string }>; total: number; totalCapped: boolean; nextCursor: string | null };
      const get = async (q: string, query = 'limit=20'): Promise<Page> => (await api.get(`/cameras?${query}&q=${encodeURIComponent(q)}`)).body as Page;
      // every demo address starts with 辽宁省鞍山市铁东区: 5,400 matches
      const broad = await get('鞍山市');
      expect(broad.total).to.equal(1000);
      expect(broad.totalCapped).to.equal(true);
      expect(broad.items).to.have.length(20);
      expect(broad.nextCursor).to.be.a('string');
      for (const p of broad.items) expect(p.address).to.include('鞍山市');
      // two characters are one index token: counted exactly, however many
      const two = await get('社区');
      expect(two.totalCapped).to.equal(false);
      expect(two.total).to.be.greaterThan(1000);
      // a narrow three-character search is counted exactly
      const some = two.items[0].name.slice(0, 4);
      const narrow = await get(some);
      expect(narrow.totalCapped).to.equal(false);
      expect(narrow.total).to.be.within(1, 999);
      const all = await get(some, 'limit=1000&count=false');
      expect(all.items).to.have.length(narrow.total);
    });

    it('when the registry already holds data, then loadDemoIfEmpty does nothing (idempotent)', async () => {
      expect(await loadDemoIfEmpty(app.registry)).to.equal(null);
      expect((await api.get('/regions/tree?depth=0')).body.counts.total).to.equal(5400);
    });
  });

  describe('a real district under the demo code', () => {
    let app: TestApp;
    before(async () => {
      app = await bootApp({ AUTH_MODE: 'open', MONITOR_ENABLED: 'false' });
    });
    after(async () => {
      await app?.close();
    });

    it('when a district with code 210302 has a note mentioning "synthetic", then it is not taken for the demo district', async () => {
      const api = anonymous(app);
      const res = await api.post('/regions', { name: '铁东区', tier: 'district', parentId: null, code: '210302', note: 'real survey, no synthetic data' });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const demo = (await api.get('/demo')).body as { empty: boolean; demoLoaded: boolean };
      expect(demo.demoLoaded).to.equal(false);
      expect(demo.empty).to.equal(false);
    });
  });

  describe('npm start -- --demo', function () {
    this.timeout(180_000);
    it('when started with --demo twice on the same data dir, then the district is loaded once', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-demo-'));
      const env = { DATA_DIR: dataDir, PORT: '0', AUTH_MODE: 'open', NODE_ENV: 'test', MONITOR_ENABLED: 'false' };
      try {
        const first = runTs('server/src/main.ts', ['--demo'], env);
        await first.waitFor(/Demo district loaded: 607 regions, 5400 points/, 150_000);
        first.child.kill('SIGTERM');
        await first.exited;
        const second = runTs('server/src/main.ts', ['--demo'], env);
        await second.waitFor(/Demo district not loaded: the registry is not empty/, 60_000);
        second.child.kill('SIGTERM');
        await second.exited;
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
