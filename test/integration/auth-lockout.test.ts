import http from 'node:http';
import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs, type TestUser } from '../helpers/auth';
import type { ApiClient } from '../helpers/http';

/** POST /auth/login from a given loopback source address (the server sees it as the client address). */
function loginFrom(app: TestApp, localAddress: string, username: string, password: string): Promise<number> {
  const body = JSON.stringify({ username, password });
  const url = new URL(`${app.baseUrl}/api/v1/auth/login`);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

type Entry = { action: string; entity: string; entityId: string | null; actor: { username: string }; after: Record<string, unknown> | null; meta: Record<string, unknown> };

describe('auth: login lockout by username at an address (integration)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let admin: ApiClient;
  let street: string;

  before(async () => {
    app = await bootAuthApp();
    admin = await loginAs(app, bootAdmin);
    const district = await admin.post('/regions', { name: '铁东区', tier: 'district', parentId: null });
    const s = await admin.post('/regions', { name: '街道一', tier: 'street', parentId: district.body.id });
    street = s.body.id as string;
  });
  after(async () => app?.close());

  const flood = async (from: string, username: string, n = 8): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await loginFrom(app, from, username, 'Wrong-password-123'));
    return out;
  };
  const audit = async (q: string, client: ApiClient = admin): Promise<Entry[]> => (await client.get(`/audit?limit=500&${q}`)).body.items as Entry[];

  it('when one address floods a username with wrong passwords, then it is locked there but its owner logs in from another address', async () => {
    const victim = await createUser(app, { role: 'admin', scopeRegionId: null });
    const statuses = await flood('127.0.0.2', victim.username);
    expect(statuses.slice(0, 5)).to.deep.equal([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).to.equal(429);
    // the attacker's address is locked even for the right password…
    expect(await loginFrom(app, '127.0.0.2', victim.username, victim.password)).to.equal(429);
    // …but the owner, elsewhere, is not
    expect(await loginFrom(app, '127.0.0.3', victim.username, victim.password)).to.equal(200);
  });

  it('when a lock happens, then it is audited with the username and the address; an admin unlocks it, audited too', async () => {
    const victim = await createUser(app, { role: 'operator', scopeRegionId: street });
    await flood('127.0.0.4', victim.username, 7);
    const locks = (await audit('action=login.locked')).filter((e) => e.after?.username === victim.username);
    expect(locks.length).to.be.at.least(1);
    expect(String(locks[0].meta.ip)).to.match(/127\.0\.0\.4$/);
    expect(locks[0].entityId).to.equal(victim.id);

    const res = await admin.post(`/users/${victim.id}/unlock`);
    expect(res.status).to.equal(200);
    expect(res.body.unlocked).to.equal(1);
    expect(await loginFrom(app, '127.0.0.4', victim.username, victim.password)).to.equal(200);
    const unlocks = await audit(`action=login.unlocked&entityId=${victim.id}`);
    expect(unlocks).to.have.length(1);
    expect(unlocks[0].actor.username).to.equal(bootAdmin.username);
  });

  it('when a non-admin asks to unlock, then 403; an unknown user is 404; the route is in the OpenAPI document', async () => {
    const op = await createUser(app, { role: 'operator', scopeRegionId: street });
    const opClient = await loginAs(app, op);
    expect((await opClient.post(`/users/${op.id}/unlock`)).status).to.equal(403);
    expect((await admin.post(`/users/${new ObjectId().toHexString()}/unlock`)).status).to.equal(404);
    const doc = (await admin.get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths).some((p) => /^\/users\/\{id\}\/unlock$/.test(p) || p === '/api/v1/users/{id}/unlock')).to.equal(true);
  });

  it('when an operator reads the audit trail, then he sees no logins, failed logins or locks, and no client addresses', async () => {
    const op: TestUser = await createUser(app, { role: 'operator', scopeRegionId: street });
    const colleague = await createUser(app, { role: 'operator', scopeRegionId: street });
    await loginFrom(app, '127.0.0.5', colleague.username, 'Wrong-password-123');
    const opClient = await loginAs(app, op);
    const seen = await audit('', opClient);
    expect(seen.filter((e) => e.entity === 'auth')).to.deep.equal([]);
    expect(seen.filter((e) => 'ip' in e.meta)).to.deep.equal([]);
    // the admin still reads them, with the address
    const failed = (await audit('action=login.failed')).filter((e) => e.actor.username === colleague.username);
    expect(failed).to.have.length(1);
    expect(String(failed[0].meta.ip)).to.match(/127\.0\.0\.5$/);
  });
});
