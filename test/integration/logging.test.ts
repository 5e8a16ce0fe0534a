import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import express from 'express';
import { errorHandler } from '../../server/src/lib/errors';
import { createLogger, redactFields, resolveLogFormat, REDACTED } from '../../server/src/lib/logger';
import { requestContext } from '../../server/src/lib/request-context';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs, tokenFor } from '../helpers/auth';
import { anonymous, bearerClient } from '../helpers/http';
import { repoRoot, runTs } from '../helpers/process';

type LogLine = Record<string, unknown> & { level: string; msg: string; reqId?: string; url?: string; status?: number; headers?: Record<string, unknown> };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('logging: redaction and request ids (real app, captured log)', function () {
  this.timeout(60_000);
  let app: TestApp;
  const out: string[] = [];
  const lines = (): LogLine[] => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);
  const requestLines = (url: string): LogLine[] => lines().filter((l) => l.url === url);

  before(async () => {
    app = await bootAuthApp({ LOG_LEVEL: 'debug' }, { logger: createLogger('debug', {}, (l) => out.push(l)) });
  });
  after(async () => {
    await app?.close();
  });

  it('when a user logs in (right and wrong password) and an API token is used in the header and the URL, then neither the password nor the token reaches the log', async () => {
    const wrongPassword = 'Wrong-horse-battery-4711';
    const refused = await anonymous(app).post('/auth/login', { username: bootAdmin.username, password: wrongPassword });
    expect(refused.status).to.equal(401);
    const session = await loginAs(app, bootAdmin);
    expect((await session.get('/auth/me')).status).to.equal(200);
    const token = await tokenFor(app, await createUser(app, { role: 'admin', scopeRegionId: null }));
    expect((await bearerClient(app, token).get('/cameras')).status).to.equal(200);
    expect((await bearerClient(app, token).get(`/auth/me?access_token=${token}`)).status).to.equal(200);

    const text = out.join('');
    expect(text).to.not.include(bootAdmin.password);
    expect(text).to.not.include(wrongPassword);
    expect(text).to.not.include(token);
    // the requests were logged, with their headers: the secrets were there to leak and were censored
    expect(requestLines('/api/v1/auth/login').map((l) => l.status)).to.include.members([401, 200]);
    const withBearer = requestLines('/api/v1/cameras').find((l) => l.headers?.authorization !== undefined);
    expect(withBearer?.headers?.authorization).to.equal(REDACTED);
    const withCookie = requestLines('/api/v1/auth/me').find((l) => l.headers?.cookie !== undefined);
    expect(withCookie?.headers?.cookie).to.equal(REDACTED);
    expect(lines().some((l) => typeof l.url === 'string' && l.url.startsWith('/api/v1/auth/me?access_token='))).to.equal(true);
  });

  it('when a request carries no X-Request-Id, then a generated one is echoed and every log line of that request carries it', async () => {
    const res = await fetch(`${app.baseUrl}/api/v1/regions/0123456789abcdef01234567`);
    const id = res.headers.get('x-request-id') ?? '';
    expect(id).to.match(UUID);
    const mine = lines().filter((l) => l.reqId === id);
    expect(mine.map((l) => l.url)).to.include('/api/v1/regions/0123456789abcdef01234567');
  });

  it('when a request carries a sane X-Request-Id, then it is kept; an unsafe one is replaced', async () => {
    const kept = await fetch(`${app.baseUrl}/healthz`, { headers: { 'X-Request-Id': 'edge-proxy.7f3a:42' } });
    expect(kept.headers.get('x-request-id')).to.equal('edge-proxy.7f3a:42');
    expect(lines().some((l) => l.reqId === 'edge-proxy.7f3a:42' && l.url === '/healthz')).to.equal(true);
    for (const bad of ['two words', 'x'.repeat(129), '{"level":"error"}']) {
      const res = await fetch(`${app.baseUrl}/healthz`, { headers: { 'X-Request-Id': bad } });
      expect(res.headers.get('x-request-id'), bad).to.match(UUID);
    }
  });
});

