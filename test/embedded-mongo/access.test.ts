import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { MongoClient, MongoServerError } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../server/src/embedded-mongo';
import { CREDENTIALS_FILE } from '../../server/src/embedded-mongo/auth';
import { embeddedSocketPath } from '../../server/src/store/connection';
import { bootApp } from '../helpers/app';
import { runTs } from '../helpers/process';

async function refusal(p: Promise<unknown>): Promise<MongoServerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof MongoServerError) return err;
    throw err;
  }
  throw new Error('expected the store to refuse');
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

/** Whether `uid` can open the Unix socket, tried from a child process running as that user. */
function connectsAs(uid: number, socketPath: string): string {
  const script = `require('net').connect(${JSON.stringify(socketPath)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`;
  const r = spawnSync(process.execPath, ['-e', script], { uid, gid: uid, encoding: 'utf8', timeout: 20_000 });
  return (r.stdout || r.stderr).trim();
}

describe('embedded store: who can reach it', function () {
  this.timeout(90_000);

  describe('the app\'s in-process store', () => {
    it('when the app starts the embedded store, then it listens on a 0600 Unix socket in the 0700 data directory and on no TCP port', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-access-'));
      // the data directory itself open to everyone: the store's own directory and socket must protect it
      fs.chmodSync(dataDir, 0o755);
      const app = await bootApp({ DATA_DIR: dataDir });
      try {
        const socketPath = embeddedSocketPath(dataDir);
        expect(app.ctx.store.displayUri).to.equal(`mongodb://${encodeURIComponent(socketPath)}/vigil`);
        expect(app.ctx.store.displayUri).to.not.match(/:\d+\//);
        expect(fs.statSync(socketPath).isSocket()).to.equal(true);
        expect(mode(socketPath)).to.equal(0o600);
        expect(mode(path.dirname(socketPath))).to.equal(0o700);
        // the app works through it
        expect(await app.ctx.store.ping()).to.equal(true);
        // the same user can open it (the driver, as mongoose does)
        const c = await MongoClient.connect(app.ctx.store.displayUri, { serverSelectionTimeoutMS: 5000 });
        expect(await c.db('admin').command({ ping: 1 })).to.deep.equal({ ok: 1 });
        await c.close();
        if (process.getuid?.() === 0) {
          // another local user (nobody) cannot even open the socket
          expect(connectsAs(65534, socketPath)).to.equal('EACCES');
        }
      } finally {
        await app.close({ keepData: true });
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('when the data directory was left readable by others and a dead store left its socket file, then the store makes the directory 0700 and listens anew', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-access-'));
      fs.chmodSync(dir, 0o755);
      fs.writeFileSync(path.join(dir, 'store.sock'), 'left behind by a crash');
      const store = await startEmbeddedMongo({ dbPath: dir, socketPath: path.join(dir, 'store.sock') });
      try {
        expect(mode(dir)).to.equal(0o700);
        expect(mode(path.join(dir, 'store.sock'))).to.equal(0o600);
        const c = await MongoClient.connect(store.uri('x'), { serverSelectionTimeoutMS: 5000 });
        expect(await c.db('x').command({ ping: 1 })).to.deep.equal({ ok: 1 });
        await c.close();
      } finally {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('the standalone store with authentication', () => {
    let dir: string;
    let store: EmbeddedMongo;
    const credential = { user: 'vigil', password: 'S3cret-for-the-test' };
    const url = (user?: string, password?: string): string =>
      `mongodb://${user ? `${user}:${encodeURIComponent(password ?? '')}@` : ''}127.0.0.1:${store.port}/acc${user ? '?authSource=admin' : ''}`;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-auth-'));
      store = await startEmbeddedMongo({ dbPath: dir, host: '127.0.0.1', port: 0, auth: credential });
    });
    after(async () => {
      await store?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('when the driver authenticates with the right credential (SCRAM-SHA-256), then it can write and read', async () => {
      const c = await MongoClient.connect(url(credential.user, credential.password), { serverSelectionTimeoutMS: 5000 });
      try {
        await c.db('acc').collection('users').insertOne({ _id: 1 as never, role: 'viewer' });
        expect(await c.db('acc').collection('users').findOne({ _id: 1 as never })).to.deep.equal({ _id: 1, role: 'viewer' });
      } finally {
        await c.close();
      }
    });

    it('when a client does not authenticate, then ping and hello answer but every read and write is refused with 13 Unauthorized', async () => {
      const c = await MongoClient.connect(url(), { serverSelectionTimeoutMS: 5000 });
      try {
        expect(await c.db('admin').command({ ping: 1 })).to.deep.equal({ ok: 1 });
        const find = await refusal(c.db('acc').collection('users').findOne({}));
        expect(find.code).to.equal(13);
        expect(find.codeName).to.equal('Unauthorized');
        expect(find.message).to.equal('command find requires authentication');
        const write = await refusal(c.db('acc').collection('users').updateOne({ _id: 1 as never }, { $set: { role: 'admin' } }));
        expect(write.code).to.equal(13);
        expect((await refusal(c.db('acc').collection('users').insertOne({ x: 1 }))).code).to.equal(13);
        expect((await refusal(c.db('admin').command({ listDatabases: 1 }))).code).to.equal(13);
      } finally {
        await c.close();
      }
      const check = await MongoClient.connect(url(credential.user, credential.password), { serverSelectionTimeoutMS: 5000 });
      expect(await check.db('acc').collection('users').find().toArray()).to.deep.equal([{ _id: 1, role: 'viewer' }]);
      await check.close();
    });

    it('when the password or the user is wrong, then authentication fails with 18 AuthenticationFailed', async () => {
      for (const [user, password] of [
        [credential.user, 'not-the-password'],
        ['someone', credential.password],
      ]) {
        const err = await MongoClient.connect(url(user, password), { serverSelectionTimeoutMS: 5000 }).then(
          async (c) => {
            await c.close();
            return undefined;
          },
          (e: unknown) => e as MongoServerError,
        );
        expect(err, `${user}`).to.be.instanceOf(MongoServerError);
        expect(err!.code).to.equal(18);
      }
    });

    it('when a raw client skips the handshake and sends a write, then it is refused', async () => {
      const { BSON } = await import('mongodb');
      const body = Buffer.from(BSON.serialize({ delete: 'users', deletes: [{ q: {}, limit: 0 }], $db: 'acc' }));
      const msg = Buffer.alloc(21 + body.length);
      msg.writeInt32LE(msg.length, 0);
      msg.writeInt32LE(2013, 12);
      body.copy(msg, 21);
      const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: store.port }, () => s.write(msg));
        let buf = Buffer.alloc(0);
        s.on('error', reject);
        s.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (buf.length >= 4 && buf.length >= buf.readInt32LE(0)) {
            s.destroy();
            resolve(BSON.deserialize(buf.subarray(21)));
          }
        });
      });
      expect(reply).to.include({ ok: 0, code: 13, codeName: 'Unauthorized' });
    });
  });

  describe('npm run db (cli.ts)', () => {
    it('when started with --auth, then it writes a 0600 credential that lets a client in, and refuses a client without it', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-'));
      const proc = runTs('server/src/embedded-mongo/cli.ts', ['--port', '0', '--dbpath', dir, '--auth'], {});
      try {
        const [line] = await proc.waitFor(/mongodb:\/\/\S+/, 60_000);
        expect(line).to.match(/^mongodb:\/\/vigil@127\.0\.0\.1:\d+\/\?authSource=admin$/);
        const file = path.join(dir, CREDENTIALS_FILE);
        expect(mode(file)).to.equal(0o600);
        const { user, password } = JSON.parse(fs.readFileSync(file, 'utf8')) as { user: string; password: string };
        expect(proc.output()).to.not.contain(password);
        const withCred = await MongoClient.connect(line.replace('vigil@', `${user}:${encodeURIComponent(password)}@`), { serverSelectionTimeoutMS: 5000 });
        await withCred.db('t').collection('c').insertOne({ a: 1 });
        expect(await withCred.db('t').collection('c').countDocuments()).to.equal(1);
        await withCred.close();
        const without = await MongoClient.connect(line.replace('vigil@', ''), { serverSelectionTimeoutMS: 5000 });
        expect((await refusal(without.db('t').collection('c').countDocuments())).code).to.equal(13);
        await without.close();
        // a second start on the same directory is refused and leaves the running store's credential alone
        const pwFile = path.join(os.tmpdir(), `vigil-pw-${process.pid}`);
        fs.writeFileSync(pwFile, 'Another-password-123\n', { mode: 0o600 });
        const second = runTs('server/src/embedded-mongo/cli.ts', ['--port', '0', '--dbpath', dir, '--auth', '--password-file', pwFile], {});
        expect((await second.exited).code).to.equal(1);
        expect(second.output()).to.match(/in use/);
        fs.rmSync(pwFile);
        expect(JSON.parse(fs.readFileSync(file, 'utf8'))).to.deep.equal({ user, password });
      } finally {
        proc.child.kill('SIGTERM');
        await proc.exited;
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('when started without --auth, then it warns loudly in its log, and it refuses a non-loopback --host', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-'));
      const proc = runTs('server/src/embedded-mongo/cli.ts', ['--port', '0', '--dbpath', dir], {});
      try {
        await proc.waitFor(/mongodb:\/\/127\.0\.0\.1:\d+\//, 60_000);
        expect(proc.output()).to.match(/WARNING: authentication is OFF\. Every local user and process that can open 127\.0\.0\.1:\d+ can read and write/);
      } finally {
        proc.child.kill('SIGTERM');
        await proc.exited;
      }
      const open = runTs('server/src/embedded-mongo/cli.ts', ['--port', '0', '--dbpath', dir, '--host', '0.0.0.0'], {});
      expect((await open.exited).code).to.equal(2);
      expect(open.output()).to.contain('--host 0.0.0.0 is not a loopback address: start with --auth');
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });
});
