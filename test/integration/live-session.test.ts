import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { authOf } from '../../server/src/auth/instance';
import type { Ack } from '../../server/src/contracts/live';
import { liveOf } from '../../server/src/live';
import { registryOf } from '../../server/src/registry';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs, tokenFor, type TestUser } from '../helpers/auth';
import { bearerClient, type ApiClient } from '../helpers/http';

const D = new ObjectId().toHexString();
const S1 = new ObjectId().toHexString();

async function seed(app: TestApp): Promise<void> {
  const db = app.ctx.store.conn.db;
  if (!db) throw new Error('no db');
  await db.collection('regions').insertMany([
    { _id: new ObjectId(D), name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null },
    { _id: new ObjectId(S1), name: '街道一', tier: 'street', parentId: new ObjectId(D), code: null, households: null, boundary: null },
  ]);
  await registryOf(app.ctx).regions.reload();
  await liveOf(app.ctx).reload();
}

function open(app: TestApp, client: ApiClient): ClientSocket {
  return connect(`${app.baseUrl}/live`, { transports: ['websocket'], reconnection: false, forceNew: true, ...client.socketOptions() });
}

/** 'connected' or the connect_error message. */
function outcome(socket: ClientSocket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (err) => resolve(err.message));
  });
}

/** Resolves with the disconnect reason, or 'still connected' when none came within `ms`. */
function disconnectWithin(socket: ClientSocket, ms: number): Promise<string> {
  return new Promise((resolve) => {
    if (socket.disconnected) return resolve('already disconnected');
    const timer = setTimeout(() => resolve('still connected'), ms);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

function subscribe(socket: ClientSocket, regionId: string): Promise<Ack<unknown>> {
  return socket.timeout(5000).emitWithAck('subscribe', { regionId }) as Promise<Ack<unknown>>;
}

describe('live: sockets follow their session (integration)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let admin: ApiClient;
  const sockets: ClientSocket[] = [];

  const watching = async (client: ApiClient): Promise<ClientSocket> => {
    const s = open(app, client);
    sockets.push(s);
    expect(await outcome(s)).to.equal('connected');
    const ack = await subscribe(s, S1);
    expect(ack.ok, JSON.stringify(ack)).to.equal(true);
    return s;
  };

  before(async () => {
    app = await bootAuthApp({ LIVE_SOCKETS_PER_USER: '3' });
    await seed(app);
    admin = await loginAs(app, bootAdmin);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.disconnect();
  });
  after(async () => {
    await app?.close();
  });

  let op: TestUser;
  beforeEach(async () => {
    op = await createUser(app, { role: 'operator', scopeRegionId: S1 });
  });

  it('when the user logs out, then his watching socket is disconnected within 1 s', async () => {
    const client = await loginAs(app, op);
    const s = await watching(client);
    const gone = disconnectWithin(s, 1000);
    expect((await client.post('/auth/logout')).status).to.equal(204);
    expect(await gone).to.equal('io server disconnect');
    // and the same cookie cannot come back
    const again = open(app, client);
    sockets.push(again);
    expect(await outcome(again)).to.equal('unauthenticated');
  });

  it('when an admin disables the user, then his sockets are disconnected within 1 s', async () => {
    const s = await watching(await loginAs(app, op));
    const gone = disconnectWithin(s, 1000);
    expect((await admin.patch(`/users/${op.id}`, { disabled: true })).status).to.equal(200);
    expect(await gone).to.equal('io server disconnect');
  });

  it('when the user\'s role changes, then his socket is disconnected and reconnects with the new role', async () => {
    const client = await loginAs(app, op);
    const s = await watching(client);
    const gone = disconnectWithin(s, 1000);
    expect((await admin.patch(`/users/${op.id}`, { role: 'viewer' })).status).to.equal(200);
    expect(await gone).to.equal('io server disconnect');
    const again = open(app, client);
    sockets.push(again);
    expect(await outcome(again)).to.equal('connected');
    // the reconnected socket is the viewer now: he may still watch, and a changed scope would apply
    expect((await subscribe(again, S1)).ok).to.equal(true);
    const me = await client.get('/auth/me');
    expect(me.body.role).to.equal('viewer');
  });

  it('when the user\'s scope moves away, then his socket is disconnected and may no longer watch the old street', async () => {
    const client = await loginAs(app, op);
    const s = await watching(client);
    const gone = disconnectWithin(s, 1000);
    expect((await admin.patch(`/users/${op.id}`, { scopeRegionId: D })).status).to.equal(200);
    expect(await gone).to.equal('io server disconnect');
  });

  it('when the user changes his password, then the sockets of his other sessions are disconnected and the current one stays', async () => {
    const here = await loginAs(app, op);
    const elsewhere = await loginAs(app, op);
    const sHere = await watching(here);
    const sElsewhere = await watching(elsewhere);
    const goneElsewhere = disconnectWithin(sElsewhere, 1000);
    const res = await here.post('/auth/password', { currentPassword: op.password, newPassword: 'Another-password-4567' });
    expect(res.status).to.equal(204);
    expect(await goneElsewhere).to.equal('io server disconnect');
    expect(await disconnectWithin(sHere, 1500)).to.equal('still connected');
  });

  it('when an API token is revoked, then the socket it opened is disconnected within 1 s', async () => {
    const secret = await tokenFor(app, op);
    const s = await watching(bearerClient(app, secret));
    const tokens = await authOf(app.ctx).listTokens({ kind: 'user', userId: op.id, username: op.username, role: op.role, scopeRegionId: op.scopeRegionId });
    const gone = disconnectWithin(s, 1000);
    const opClient = await loginAs(app, op);
    expect((await opClient.delete(`/tokens/${tokens[0].id}`)).status).to.equal(204);
    expect(await gone).to.equal('io server disconnect');
  });

  it('when the session reaches its absolute end while the socket is open, then the socket is disconnected within 1 s of it', async () => {
    const client = await loginAs(app, op);
    const { Session } = authOf(app.ctx).models;
    // the handshake is a use of the session: it slides, but never past the absolute end
    const expiresAt = new Date(Date.now() + 1500);
    await Session.updateMany({ userId: new ObjectId(op.id) }, { $set: { expiresAt, absoluteExpiresAt: expiresAt } }).exec();
    const s = await watching(client);
    const reason = await disconnectWithin(s, 6000);
    expect(reason).to.equal('io server disconnect');
    expect(Date.now() - expiresAt.getTime()).to.be.lessThan(1000);
  });

  it('when a user opens more sockets than LIVE_SOCKETS_PER_USER, then the extra one is refused until one closes', async () => {
    const client = await loginAs(app, op);
    const held: ClientSocket[] = [];
    for (let i = 0; i < 3; i++) held.push(await watching(client));
    const extra = open(app, client);
    sockets.push(extra);
    expect(await outcome(extra)).to.match(/too many connections/);
    // another user is not affected
    const other = await createUser(app, { role: 'operator', scopeRegionId: S1 });
    await watching(await loginAs(app, other));
    held[0].disconnect();
    await new Promise((r) => setTimeout(r, 200));
    const next = open(app, client);
    sockets.push(next);
    expect(await outcome(next)).to.equal('connected');
  });
});
