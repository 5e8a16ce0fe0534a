import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import { authOf } from '../../server/src/auth/instance';
import { loadConfig } from '../../server/src/config';
import { bootAdmin, bootApp, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs, tokenFor } from '../helpers/auth';
import { anonymous, apiUrl, bearerClient, type ApiClient } from '../helpers/http';

const inAYear = (): string => new Date(Date.now() + 200 * 24 * 3600_000).toISOString();

describe('auth hardening: the smaller holes of issue #12 (integration)', function () {
  this.timeout(120_000);
  let app: TestApp;
  let admin: ApiClient;
  let district: string;
  let street: string;
  let community: string;

  before(async () => {
    app = await bootAuthApp({ TRUST_PROXY: '1' });
    admin = await loginAs(app, bootAdmin);
    district = (await admin.post('/regions', { name: '铁东区', tier: 'district', parentId: null })).body.id as string;
    street = (await admin.post('/regions', { name: '街道一', tier: 'street', parentId: district })).body.id as string;
    community = (await admin.post('/regions', { name: '社区一', tier: 'community', parentId: street })).body.id as string;
  });
  after(async () => app?.close());

  describe('TRUST_PROXY', () => {
    it('when TRUST_PROXY=true, then start-up refuses it naming the variable; a hop count or a list of proxies is taken', () => {
      expect(() => loadConfig({ TRUST_PROXY: 'true' })).to.throw(/TRUST_PROXY/);
      expect(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).to.equal(1);
      expect(loadConfig({ TRUST_PROXY: '10.0.0.1, 192.168.0.0/16,loopback' }).TRUST_PROXY).to.deep.equal(['10.0.0.1', '192.168.0.0/16', 'loopback']);
      expect(() => loadConfig({ TRUST_PROXY: 'proxy.example' })).to.throw(/TRUST_PROXY/);
    });

    it('when a client sends its own X-Forwarded-For through one trusted hop, then the address the proxy saw is used, not the forged one', async () => {
      const name = `xff-${Date.now()}`;
      await anonymous(app).request('POST', '/auth/login', { username: name, password: 'Wrong-password-123' }, { headers: { 'x-forwarded-for': '6.6.6.6, 7.7.7.7' } });
      const items = (await admin.get('/audit?action=login.failed&limit=500')).body.items as Array<{ actor: { username: string }; meta: { ip?: string } }>;
      const mine = items.find((e) => e.actor.username === name);
      expect(mine?.meta.ip).to.equal('7.7.7.7');
    });
  });

  describe('users and tokens', () => {
    it('when an admin of the same scope resets another admin\'s password, then 403; a wider scope may', async () => {
      const peerA = await createUser(app, { role: 'admin', scopeRegionId: street });
      const peerB = await createUser(app, { role: 'admin', scopeRegionId: street });
      const below = await createUser(app, { role: 'admin', scopeRegionId: community });
      const a = await loginAs(app, peerA);
      const refused = await a.patch(`/users/${peerB.id}`, { password: 'Fresh-secret-7781' });
      expect(refused.status).to.equal(403);
      expect(refused.body.error.details[0].field).to.equal('password');
      expect(await loginAs(app, { username: peerB.username, password: 'Fresh-secret-7781' }).catch(() => 'refused')).to.equal('refused');
      // a street admin over a community admin: wider scope
      expect((await a.patch(`/users/${below.id}`, { password: 'Fresh-secret-7782' })).status).to.equal(200);
      // the global admin over a street admin
      expect((await admin.patch(`/users/${peerB.id}`, { password: 'Fresh-secret-7783' })).status).to.equal(200);
    });

    it('when an admin API token creates a user, then 403: creating users and tokens needs a session', async () => {
      const streetAdmin = await createUser(app, { role: 'admin', scopeRegionId: street });
      const token = bearerClient(app, await tokenFor(app, streetAdmin));
      const res = await token.post('/users', { username: `minted-${Date.now()}`, role: 'viewer', scopeRegionId: street, password: 'Minted-secret-9931' });
      expect(res.status).to.equal(403);
      expect((await token.post('/tokens', { name: 'x', expiresAt: inAYear() })).status).to.equal(403);
    });

    it('when a user changes his password, or an admin resets it, then his API tokens stop working', async () => {
      const op = await createUser(app, { role: 'operator', scopeRegionId: street });
      const before1 = bearerClient(app, await tokenFor(app, op));
      const before2 = bearerClient(app, await tokenFor(app, op));
      expect((await before1.get('/auth/me')).status).to.equal(200);
      const session = await loginAs(app, op);
      expect((await session.post('/auth/password', { currentPassword: op.password, newPassword: 'Changed-secret-5521' })).status).to.equal(204);
      expect((await before1.get('/auth/me')).status).to.equal(401);
      expect((await before2.get('/auth/me')).status).to.equal(401);
      const after = bearerClient(app, await tokenFor(app, op));
      expect((await after.get('/auth/me')).status).to.equal(200);
      expect((await admin.patch(`/users/${op.id}`, { password: 'Reset-secret-5522' })).status).to.equal(200);
      expect((await after.get('/auth/me')).status).to.equal(401);
    });

    it('when the password is a common one (password1234 and the like), then it is refused naming the field', async () => {
      for (const password of ['password1234', 'Password1234!', 'Qwerty123456', 'woaini5201314', 'Admin@123456']) {
        const res = await admin.post('/users', { username: `pw-${Math.random().toString(36).slice(2, 8)}`, role: 'viewer', scopeRegionId: street, password });
        expect(res.status, password).to.equal(422);
        expect(res.body.error.details[0].field, password).to.equal('password');
        expect(res.body.error.details[0].message, password).to.match(/common/);
      }
    });
  });

  describe('sessions', () => {
    it('when a session is used past its absolute lifetime, then it is refused although it kept sliding', async () => {
      const op = await createUser(app, { role: 'viewer', scopeRegionId: street });
      const client = await loginAs(app, op);
      const { Session } = authOf(app.ctx).models;
      const s = await Session.findOne({ userId: new ObjectId(op.id) }).lean().exec();
      expect(s?.absoluteExpiresAt, 'absolute end stored at login').to.be.instanceOf(Date);
      // near the absolute end: using the session may slide it up to that end only
      const end = new Date(Date.now() + 1200);
      await Session.updateOne({ _id: s?._id }, { $set: { expiresAt: new Date(Date.now() + 1000), absoluteExpiresAt: end } }).exec();
      expect((await client.get('/auth/me')).status).to.equal(200);
      const slid = await Session.findById(s?._id).lean().exec();
      expect(slid?.expiresAt.getTime()).to.be.at.most(end.getTime());
      await new Promise((r) => setTimeout(r, 1500));
      expect((await client.get('/auth/me')).status).to.equal(401);
    });
  });

  describe('malformed input answers 400, not 500', () => {
    it('when a JSON body is nested thousands deep, then 400', async () => {
      const deep = '['.repeat(20_000) + ']'.repeat(20_000);
      const res = await admin.request('POST', '/regions', deep, { headers: { 'content-type': 'application/json' } });
      expect(res.status).to.equal(400);
      const obj = '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000);
      expect((await admin.request('POST', '/regions', obj, { headers: { 'content-type': 'application/json' } })).status).to.equal(400);
    });

    it('when a URL carries a bad % escape, then 400', async () => {
      const res = await fetch(apiUrl(app, '/regions/%E0%A4%A'), { headers: { cookie: admin.cookie ?? '' } });
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('bad_request');
    });
  });

  it('when catalog XML names an element <constructor> or <__proto__>, then the import answers 400 naming the file', async () => {
    for (const tag of ['constructor', '__proto__']) {
      const xml = `<?xml version="1.0"?><Response><CmdType>Catalog</CmdType><DeviceList Num="1"><Item><DeviceID>21030200001320000001</DeviceID><${tag}>x</${tag}></Item></DeviceList></Response>`;
      const form = new FormData();
      form.append('file', new Blob([xml]), 'catalog.xml');
      const res = await admin.request('POST', '/cameras/import?format=gb28181&mode=dry-run', form);
      expect(res.status, tag).to.equal(400);
      expect(res.body.error.details[0].field, tag).to.equal('file');
    }
  });

  describe('demo simulator', () => {
    it('when a street-scoped admin (or an API token) starts the demo simulator or loads the demo, then 403', async () => {
      const streetAdmin = await createUser(app, { role: 'admin', scopeRegionId: street });
      const client = await loginAs(app, streetAdmin);
      expect((await client.post('/demo/simulator', {})).status).to.equal(403);
      expect((await client.post('/demo/load', {})).status).to.equal(403);
      const globalAdmin = await createUser(app, { role: 'admin', scopeRegionId: null });
      const token = bearerClient(app, await tokenFor(app, globalAdmin));
      expect((await token.post('/demo/simulator', {})).status).to.equal(403);
      // the global admin with a session gets past the permission (the registry is not empty: 409)
      expect((await admin.post('/demo/simulator', {})).status).to.equal(409);
    });
  });
});

