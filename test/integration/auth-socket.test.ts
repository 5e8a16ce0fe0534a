import { expect } from 'chai';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import type { Principal } from '../../server/src/contracts/access';
import { authOf } from '../../server/src/auth/instance';
import { assertCanSubscribe, socketAuth } from '../../server/src/auth/socket';
import { AppError } from '../../server/src/lib/errors';
import { bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs, tokenFor } from '../helpers/auth';
import { fixedRegionIndex } from '../helpers/regions';

const regions = fixedRegionIndex();

// A stand-in for the live namespace (the real one belongs to the live capability): same middleware and check.
const NS = '/auth-live-test';
type Ack = { ok: true; data: unknown } | { ok: false; error: { code: string; message: string } };

function open(app: TestApp, opts: Record<string, unknown>): ClientSocket {
  return connect(`${app.baseUrl}${NS}`, { transports: ['websocket'], reconnection: false, forceNew: true, ...opts });
}

function outcome(socket: ClientSocket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (err) => resolve(err.message));
  });
}

function emitAck(socket: ClientSocket, event: string, payload: unknown): Promise<Ack> {
  return new Promise((resolve) => socket.emit(event, payload, (ack: Ack) => resolve(ack)));
}

describe('auth: Socket.IO authentication at connection (integration)', function () {
  this.timeout(60_000);
  let app: TestApp;
  const sockets: ClientSocket[] = [];

  before(async () => {
    app = await bootAuthApp();
    authOf(app.ctx).attach({ regions });
    const nsp = app.io.of(NS);
    nsp.use(socketAuth(app.ctx));
    nsp.on('connection', (socket) => {
      const principal = (socket.data as { principal?: Principal }).principal;
      socket.on('whoami', (_p: unknown, ack: (a: Ack) => void) => ack({ ok: true, data: principal }));
      socket.on('subscribe', (p: { regionId: string }, ack: (a: Ack) => void) => {
        try {
          assertCanSubscribe(principal, p.regionId, regions);
          ack({ ok: true, data: { regionId: p.regionId } });
        } catch (err) {
          const e = err instanceof AppError ? err : new AppError('internal', 'internal error');
          ack({ ok: false, error: { code: e.code, message: e.message } });
        }
      });
    });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.disconnect();
  });
  after(async () => {
    await app?.close();
  });

  it('when the handshake carries a session cookie, then the socket is that user', async () => {
    const user = await createUser(app, { role: 'operator', scopeRegionId: 'S1' });
    const client = await loginAs(app, user);
    const s = open(app, client.socketOptions());
    sockets.push(s);
    expect(await outcome(s)).to.equal('connected');
    const me = await emitAck(s, 'whoami', {});
    expect(me.ok && me.data).to.include({ kind: 'user', username: user.username, scopeRegionId: 'S1' });
  });

  it('when auth.token is an API token, then the socket is that token', async () => {
    const user = await createUser(app, { role: 'operator', scopeRegionId: 'S1' });
    const s = open(app, { auth: { token: await tokenFor(app, user, { role: 'viewer' }) } });
    sockets.push(s);
    expect(await outcome(s)).to.equal('connected');
    const me = await emitAck(s, 'whoami', {});
    expect(me.ok && me.data).to.include({ kind: 'token', role: 'viewer' });
  });

  it('when there are no credentials, a bad cookie or a revoked token, then the connection is refused as unauthenticated', async () => {
    const user = await createUser(app, { role: 'operator', scopeRegionId: 'S1' });
    const token = await tokenFor(app, user);
    const op = await loginAs(app, user);
    const list = await op.get('/tokens');
    const id = (list.body.items as Array<{ id: string }>)[0]?.id;
    expect((await op.delete(`/tokens/${id}`)).status).to.equal(204);
    const attempts = [{}, { extraHeaders: { cookie: 'vigil_session=forged' } }, { auth: { token } }];
    for (const opts of attempts) {
      const s = open(app, opts);
      sockets.push(s);
      expect(await outcome(s)).to.equal('unauthenticated');
    }
  });

  it('when a cookie handshake comes from a foreign Origin, then it is refused', async () => {
    const client = await loginAs(app, await createUser(app, { role: 'viewer', scopeRegionId: 'S1' }));
    const s = open(app, { extraHeaders: { cookie: client.cookie ?? '', origin: 'http://evil.example' } });
    sockets.push(s);
    expect(await outcome(s)).to.equal('unauthenticated');
  });

  it('when a street operator subscribes outside his street, then it is refused as not found; inside it is allowed', async () => {
    const client = await loginAs(app, await createUser(app, { role: 'operator', scopeRegionId: 'S1' }));
    const s = open(app, client.socketOptions());
    sockets.push(s);
    expect(await outcome(s)).to.equal('connected');
    expect(await emitAck(s, 'subscribe', { regionId: 'S2' })).to.deep.equal({ ok: false, error: { code: 'not_found', message: 'region not found' } });
    expect((await emitAck(s, 'subscribe', { regionId: 'D' })).ok).to.equal(false);
    expect((await emitAck(s, 'subscribe', { regionId: 'C1' })).ok).to.equal(true);
  });
});