describe('logging: an unhandled error is logged with its request id, never sent to the client', () => {
  it('when a route throws, then the 500 body is generic, the header has the id, and the error line carries it', async () => {
    const out: string[] = [];
    const logger = createLogger('info', {}, (l) => out.push(l));
    const app = express();
    app.use(requestContext(logger));
    app.get('/boom', () => {
      throw new Error('db password=hunter2 at mongodb://vigil:s3cret@db:27017 exploded');
    });
    app.use(errorHandler(logger));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/boom`, { headers: { 'X-Request-Id': 'req-500' } });
      expect(res.status).to.equal(500);
      expect(await res.json()).to.deep.equal({ error: { code: 'internal', message: 'internal error' } });
      expect(res.headers.get('x-request-id')).to.equal('req-500');
      const logged = out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);
      const error = logged.find((l) => l.level === 'error');
      expect(error?.reqId).to.equal('req-500');
      expect(error?.msg).to.equal('unhandled error');
      expect(JSON.stringify(error)).to.include('exploded').and.not.include('s3cret');
    } finally {
      server.close();
    }
  });
});

describe('logging: format and redaction rules', () => {
  it('when the format is auto, then production or a non-terminal gives JSON and a terminal outside production gives readable lines', () => {
    expect(resolveLogFormat('auto', { production: false, terminal: true })).to.equal('pretty');
    expect(resolveLogFormat('auto', { production: false, terminal: false })).to.equal('json');
    expect(resolveLogFormat('auto', { production: true, terminal: true })).to.equal('json');
    expect(resolveLogFormat('json', { production: false, terminal: true })).to.equal('json');
    expect(resolveLogFormat('pretty', { production: true, terminal: false })).to.equal('pretty');
  });

  it('when fields nest secrets at any depth, in errors or in text, then each is censored and the rest is kept', () => {
    const r = redactFields({
      user: { name: 'li', credentials: { password: 'p1', apiKey: 'k1' } },
      headers: { Authorization: 'Digest username="a", response="abc"', 'set-cookie': ['vigil_session=s1'], 'user-agent': 'curl' },
      list: [{ newPassword: 'p2' }, { csrfToken: 't1' }],
      url: '/api/v1/x?token=t2&page=2',
      uri: 'mongodb://vigil:p3@db:27017/vigil',
      note: 'sent Bearer t3 to the robot',
      err: new Error('auth failed for https://bot:p4@robot.example/hook'),
    });
    const text = JSON.stringify(r);
    for (const secret of ['p1', 'k1', 'abc', 's1', 'p2', 't1', 't2', 'p3', 't3', 'p4']) expect(text, secret).to.not.match(new RegExp(`\\b${secret}\\b`));
    expect(r).to.deep.include({ url: `/api/v1/x?token=${REDACTED}&page=2`, uri: `mongodb://vigil:${REDACTED}@db:27017/vigil`, note: `sent Bearer ${REDACTED} to the robot` });
    expect((r.headers as Record<string, unknown>)['user-agent']).to.equal('curl');
    expect((r.user as Record<string, unknown>).name).to.equal('li');
  });

  it('when the format is pretty, then lines are readable text (not JSON) and still redacted', () => {
    const out: string[] = [];
    const log = createLogger({ level: 'info', format: 'pretty', write: (l) => out.push(l) }).child({ reqId: 'r-1' });
    log.info('user logged in', { username: 'li', password: 'hunter2' });
    const text = out.join('');
    expect(() => JSON.parse(text) as unknown).to.throw();
    expect(text).to.include('INFO').and.include('user logged in').and.include('r-1').and.include(REDACTED).and.not.include('hunter2');
  });
});

describe('logging: the started server (npm start)', function () {
  this.timeout(120_000);
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-log-'));
  });
  afterEach(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when its output is a pipe, then every log line is JSON with level, time and msg', async () => {
    const p = runTs('server/src/main.ts', [], { DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', NODE_ENV: 'development', AUTH_MODE: 'open' });
    try {
      await p.waitFor(/Console: (http:\/\/\S+)/, 60_000);
      await p.waitFor(/"msg":"store connected"/, 10_000);
    } finally {
      p.child.kill('SIGTERM');
    }
    await p.exited;
    const logLines = p.output().split('\n').filter((l) => l.startsWith('{'));
    expect(logLines.length).to.be.greaterThan(0);
    for (const l of logLines) expect(JSON.parse(l)).to.include.keys('level', 'time', 'msg');
  });

  it('when its output is a terminal, then log lines are readable text, not JSON', async function () {
    // script(1) gives the server a real pseudo-terminal as stdout and stderr
    const script = '/usr/bin/script';
    expect(fs.existsSync(script), 'script (util-linux) is part of Debian').to.equal(true);
    const cmd = `${JSON.stringify(process.execPath)} --require tsx/cjs server/src/main.ts`;
    const child = spawn(script, ['-qfec', cmd, '/dev/null'], {
      cwd: repoRoot,
      env: { ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', NODE_ENV: 'development', AUTH_MODE: 'open', LOG_FORMAT: 'auto' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString('utf8')));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const deadline = Date.now() + 60_000;
      while (!/store connected/.test(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    // eslint-disable-next-line no-control-regex
    const plain = text.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).to.match(/INFO.*store connected/);
    expect(plain).to.not.match(/"msg":"store connected"/);
  });
});