describe('auth hardening: /metrics and open mode (integration)', function () {
  this.timeout(60_000);

  it('when NODE_ENV=production without METRICS_TOKEN, then /metrics is closed; with it, only the exact token opens it', async () => {
    const closed = await bootAuthApp({ NODE_ENV: 'production' });
    try {
      expect((await fetch(`${closed.baseUrl}/metrics`)).status).to.equal(403);
    } finally {
      await closed.close();
    }
    const token = 'metrics-token-0123456789';
    const open = await bootAuthApp({ NODE_ENV: 'production', METRICS_TOKEN: token });
    try {
      expect((await fetch(`${open.baseUrl}/metrics`)).status).to.equal(401);
      expect((await fetch(`${open.baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}x` } })).status).to.equal(401);
      expect((await fetch(`${open.baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(200);
    } finally {
      await open.close();
    }
  });

  it('when the store answers disk full (ENOSPC) while loading the demo, then 507 with a clear message, not 500', async () => {
    const app = await bootAuthApp();
    try {
      const admin = await loginAs(app, bootAdmin);
      // injected: the embedded store passes SQLite's "database or disk is full" on as the command's errmsg
      app.registry.regions.insertManyTrusted = () => Promise.reject(Object.assign(new Error('database or disk is full'), { code: 1, codeName: 'InternalError' }));
      const res = await admin.post('/demo/load', {});
      expect(res.status).to.equal(507);
      expect(res.body.error.code).to.equal('insufficient_storage');
      expect(res.body.error.message).to.match(/disk space/);
    } finally {
      await app.close();
    }
  });

  it('when AUTH_MODE=open, then a write from a foreign site is still refused', async () => {
    const app = await bootApp({ AUTH_MODE: 'open' });
    try {
      const foreign = await anonymous(app).request('POST', '/regions', { name: '外站', tier: 'district', parentId: null }, { headers: { origin: 'http://evil.example' } });
      expect(foreign.status).to.equal(403);
      const own = await anonymous(app).post('/regions', { name: '本站', tier: 'district', parentId: null });
      expect(own.status).to.equal(201);
    } finally {
      await app.close();
    }
  });
});
