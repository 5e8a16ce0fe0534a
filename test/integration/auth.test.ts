import { expect } from 'chai';
import { sha256 } from '../../server/src/auth/crypto';
import { authOf } from '../../server/src/auth/instance';
import { bootAdmin, bootApp, bootAuthApp, TEST_PASSWORD, type TestApp } from '../helpers/app';
import { createUser, loginAs, tokenFor } from '../helpers/auth';
import { anonymous, bearerClient, type ApiClient } from '../helpers/http';
import { fixedRegionIndex } from '../helpers/regions';

const fakeRegions = fixedRegionIndex();

const inAYear = (): string => new Date(Date.now() + 300 * 24 * 3600_000).toISOString();

describe('auth: sessions, tokens, users (integration)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let admin: ApiClient;

  before(async () => {
    app = await bootAuthApp();
    authOf(app.ctx).attach({ regions: fakeRegions });
    admin = await loginAs(app, bootAdmin);
  });
  after(async () => {
    await app?.close();
  });

  describe('login and logout', () => {
    it('when the password is right, then an httpOnly SameSite session cookie and a readable CSRF cookie are set', async () => {
      const res = await fetch(`${app.baseUrl}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(bootAdmin),
      });
      expect(res.status).to.equal(200);
      const cookies = res.headers.getSetCookie();
      const session = cookies.find((c) => c.startsWith('vigil_session='));
      const csrf = cookies.find((c) => c.startsWith('vigil_csrf='));
      expect(session).to.match(/HttpOnly/i).and.match(/SameSite=Lax/i);
      expect(session).not.to.match(/Secure/);
      expect(csrf).to.match(/SameSite=Lax/i);
      expect(csrf).not.to.match(/HttpOnly/i);
      const body = (await res.json()) as { user: { role: string; scopeRegionId: string | null }; csrfToken: string };
      expect(body.user.role).to.equal('admin');
      expect(body.user.scopeRegionId).to.equal(null);
      expect(csrf).to.contain(body.csrfToken);
    });

    it('when the session cookie is stored, then only its SHA-256 hash is in the store', async () => {
      const c = await loginAs(app, bootAdmin);
      const raw = decodeURIComponent(/vigil_session=([^;]+)/.exec(c.cookie ?? '')?.[1] ?? '');
      const docs = await authOf(app.ctx).models.Session.find({}).lean().exec();
      expect(raw.length).to.be.greaterThan(40);
      expect(JSON.stringify(docs)).not.to.contain(raw);
    });

    it('when logging out, then the same cookie is refused at once', async () => {
      const c = await loginAs(app, bootAdmin);
      expect((await c.get('/auth/me')).status).to.equal(200);
      expect((await c.post('/auth/logout')).status).to.equal(204);
      expect((await c.get('/auth/me')).status).to.equal(401);
    });

    it('when a session past half its lifetime is used, then its expiry slides forward and the cookies are re-sent', async () => {
      const c = await loginAs(app, bootAdmin);
      const { Session } = authOf(app.ctx).models;
      const raw = decodeURIComponent(/vigil_session=([^;]+)/.exec(c.cookie ?? '')?.[1] ?? '');
      const newest = await Session.findOne({ tokenHash: sha256(raw) }).lean().exec();
      await Session.updateOne({ _id: newest?._id }, { $set: { expiresAt: new Date(Date.now() + 60_000) } }).exec();
      const res = await c.get('/auth/me');
      expect(res.status).to.equal(200);
      const cookies = res.headers.getSetCookie();
      expect(cookies.some((x) => x.startsWith('vigil_session='))).to.equal(true);
      expect(cookies.find((x) => x.startsWith('vigil_csrf='))).to.contain(c.csrfToken);
      const after = await Session.findById(newest?._id).lean().exec();
      expect(after?.expiresAt.getTime()).to.be.greaterThan(Date.now() + 11 * 3600_000);
      expect((await c.get('/auth/me')).headers.getSetCookie()).to.deep.equal([]);
    });

    it('when the user is unknown or the password wrong, then the answer is the same generic 401', async () => {
      const a = await anonymous(app).post('/auth/login', { username: 'nobody-here', password: 'Whatever-123456' });
      const b = await anonymous(app).post('/auth/login', { username: 'admin', password: 'Wrong-password-123' });
      expect(a.status).to.equal(401);
      expect(b.status).to.equal(401);
      expect(a.body.error.message).to.equal('invalid username or password');
      expect(b.body.error).to.deep.equal(a.body.error);
    });

    it('when a username keeps failing, then 429 with Retry-After follows and even the right password waits', async () => {
      const victim = await createUser(app, { role: 'viewer', scopeRegionId: 'S1' });
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        statuses.push((await anonymous(app).post('/auth/login', { username: victim.username, password: 'Wrong-password-123' })).status);
      }
      expect(statuses).to.deep.equal([401, 401, 401, 401, 401, 401]);
      const locked = await anonymous(app).post('/auth/login', { username: victim.username, password: victim.password });
      expect(locked.status).to.equal(429);
      expect(Number(locked.headers.get('retry-after'))).to.be.greaterThan(0);
      const u = await admin.get(`/users/${victim.id}`);
      expect(u.body.failedLogins).to.equal(6);
    });

    it('when wrong passwords arrive as a parallel burst, then the burst is throttled too', async () => {
      const victim = await createUser(app, { role: 'viewer', scopeRegionId: 'S1' });
      const burst = await Promise.all(
        Array.from({ length: 10 }, () => anonymous(app).post('/auth/login', { username: victim.username, password: 'Wrong-password-123' })),
      );
      const statuses = burst.map((r) => r.status);
      expect(statuses.filter((s) => s === 429).length).to.be.greaterThan(2);
      expect(statuses.every((s) => s === 401 || s === 429)).to.equal(true);
    });

    it('when a disabled user logs in, then the generic 401 is returned and his sessions are gone', async () => {
      const u = await createUser(app, { role: 'viewer', scopeRegionId: 'S1' });
      const c = await loginAs(app, u);
      expect((await admin.patch(`/users/${u.id}`, { disabled: true })).status).to.equal(200);
      expect((await c.get('/auth/me')).status).to.equal(401);
      const res = await anonymous(app).post('/auth/login', { username: u.username, password: u.password });
      expect(res.status).to.equal(401);
      expect(res.body.error.message).to.equal('invalid username or password');
    });
  });

  describe('CSRF and origin checks', () => {
    it('when a cookie-authenticated write lacks X-CSRF-Token, then it is refused with 403', async () => {
      const res = await admin.request('POST', '/tokens', { name: 'x', expiresAt: inAYear() }, { headers: { 'x-csrf-token': '' } });
      expect(res.status).to.equal(403);
      expect(res.body.error.message).to.match(/CSRF/);
    });

    it('when a browser holding a session logs in again without the CSRF header, then the login works', async () => {
      const res = await anonymous(app).request('POST', '/auth/login', bootAdmin, { headers: { cookie: admin.cookie ?? '' } });
      expect(res.status).to.equal(200);
    });

    it('when the CSRF header carries another session\'s token, then it is refused', async () => {
      const other = await loginAs(app, bootAdmin);
      const res = await admin.request('POST', '/tokens', { name: 'x', expiresAt: inAYear() }, { headers: { 'x-csrf-token': other.csrfToken ?? '' } });
      expect(res.status).to.equal(403);
    });

    it('when a write comes from a foreign Origin, then it is refused even with the right token', async () => {
      const res = await admin.request('POST', '/tokens', { name: 'x', expiresAt: inAYear() }, { headers: { origin: 'http://evil.example' } });
      expect(res.status).to.equal(403);
      const login = await anonymous(app).request('POST', '/auth/login', bootAdmin, { headers: { origin: 'http://evil.example' } });
      expect(login.status).to.equal(403);
    });

    it('when a bearer token writes without any CSRF header, then it is accepted', async () => {
      const op = await createUser(app, { role: 'operator', scopeRegionId: 'S1' });
      const res = await bearerClient(app, await tokenFor(app, op)).post('/tokens', { name: 'x', expiresAt: inAYear() });
      // tokens may not mint tokens: 403 from the service, not from CSRF
      expect(res.status).to.equal(403);
      expect(res.body.error.message).to.match(/token cannot create/);
      expect((await bearerClient(app, await tokenFor(app, op)).post('/auth/password', { currentPassword: 'x', newPassword: 'y' })).status).to.equal(403);
    });
  });

  describe('API tokens', () => {
    it('when a token is created, then its secret is shown once, stored hashed, and it authenticates as Bearer', async () => {
      const res = await admin.post('/tokens', { name: 'integration', role: 'viewer', scopeRegionId: 'S1', expiresAt: inAYear() });
      expect(res.status).to.equal(201);
      const secret = res.body.secret as string;
      expect(secret).to.match(/^vgl_[A-Za-z0-9_-]{40,}$/);
      const list = await admin.get('/tokens');
      expect(JSON.stringify(list.body)).not.to.contain(secret);
      const stored = await authOf(app.ctx).models.ApiToken.find({}).lean().exec();
      expect(JSON.stringify(stored)).not.to.contain(secret);
      const me = await bearerClient(app, secret).get('/auth/me');
      expect(me.status).to.equal(200);
      expect(me.body).to.include({ kind: 'token', role: 'viewer', scopeRegionId: 'S1', displayName: 'integration' });
    });

    it('when a token is revoked, then the very next request with it is refused', async () => {
      const created = await admin.post('/tokens', { name: 'short-lived', expiresAt: inAYear() });
      const client = bearerClient(app, String(created.body.secret));
      expect((await client.get('/users')).status).to.equal(200);
      expect((await admin.delete(`/tokens/${created.body.id}`)).status).to.equal(204);
      expect((await client.get('/users')).status).to.equal(401);
      const items = (await admin.get('/tokens')).body.items as Array<{ id: string; revokedAt: string | null }>;
      const listed = items.find((t) => t.id === created.body.id);
      expect(listed?.revokedAt).to.be.a('string');
    });

    it('when a token has expired, then it is refused', async () => {
      const op = await createUser(app, { role: 'operator', scopeRegionId: 'S1' });
      const secret = await tokenFor(app, op, { expiresInMs: 300 });
      expect((await bearerClient(app, secret).get('/auth/me')).status).to.equal(200);
      await new Promise((r) => setTimeout(r, 400));
      expect((await bearerClient(app, secret).get('/auth/me')).status).to.equal(401);
    });

    it('when a token would exceed the creator\'s role, scope or one year, then it is refused', async () => {
      const op = await loginAs(app, await createUser(app, { role: 'operator', scopeRegionId: 'S1' }));
      expect((await op.post('/tokens', { name: 'x', role: 'admin', expiresAt: inAYear() })).status).to.equal(403);
      expect((await op.post('/tokens', { name: 'x', scopeRegionId: 'S2', expiresAt: inAYear() })).status).to.equal(404);
      expect((await op.post('/tokens', { name: 'x', scopeRegionId: null, expiresAt: inAYear() })).status).to.equal(403);
      const tooLong = await op.post('/tokens', { name: 'x', expiresAt: new Date(Date.now() + 400 * 24 * 3600_000).toISOString() });
      expect(tooLong.status).to.equal(422);
      expect(tooLong.body.error.message).to.match(/expiresAt/);
      const ok = await op.post('/tokens', { name: 'x', role: 'viewer', scopeRegionId: 'C1', expiresAt: inAYear() });
      expect(ok.status).to.equal(201);
    });

    it('when the creator is disabled, then his tokens stop working at once', async () => {
      const op = await createUser(app, { role: 'operator', scopeRegionId: 'S1' });
      const secret = await tokenFor(app, op);
      expect((await bearerClient(app, secret).get('/auth/me')).status).to.equal(200);
      await admin.patch(`/users/${op.id}`, { disabled: true });
      expect((await bearerClient(app, secret).get('/auth/me')).status).to.equal(401);
    });

    it('when an operator lists tokens, then he sees only his own', async () => {
      const a = await createUser(app, { role: 'operator', scopeRegionId: 'S1' });
      const b = await createUser(app, { role: 'operator', scopeRegionId: 'S1' });
      await tokenFor(app, a, { name: 'a-token' });
      await tokenFor(app, b, { name: 'b-token' });
      const items = (await (await loginAs(app, a)).get('/tokens')).body.items as Array<{ name: string }>;
      const names = items.map((t) => t.name);
      expect(names).to.deep.equal(['a-token']);
    });
  });

  describe('user management', () => {
    it('when a street admin lists users, then only users bound inside his street are listed', async () => {
      const streetAdmin = await loginAs(app, await createUser(app, { role: 'admin', scopeRegionId: 'S1' }));
      const inside = await createUser(app, { role: 'viewer', scopeRegionId: 'C1' });
      const outside = await createUser(app, { role: 'viewer', scopeRegionId: 'S2' });
      const res = await streetAdmin.get('/users');
      const items = res.body.items as Array<{ id: string; scopeRegionId: string }>;
      const ids = items.map((u) => u.id);
      expect(ids).to.include(inside.id);
      expect(ids).not.to.include(outside.id);
      expect(items.every((u) => ['S1', 'C1'].includes(u.scopeRegionId))).to.equal(true);
      expect((await streetAdmin.get(`/users/${outside.id}`)).status).to.equal(404);
      expect((await streetAdmin.patch(`/users/${outside.id}`, { role: 'operator' })).status).to.equal(404);
      expect((await streetAdmin.delete(`/users/${outside.id}`)).status).to.equal(404);
    });

    it('when a street admin creates users, then only inside his subtree and never global ones', async () => {
      const streetAdmin = await loginAs(app, await createUser(app, { role: 'admin', scopeRegionId: 'S1' }));
      const base = { role: 'operator', password: TEST_PASSWORD };
      expect((await streetAdmin.post('/users', { ...base, username: 'op-c1', scopeRegionId: 'C1' })).status).to.equal(201);
      expect((await streetAdmin.post('/users', { ...base, username: 'op-s2', scopeRegionId: 'S2' })).status).to.equal(404);
      expect((await streetAdmin.post('/users', { ...base, role: 'admin', username: 'glob', scopeRegionId: null })).status).to.equal(403);
      expect((await streetAdmin.patch(`/users/${(await createUser(app, { role: 'viewer', scopeRegionId: 'C1' })).id}`, { scopeRegionId: 'S2' })).status).to.equal(404);
    });

    it('when the password breaks the policy, then 422 names the field with a clear message', async () => {
      const res = await admin.post('/users', { username: 'weak', role: 'viewer', scopeRegionId: 'S1', password: 'alllowercaseletters' });
      expect(res.status).to.equal(422);
      expect(res.body.error.details).to.deep.include({ field: 'password', message: 'password must mix at least two of: lower-case letters, upper-case letters, digits, symbols' });
      const same = await admin.post('/users', { username: 'samename1234', role: 'viewer', scopeRegionId: 'S1', password: 'SameName1234' });
      expect(same.status).to.equal(422);
      expect(same.body.error.message).to.match(/username/);
    });

    it('when a username is taken (any case), then 409', async () => {
      expect((await admin.post('/users', { username: 'Dup.User', role: 'viewer', scopeRegionId: 'S1', password: TEST_PASSWORD })).status).to.equal(201);
      expect((await admin.post('/users', { username: 'dup.user', role: 'viewer', scopeRegionId: 'S1', password: TEST_PASSWORD })).status).to.equal(409);
    });

    it('when the role of a logged-in user changes, then his next request uses the new role', async () => {
      const u = await createUser(app, { role: 'admin', scopeRegionId: 'S1' });
      const c = await loginAs(app, u);
      expect((await c.get('/users')).status).to.equal(200);
      expect((await admin.patch(`/users/${u.id}`, { role: 'viewer' })).status).to.equal(200);
      expect((await c.get('/users')).status).to.equal(403);
    });

    it('when the last global admin would be demoted, disabled or deleted, then 409', async () => {
      const adminId = (await admin.get('/auth/me')).body.userId as string;
      expect((await admin.patch(`/users/${adminId}`, { disabled: true })).status).to.equal(409);
      expect((await admin.delete(`/users/${adminId}`)).status).to.equal(409);
      expect((await admin.get('/auth/me')).status).to.equal(200);
    });

    it('when a user changes his own password, then his other sessions end and the new password works', async () => {
      const u = await createUser(app, { role: 'viewer', scopeRegionId: 'S1' });
      const first = await loginAs(app, u);
      const second = await loginAs(app, u);
      const res = await second.post('/auth/password', { currentPassword: u.password, newPassword: 'Brand-new-pass-42' });
      expect(res.status).to.equal(204);
      expect((await first.get('/auth/me')).status).to.equal(401);
      expect((await second.get('/auth/me')).status).to.equal(200);
      expect((await anonymous(app).post('/auth/login', { username: u.username, password: 'Brand-new-pass-42' })).status).to.equal(200);
    });
  });

  describe('audit trail', () => {
    type Entry = { action: string; entity: string; entityId: string | null; actor: { username: string }; after: unknown; meta: Record<string, unknown> };
    const entries = async (q: string): Promise<Entry[]> => (await admin.get(`/audit?limit=500&${q}`)).body.items as Entry[];

    it('when logins succeed and fail, then both are audited (the failure under the attempted name)', async () => {
      await anonymous(app).post('/auth/login', { username: 'ghost-user', password: 'Wrong-password-123' });
      await loginAs(app, bootAdmin);
      const auth = await entries('entity=auth');
      expect(auth.some((e) => e.action === 'login.failed' && e.actor.username === 'ghost-user')).to.equal(true);
      expect(auth.some((e) => e.action === 'login' && e.actor.username === 'admin')).to.equal(true);
      expect(JSON.stringify(auth)).not.to.contain('Wrong-password-123');
    });

    it('when a token is created, used twice and revoked, then create, one use and revoke are audited', async () => {
      const created = await admin.post('/tokens', { name: 'audited', expiresAt: inAYear() });
      const client = bearerClient(app, String(created.body.secret));
      await client.get('/auth/me');
      await client.get('/auth/me');
      await admin.delete(`/tokens/${created.body.id}`);
      const mine = (await entries('entity=token')).filter((e) => e.entityId === created.body.id);
      expect(mine.map((e) => e.action).sort()).to.deep.equal(['token.create', 'token.revoke', 'token.use']);
      expect(JSON.stringify(mine)).not.to.contain(String(created.body.secret));
    });

    it('when a user is created and his role changed, then both are audited with the change', async () => {
      const created = await admin.post('/users', { username: 'audited.user', role: 'viewer', scopeRegionId: 'S1', password: TEST_PASSWORD });
      await admin.patch(`/users/${created.body.id}`, { role: 'operator' });
      const mine = (await entries('entity=user')).filter((e) => e.entityId === created.body.id);
      expect(mine.map((e) => e.action).sort()).to.deep.equal(['create', 'role.change']);
      expect(mine.find((e) => e.action === 'role.change')?.after).to.deep.equal({ role: { from: 'viewer', to: 'operator' } });
    });
  });

  describe('security headers and CORS', () => {
    it('when any page is served, then helmet headers with the console CSP are present', async () => {
      const res = await fetch(`${app.baseUrl}/healthz`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).to.contain("script-src 'self'");
      expect(csp).to.contain("img-src 'self' data:");
      expect(csp).to.match(/connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+/);
      expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(res.headers.get('x-frame-options')).to.equal('SAMEORIGIN');
    });

    it('when CORS_ORIGINS is empty, then no origin is granted CORS', async () => {
      const res = await fetch(`${app.baseUrl}/api/v1/auth/setup`, { headers: { origin: 'http://evil.example' } });
      expect(res.headers.get('access-control-allow-origin')).to.equal(null);
    });
  });
});

describe('auth: first run and CORS allow-list (integration)', function () {
  this.timeout(60_000);

  it('when no user exists and no ADMIN_USERNAME is set, then a one-time setup link creates the first admin', async () => {
    const app = await bootApp({ AUTH_MODE: 'required' });
    try {
      expect(app.setupUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+\/setup\?token=[A-Za-z0-9_-]{40,}$/);
      const token = new URL(app.setupUrl ?? '').searchParams.get('token') ?? '';
      expect((await anonymous(app).get('/auth/setup')).body).to.deep.equal({ setupRequired: true });
      expect((await anonymous(app).post('/auth/login', { username: 'admin', password: 'admin' })).status).to.equal(401);
      const wrong = await anonymous(app).post('/auth/setup', { token: 'x'.repeat(43), username: 'root', password: 'Root-password-123' });
      expect(wrong.status).to.equal(403);
      const weak = await anonymous(app).post('/auth/setup', { token, username: 'root', password: 'root' });
      expect(weak.status).to.equal(422);
      const ok = await anonymous(app).post('/auth/setup', { token, username: 'root', password: 'Root-password-123' });
      expect(ok.status).to.equal(201);
      expect(ok.body.user).to.include({ role: 'admin', scopeRegionId: null, username: 'root' });
      const again = await anonymous(app).post('/auth/setup', { token, username: 'root2', password: 'Root-password-123' });
      expect(again.status).to.equal(404);
      expect((await anonymous(app).get('/auth/setup')).body).to.deep.equal({ setupRequired: false });
      expect((await loginAs(app, { username: 'root', password: 'Root-password-123' }).then((c) => c.get('/auth/me'))).body.role).to.equal('admin');
    } finally {
      await app.close();
    }
  });

  it('when ADMIN_USERNAME/ADMIN_PASSWORD are set, then that admin exists and no setup link is printed', async () => {
    const app = await bootAuthApp();
    try {
      expect(app.setupUrl).to.equal(undefined);
      expect((await anonymous(app).get('/auth/setup')).body).to.deep.equal({ setupRequired: false });
      expect((await loginAs(app, bootAdmin).then((c) => c.get('/auth/me'))).body).to.include({ username: 'admin', role: 'admin' });
    } finally {
      await app.close();
    }
  });

  it('when one address sprays many usernames, then that address is throttled for every name', async () => {
    const app = await bootAuthApp();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 31; i++) {
        statuses.push((await anonymous(app).post('/auth/login', { username: `spray-${i}`, password: 'Wrong-password-123' })).status);
      }
      expect(statuses.filter((s) => s === 401).length).to.equal(31);
      const next = await anonymous(app).post('/auth/login', { username: 'fresh-name', password: 'Wrong-password-123' });
      expect(next.status).to.equal(429);
      expect(Number(next.headers.get('retry-after'))).to.be.greaterThan(0);
    } finally {
      await app.close();
    }
  });

  it('when ADMIN_PASSWORD breaks the policy, then start-up fails naming it', async () => {
    let err: unknown;
    try {
      const app = await bootApp({ AUTH_MODE: 'required', ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'aaaaaaaaaaaaaaaa' });
      await app.close();
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/ADMIN_PASSWORD/);
  });

  it('when an origin is in CORS_ORIGINS (and COOKIE_SECURE), then it gets credentials CORS, preflight answers and cookies are Secure', async () => {
    const app = await bootAuthApp({ CORS_ORIGINS: 'http://wall.example', COOKIE_SECURE: 'true' });
    try {
      const login = await fetch(`${app.baseUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bootAdmin) });
      expect(login.headers.getSetCookie().every((c) => /;\s*Secure/i.test(c))).to.equal(true);
      const pre = await fetch(`${app.baseUrl}/api/v1/auth/me`, {
        method: 'OPTIONS',
        headers: { origin: 'http://wall.example', 'access-control-request-method': 'GET' },
      });
      expect(pre.status).to.equal(204);
      expect(pre.headers.get('access-control-allow-origin')).to.equal('http://wall.example');
      expect(pre.headers.get('access-control-allow-credentials')).to.equal('true');
      expect(pre.headers.get('access-control-allow-headers')).to.contain('X-CSRF-Token');
      const other = await fetch(`${app.baseUrl}/api/v1/auth/me`, { headers: { origin: 'http://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).to.equal(null);
    } finally {
      await app.close();
    }
  });

  it('when AUTH_MODE=open, then every request is the development admin', async () => {
    const app = await bootApp({ AUTH_MODE: 'open' });
    try {
      expect(app.setupUrl).to.equal(undefined);
      expect((await anonymous(app).get('/auth/me')).body).to.include({ kind: 'dev', role: 'admin' });
    } finally {
      await app.close();
    }
  });
});
