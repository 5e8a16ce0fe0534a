import crypto from 'node:crypto';
import { expect } from 'chai';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { createAlerts, type Alerts } from '../../server/src/alerts';
import { dingtalkSign } from '../../server/src/alerts/channels/dingtalk';
import { feishuSign } from '../../server/src/alerts/channels/feishu';
import type { AlertMessageInput } from '../../server/src/contracts/alerts';
import { OpenApiRegistry } from '../../server/src/lib/openapi';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs } from '../helpers/auth';
import type { ApiClient } from '../helpers/http';
import { captureServer, testProxy, type CaptureServer } from '../helpers/receivers';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

function msg(n: number, state: 'firing' | 'resolved' = 'firing'): AlertMessageInput {
  return {
    title: `站前街道 光明社区 ${n} 号点位离线`,
    state,
    points: [{ name: `光明社区${n}号球机`, code: `210302000013200${String(n).padStart(5, '0')}`, regionPath: ['铁东区', '站前街道', '光明社区'], maintainer: '某安防公司', since: '2026-12-02T06:00:00Z' }],
    suppressed: 0,
    link: `http://vigil.test/incidents/${n}`,
    at: '2026-12-02T06:00:30Z',
  };
}

describe('alerts: channels and delivery against local receivers', function () {
  this.timeout(120_000);
  let app: TestApp;
  let admin: ApiClient;
  let capture: CaptureServer;
  /** A second alerts instance on the same store, with a clock the test moves (the app's own dispatcher is off under NODE_ENV=test). */
  let alerts: Alerts;
  let t = Date.parse('2026-12-02T06:00:00Z');

  before(async () => {
    app = await bootAuthApp({ MONITOR_ENABLED: 'false' });
    admin = await loginAs(app, bootAdmin);
    capture = await captureServer({ clock: () => t });
    alerts = await createAlerts({ ...app.ctx, openapi: new OpenApiRegistry() }, { audit: app.registry.audit, clock: () => t });
  });
  after(async () => {
    await capture?.close();
    await app?.close();
  });
  beforeEach(() => {
    capture.requests.length = 0;
    capture.reply = () => ({ body: { errcode: 0, errmsg: 'ok' } });
  });

  async function channel(body: Record<string, unknown>): Promise<string> {
    const res = await admin.post('/channels', body);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id as string;
  }

  async function rowsOf(channelId: string) {
    return alerts.outbox.deliveries({ channelId, limit: 500 });
  }

  describe('REST /channels', () => {
    it('when an admin creates a signed webhook channel, then the secret is write-only, sealed at rest, audited, and other roles get 403', async () => {
      const secret = 'whsec-very-secret-0123456789';
      const id = await channel({ kind: 'webhook', name: 'ops webhook', settings: { url: `${capture.url}/hook` }, secrets: { secret } });
      const got = await admin.get(`/channels/${id}`);
      expect(got.status).to.equal(200);
      expect(got.body).to.include({ kind: 'webhook', hasSecret: true, target: `${capture.url}/hook` });
      expect(got.body.secretFields).to.deep.equal(['secret']);
      expect(JSON.stringify(got.body)).to.not.include(secret);
      const list = await admin.get('/channels');
      expect(JSON.stringify(list.body)).to.not.include(secret);
      const raw = await app.ctx.store.conn.collection('alert_channels').findOne({ name: 'ops webhook' });
      expect(JSON.stringify(raw)).to.not.include(secret);

      const audit = await admin.get(`/audit?entity=channel&entityId=${id}`);
      expect((audit.body.items as Array<{ action: string }>).map((e) => e.action)).to.deep.equal(['create']);
      expect(JSON.stringify(audit.body)).to.not.include(secret);

      const op = await loginAs(app, await createUser(app, { role: 'operator', scopeRegionId: null }));
      expect((await op.get('/channels')).status).to.equal(403);
      expect((await op.post(`/channels/${id}/test`)).status).to.equal(403);

      const bad = await admin.post('/channels', { kind: 'webhook', name: 'short', settings: { url: 'ftp://x' }, secrets: { secret: 'short' } });
      expect(bad.status).to.equal(422);
      const fields = (bad.body.error.details as Array<{ field: string }>).map((d) => d.field);
      expect(fields).to.include.members(['settings.url', 'secrets.secret']);

      const patched = await admin.patch(`/channels/${id}`, { name: 'ops webhook 2', secrets: { secret: 'another-secret-0123456789' } });
      expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
      expect(patched.body).to.include({ name: 'ops webhook 2', version: 2, hasSecret: true });
      const doc = (await admin.get('/openapi.json')).body;
      expect(doc).to.have.nested.property('paths./channels/{id}/test.post');
      expect((await admin.delete(`/channels/${id}`)).status).to.equal(204);
      expect((await admin.get(`/channels/${id}`)).status).to.equal(404);
    });

    it('when a DingTalk robot is tested, then the request carries a valid signature and keyword, and 310000 marks the channel unhealthy', async () => {
      const secret = 'SECtestsecret0123456789';
      const id = await channel({ kind: 'dingtalk', name: 'dt test', settings: { keyword: '视频告警' }, secrets: { webhookUrl: `${capture.url}/robot/send?access_token=tok`, secret } });
      const ok = await admin.post(`/channels/${id}/test`);
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
      expect(ok.body).to.include({ outcome: 'delivered' });
      const req = capture.requests[0];
      const u = new URL(req.url, capture.url);
      expect(u.searchParams.get('access_token')).to.equal('tok');
      expect(u.searchParams.get('sign')).to.equal(dingtalkSign(secret, Number(u.searchParams.get('timestamp'))));
      expect(req.json.text.content).to.include('视频告警');

      capture.reply = () => ({ body: { errcode: 310000, errmsg: 'keywords not in content' } });
      const bad = await admin.post(`/channels/${id}/test`);
      expect(bad.body).to.include({ outcome: 'failed' });
      expect(bad.body.health).to.include({ healthy: false, consecutiveFailures: 1 });
      expect((await admin.get(`/channels/${id}`)).body.health.lastError).to.include('310000');
    });
  });

  describe('outbox dispatch (injected clock)', () => {
    it('when DingTalk answers {"errcode":310000}, then the row fails, is never retried and the channel is unhealthy', async () => {
      const id = await channel({ kind: 'dingtalk', name: 'dt 310000', secrets: { webhookUrl: `${capture.url}/robot/send?access_token=a` } });
      capture.reply = () => ({ body: { errcode: 310000, errmsg: 'sign not match' } });
      await alerts.outbox.enqueue([{ incidentId: 'inc-1', revision: 1, channelId: id, message: msg(1) }]);
      await alerts.dispatcher.runOnce();
      t += 3_600_000;
      await alerts.dispatcher.runOnce();
      expect(capture.requests).to.have.length(1);
      const [row] = await rowsOf(id);
      expect(row).to.include({ state: 'failed', attempts: 1 });
      const ch = await admin.get(`/channels/${id}`);
      expect(ch.body.health.healthy).to.equal(false);
      expect(ch.body.queue).to.include({ failed: 1, pending: 0 });
    });

    it('when DingTalk answers {"errcode":130101}, then the row waits out the window and is delivered once', async () => {
      const id = await channel({ kind: 'dingtalk', name: 'dt 130101', secrets: { webhookUrl: `${capture.url}/robot/send?access_token=b` } });
      let first = true;
      capture.reply = () => {
        const body = first ? { errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' } : { errcode: 0, errmsg: 'ok' };
        first = false;
        return { body };
      };
      const [{ key }] = await alerts.outbox.enqueue([{ incidentId: 'inc-2', revision: 1, channelId: id, message: msg(2) }]);
      await alerts.dispatcher.runOnce();
      expect(capture.requests).to.have.length(1);
      t += 30_000;
      await alerts.dispatcher.runOnce();
      expect(capture.requests, 'nothing within the window').to.have.length(1);
      t += 31_000;
      await alerts.dispatcher.runOnce();
      t += 600_000;
      await alerts.dispatcher.runOnce();
      expect(capture.requests).to.have.length(2);
      const [row] = await alerts.outbox.deliveries({ incidentId: 'inc-2' });
      expect(row).to.include({ key, state: 'delivered', attempts: 2 });
    });

    it('when Feishu answers {"code":19021}, then the failure is permanent; a good answer carries timestamp and sign in the body', async () => {
      const secret = 'testsecret';
      const id = await channel({ kind: 'feishu', name: 'fs', secrets: { webhookUrl: `${capture.url}/open-apis/bot/v2/hook/x`, secret } });
      capture.reply = () => ({ body: { code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time' } });
      await alerts.outbox.enqueue([{ incidentId: 'inc-3', revision: 1, channelId: id, message: msg(3) }]);
      await alerts.dispatcher.runOnce();
      t += 3_600_000;
      await alerts.dispatcher.runOnce();
      expect(capture.requests).to.have.length(1);
      const body = capture.requests[0].json;
      expect(body.sign).to.equal(feishuSign(secret, Number(body.timestamp)));
      expect(body).to.include({ msg_type: 'text' });
      expect((await alerts.outbox.deliveries({ incidentId: 'inc-3' }))[0].state).to.equal('failed');
    });

    it('when 200 messages queue for one WeCom robot, then no rolling 60 s holds more than 20 sends, every text fits 2,048 bytes and the digests add up', async () => {
      const id = await channel({ kind: 'wecom', name: 'wecom burst', secrets: { webhookUrl: `${capture.url}/cgi-bin/webhook/send?key=k` } });
      const start = t;
      // 100 at once, then one a second for 100 s, the dispatcher passing every second for 6 minutes
      await alerts.outbox.enqueue(Array.from({ length: 100 }, (_, i) => ({ incidentId: `burst-${i}`, revision: 1, channelId: id, message: msg(i) })));
      for (let s = 0; s < 360; s++) {
        if (s < 100) await alerts.outbox.enqueue([{ incidentId: `trickle-${s}`, revision: 1, channelId: id, message: msg(1000 + s, s % 5 === 0 ? 'resolved' : 'firing') }]);
        await alerts.dispatcher.runOnce();
        t += 1000;
      }
      const sends = capture.requests;
      for (const r of sends) {
        const inWindow = sends.filter((o) => o.at > r.at - 60_000 && o.at <= r.at).length;
        expect(inWindow, `sends in the 60 s before ${r.at - start} ms`).to.be.at.most(20);
        expect(bytes(r.json.text.content as string)).to.be.at.most(2048);
      }
      let total = 0;
      let digests = 0;
      for (const r of sends) {
        const m = /合并 (\d+) 条通知/.exec(r.json.text.content as string);
        if (m) digests += 1;
        total += m ? Number(m[1]) : 1;
      }
      expect(total).to.equal(200);
      expect(digests).to.be.greaterThan(0);
      expect(sends.length).to.be.lessThan(60);
      const rows = await rowsOf(id);
      expect(rows.filter((r) => r.digestOf === 0).every((r) => r.state === 'delivered')).to.equal(true);
      expect(rows.filter((r) => r.digestOf > 0).reduce((n, r) => n + r.digestOf, 0)).to.equal(total - sends.filter((r) => !/合并/.test(r.json.text.content as string)).length);
    });

    it('when a webhook channel has a proxy, then the request goes through it and the receiver can verify the signature', async () => {
      const proxy = await testProxy();
      try {
        const secret = 'proxy-hook-secret-0123456789';
        const id = await channel({ kind: 'webhook', name: 'via proxy', proxyUrl: proxy.url, settings: { url: `${capture.url}/vigil` }, secrets: { secret } });
        const [{ key }] = await alerts.outbox.enqueue([{ incidentId: 'inc-proxy', revision: 3, channelId: id, message: msg(7) }]);
        await alerts.dispatcher.runOnce();
        expect(proxy.tunnels).to.deep.equal([`127.0.0.1:${capture.port}`]);
        const req = capture.requests[0];
        expect(req.headers['x-vigil-idempotency-key']).to.equal(key);
        const ts = String(req.headers['x-vigil-timestamp']);
        const expected = `sha256=${crypto.createHmac('sha256', secret).update(`${ts}.${req.body}`).digest('hex')}`;
        expect(req.headers['x-vigil-signature']).to.equal(expected);
        expect(req.json).to.include({ key, incidentId: 'inc-proxy', revision: 3, type: 'alert' });
        expect(req.json.text).to.match(/^【告警】/);
        expect((await alerts.outbox.deliveries({ incidentId: 'inc-proxy' }))[0].state).to.equal('delivered');
      } finally {
        await proxy.close();
      }
    });

    it('when an SMS gateway template is configured, then the gateway gets the phones and text escaped as JSON and its success check decides', async () => {
      const id = await channel({
        kind: 'sms',
        name: 'sms gw',
        settings: {
          url: `${capture.url}/sms/send?ts={{timestamp}}`,
          headers: { 'X-Token': '{{secret}}' },
          bodyTemplate: '{"mobiles":"{{phones}}","content":"{{text}}","bizId":"{{key}}"}',
          phoneNumbers: ['13800000000', '13900000000'],
          maxChars: 70,
          success: { jsonField: 'result.code', jsonEquals: '0' },
        },
        secrets: { secret: 'gw-token' },
      });
      capture.reply = (r) => ({ body: r.json.mobiles ? { result: { code: 0 } } : { result: { code: 1 } } });
      const [{ key }] = await alerts.outbox.enqueue([{ incidentId: 'inc-sms', revision: 1, channelId: id, message: msg(8) }]);
      await alerts.dispatcher.runOnce();
      const req = capture.requests[0];
      expect(req.headers['x-token']).to.equal('gw-token');
      expect(req.json).to.include({ mobiles: '13800000000,13900000000', bizId: key });
      expect([...(req.json.content as string)].length).to.be.at.most(70);
      expect(req.json.content).to.match(/^【告警】站前街道/);
      expect((await alerts.outbox.deliveries({ incidentId: 'inc-sms' }))[0].state).to.equal('delivered');
    });

    it('when an e-mail channel sends through smtp-server, then the mail arrives with a Chinese subject and the idempotency key', async () => {
      const mails: Array<{ from: string; to: string[]; data: string; user: string | undefined }> = [];
      const smtp = new SMTPServer({
        disabledCommands: ['STARTTLS'],
        allowInsecureAuth: true,
        onAuth(auth, _session, cb) {
          if (auth.username === 'vigil' && auth.password === 'smtp-pass') cb(null, { user: 'vigil' });
          else cb(new Error('bad credentials'));
        },
        onData(stream, session, cb) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks).toString('utf8'), user: session.user as string | undefined });
            cb();
          });
        },
      });
      await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
      try {
        const port = (smtp.server.address() as AddressInfo).port;
        const id = await channel({ kind: 'email', name: 'mail', settings: { host: '127.0.0.1', port, username: 'vigil', from: 'vigil@example.test', to: ['duty@example.test'] }, secrets: { password: 'smtp-pass' } });
        const [{ key }] = await alerts.outbox.enqueue([{ incidentId: 'inc-mail', revision: 1, channelId: id, message: msg(9) }]);
        await alerts.dispatcher.runOnce();
        expect(mails).to.have.length(1);
        expect(mails[0]).to.deep.include({ from: 'vigil@example.test', to: ['duty@example.test'], user: 'vigil' });
        expect(mails[0].data).to.include(`X-Vigil-Idempotency-Key: ${key}`);
        expect(mails[0].data).to.include(`Message-ID: <${key}@vigil>`);
        expect(mails[0].data).to.match(/^Subject: =\?UTF-8\?/m);
        expect((await alerts.outbox.deliveries({ incidentId: 'inc-mail' }))[0].state).to.equal('delivered');

        await admin.patch(`/channels/${id}`, { secrets: { password: 'wrong' } });
        await alerts.outbox.enqueue([{ incidentId: 'inc-mail', revision: 2, channelId: id, message: msg(9, 'resolved') }]);
        await alerts.dispatcher.runOnce();
        expect((await alerts.outbox.deliveries({ incidentId: 'inc-mail', revision: 2 }))[0].state).to.equal('failed');
      } finally {
        await new Promise<void>((resolve) => smtp.close(() => resolve()));
      }
    });

    it('when a webhook keeps answering 503, then retries back off exponentially up to the cap and the row becomes a dead letter after the configured attempts', async () => {
      const cfg = { ...app.ctx.config, ALERTS_RETRY_BASE_MS: 1000, ALERTS_RETRY_MAX_MS: 4000, ALERTS_DEAD_AFTER_ATTEMPTS: 5 };
      const strict = await createAlerts({ ...app.ctx, config: cfg, openapi: new OpenApiRegistry() }, { audit: app.registry.audit, clock: () => t });
      const id = await channel({ kind: 'webhook', name: 'always busy', settings: { url: `${capture.url}/busy` }, secrets: { secret: 'busy-secret-0123456789abc' } });
      capture.reply = () => ({ status: 503 });
      await strict.outbox.enqueue([{ incidentId: 'inc-dead', revision: 1, channelId: id, message: msg(5) }]);
      const waits: number[] = [];
      for (let i = 0; i < 5; i++) {
        await strict.dispatcher.runOnce();
        const [row] = await strict.outbox.deliveries({ incidentId: 'inc-dead' });
        if (row.nextAttemptAt) waits.push(Date.parse(row.nextAttemptAt) - t);
        t += 4000;
      }
      expect(waits).to.deep.equal([1000, 2000, 4000, 4000]);
      t += 60_000;
      await strict.dispatcher.runOnce();
      expect(capture.requests).to.have.length(5);
      const dead = await admin.get(`/channels/${id}/deliveries?state=dead`);
      expect(dead.status).to.equal(200);
      expect(dead.body.items).to.have.length(1);
      expect(dead.body.items[0]).to.include({ incidentId: 'inc-dead', attempts: 5, lastError: 'HTTP 503' });
      const ch = (await admin.get(`/channels/${id}`)).body;
      expect(ch.queue).to.include({ dead: 1, pending: 0 });
      expect(ch.health).to.include({ healthy: true, consecutiveFailures: 5 });
    });

    it('when the process died after marking rows for a digest but before writing the digest, then the rows go back to pending and are sent', async () => {
      const id = await channel({ kind: 'wecom', name: 'orphans', secrets: { webhookUrl: `${capture.url}/cgi-bin/webhook/send?key=o` } });
      await alerts.outbox.enqueue([1, 2].map((n) => ({ incidentId: `orphan-${n}`, revision: 1, channelId: id, message: msg(n) })));
      // what sendDigest leaves behind when killed between its two writes
      await alerts.outbox.model.collection.updateMany({ channelId: id }, { $set: { state: 'merged', mergedInto: 'vgl-digest-never-written', updatedAt: new Date(t) } });
      await alerts.dispatcher.runOnce();
      expect(capture.requests, 'not before a lease has passed').to.have.length(0);
      t += app.ctx.config.ALERTS_LEASE_MS + 1;
      await alerts.dispatcher.runOnce();
      await alerts.dispatcher.runOnce();
      expect(capture.requests).to.have.length(2);
      expect((await rowsOf(id)).map((r) => r.state)).to.deep.equal(['delivered', 'delivered']);
    });

    it('when the same (incident, revision, channel) is enqueued twice, then there is one row under one key', async () => {
      const id = await channel({ kind: 'wecom', name: 'dedupe', secrets: { webhookUrl: `${capture.url}/cgi-bin/webhook/send?key=d` } });
      const a = await alerts.outbox.enqueue([{ incidentId: 'inc-dup', revision: 1, channelId: id, message: msg(1) }]);
      const b = await alerts.outbox.enqueue([{ incidentId: 'inc-dup', revision: 1, channelId: id, message: msg(1) }]);
      expect(a[0]).to.deep.equal({ key: a[0].key, created: true });
      expect(b[0]).to.deep.equal({ key: a[0].key, created: false });
      expect(await alerts.outbox.deliveries({ incidentId: 'inc-dup' })).to.have.length(1);
    });
  });
});
