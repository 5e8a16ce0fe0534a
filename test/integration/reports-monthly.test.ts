import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { SMTPServer } from 'smtp-server';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import { Calendar, monthsBefore } from '../../server/src/lib/calendar';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { loginAs } from '../helpers/auth';
import { captureServer, type CaptureServer } from '../helpers/receivers';
import { writeMonth } from '../fixtures/month-docs';

/** The month whose grace period (24 h after its end in Asia/Shanghai) has passed last: the one the job closes. */
const month = monthsBefore(new Calendar('Asia/Shanghai').dayOf(Date.now() - 24 * 3_600_000).month, 1);

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The text of a single-part mail as nodemailer writes it (base64 or quoted-printable UTF-8). */
function textOf(raw: string): string {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split);
  const body = raw.slice(split + 4);
  if (/^Content-Transfer-Encoding: base64/im.test(head)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/^Content-Transfer-Encoding: quoted-printable/im.test(head)) {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/**
 * The scheduled monthly report end to end: the app runs its own node-cron job (every second here, in
 * REPORT_TZ) and its own outbox dispatcher; the job closes the latest month whose 24 h grace period has
 * passed and queues one message per configured channel; the dispatcher delivers it to a real local SMTP
 * server (smtp-server) and a WeCom robot stand-in (test/helpers/receivers.ts). Later runs queue nothing new.
 */
describe('scheduled monthly assessment report through the alerts channels (node-cron, outbox, real receivers)', function () {
  this.timeout(120_000);
  let app: TestApp;
  let mailChannel = '';
  let robot: CaptureServer;
  let smtp: SMTPServer;
  let smtpPort = 0;
  const mails: Array<{ to: string[]; data: string }> = [];

  before(async () => {
    robot = await captureServer();
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((x) => x.address), data: Buffer.concat(chunks).toString('utf8') });
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    smtpPort = (smtp.server.address() as AddressInfo).port;

    // first run of the deployment: the registry, the month's history and the channels, the schedule off
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-monthly-'));
    const setup = await bootAuthApp({ MONITOR_ENABLED: 'false', DATA_DIR: dataDir });
    try {
      const d = await setup.registry.regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' });
      const ids: string[] = [];
      for (const [i, org] of ['甲维保公司', '乙维保公司'].entries()) {
        const input = cameraInputSchema.parse({
          gbCode: `2103020000132000000${i + 1}`,
          name: `点位${i + 1}`,
          regionId: d.id,
          address: '地址',
          endpoint: { host: `127.44.0.${i + 1}` },
          sharing: 'all',
          maintainer: { org, contact: '张工', phone: '13900000000' },
        });
        const id = (await setup.registry.cameras.create(fixture, stripEcho(input))).id;
        ids.push(id);
      }
      await writeMonth(setup.ctx.store.conn, month, ids.map((id) => ({ id })));
      const admin = await loginAs(setup, bootAdmin);
      const mail = await admin.post('/channels', { kind: 'email', name: '考核邮件', settings: { host: '127.0.0.1', port: smtpPort, from: 'vigil@example.test', to: ['planner@example.test'] } });
      expect(mail.status, JSON.stringify(mail.body)).to.equal(201);
      mailChannel = mail.body.id as string;
      const wecom = await admin.post('/channels', { kind: 'wecom', name: '运维群机器人', secrets: { webhookUrl: `${robot.url}/cgi-bin/webhook/send?key=k1` } });
      expect(wecom.status, JSON.stringify(wecom.body)).to.equal(201);
    } finally {
      await setup.close({ keepData: true });
    }

    // the next start: the job runs at once (node-cron replays nothing missed) and then every second
    app = await bootAuthApp({
      MONITOR_ENABLED: 'false',
      DATA_DIR: dataDir,
      REPORT_MONTHLY_ENABLED: 'true',
      REPORT_CLOSE_CRON: '* * * * * *',
      REPORT_MONTHLY_CHANNELS: '考核邮件,运维群机器人',
      ALERTS_DISPATCH_ENABLED: 'true',
      ALERTS_DISPATCH_TICK_MS: '100',
    });
  });
  after(async () => {
    await app?.close();
    if (app) fs.rmSync(app.dataDir, { recursive: true, force: true });
    await robot?.close();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  });

  it('when the app starts after a month closed, then that month reaches the mailbox and the robot once, with a console link', async () => {
    const text = `${Math.floor(month / 100)}-${String(month % 100).padStart(2, '0')}`;
    const link = `${app.baseUrl}/assessment?month=${text}`;

    const got = await until('the e-mail', () => mails[0]);
    expect(got.to).to.deep.equal(['planner@example.test']);
    expect(got.data).to.match(/^Subject: =\?UTF-8\?/m);
    const body = textOf(got.data);
    expect(body).to.include('【报表】');
    expect(body).to.include(link);
    const req = await until('the robot', () => robot.requests[0]);
    const content = (req.json as { msgtype: string; text: { content: string } }).text.content;
    expect(content).to.include('【报表】');
    expect(content).to.include(`${Math.floor(month / 100)}年${month % 100}月 维保考核表已关账`);
    expect(content).to.include('维保单位 2 家：合格 2，一般 0，不合格 0');
    expect(content).to.include(link);

    // the job keeps running every second: nothing is queued or sent twice
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(mails).to.have.length(1);
    expect(robot.requests).to.have.length(1);
    const admin = await loginAs(app, bootAdmin);
    const status = (await admin.get(`/reports/assessment?month=${text}`)).body as { status: { state: string; version: number }; summary: { points: number } };
    expect(status.status).to.include({ state: 'closed', version: 1 });
    expect(status.summary.points).to.equal(2);
    const deliveries = (await admin.get(`/channels/${mailChannel}/deliveries`)).body as { items: Array<{ state: string; incidentId: string; revision: number }> };
    expect(deliveries.items.map((x) => [x.incidentId, x.revision, x.state])).to.deep.equal([[`report:assessment:${text}`, 1, 'delivered']]);
  });
});
