import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { alertsOf } from '../../server/src/alerts';
import type { AlertMessageInput } from '../../server/src/contracts/alerts';
import { bootApp, type TestApp } from '../helpers/app';
import { anonymous } from '../helpers/http';
import { runTs } from '../helpers/process';
import { captureServer, type Captured, type CaptureServer } from '../helpers/receivers';

const message: AlertMessageInput = {
  title: '光明社区 NVR 离线',
  state: 'firing',
  points: [{ name: '光明社区 NVR', code: '21030200001180000001', regionPath: ['铁东区', '站前街道', '光明社区'], maintainer: '某安防公司', since: '2026-12-02T06:00:00Z' }],
  suppressed: 64,
  link: null,
  at: '2026-12-02T06:00:30Z',
};

/** Fast retries for the test: the receiver's "10 minutes of 500" become a few hundred milliseconds. */
const fastDispatch = {
  ALERTS_DISPATCH_ENABLED: 'true',
  ALERTS_DISPATCH_TICK_MS: '100',
  ALERTS_RETRY_BASE_MS: '100',
  ALERTS_RETRY_MAX_MS: '300',
  ALERTS_SEND_TIMEOUT_MS: '1000',
  ALERTS_LEASE_MS: '2000',
  MONITOR_ENABLED: 'false',
};

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * At-least-once across kill -9: a webhook receiver answers 500 for a while, the server process is killed
 * with a send in flight, and after the restart the receiver holds the notification exactly once; a
 * notification the other receiver had acknowledged before the kill is not sent again.
 */
describe('alerts: the outbox across kill -9', function () {
  this.timeout(300_000);
  let root: string;
  let receiver: CaptureServer;
  let app: TestApp | undefined;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-alerts-crash-'));
    receiver = await captureServer();
  });
  after(async () => {
    await app?.close({ keepData: true });
    await receiver?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('when the receiver fails and the server is killed mid-send, then after recovery each notification is acknowledged exactly once', async () => {
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(dataDir);
    const setup = await bootApp({ AUTH_MODE: 'open', DATA_DIR: dataDir, MONITOR_ENABLED: 'false' });
    const api = anonymous(setup);
    const hook = async (name: string, p: string): Promise<string> => {
      const res = await api.post('/channels', { kind: 'webhook', name, settings: { url: `${receiver.url}${p}` }, secrets: { secret: 'crash-test-secret-0123456789' } });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body.id as string;
    };
    const okId = await hook('healthy receiver', '/ok');
    const failId = await hook('failing receiver', '/fail');
    const [a, b] = await alertsOf(setup.ctx).outbox.enqueue([
      { incidentId: 'nvr-1', revision: 1, channelId: okId, message },
      { incidentId: 'nvr-1', revision: 1, channelId: failId, message },
    ]);
    await setup.close({ keepData: true });

    const acked: Captured[] = [];
    let failing = true;
    let hold: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (hold = resolve));
    let failAttempts = 0;
    receiver.reply = (req) => {
      if (req.url === '/fail' && failing) {
        failAttempts += 1;
        // the third attempt never gets an answer: the process dies with it in flight
        if (failAttempts === 3) return held.then(() => ({ status: 500 }));
        return { status: 500, body: { error: 'busy' } };
      }
      acked.push(req);
      return { status: 200, body: { ok: true } };
    };

    const child = runTs('server/src/main.ts', [], { NODE_ENV: 'test', AUTH_MODE: 'open', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...fastDispatch });
    await child.waitFor(/Vigil is running/, 120_000);
    await until(() => failAttempts >= 3, 60_000, 'three attempts at the failing receiver');
    child.child.kill('SIGKILL');
    expect((await child.exited).signal).to.equal('SIGKILL');
    hold?.();
    failing = false;
    const beforeRestart = receiver.requests.length;
    expect(acked.map((r) => r.headers['x-vigil-idempotency-key'])).to.deep.equal([a.key]);

    app = await bootApp({ AUTH_MODE: 'open', DATA_DIR: dataDir, ...fastDispatch });
    await until(() => acked.some((r) => r.url === '/fail'), 60_000, 'the failing receiver to acknowledge');
    // a few more lease periods and ticks: nothing else may arrive
    await new Promise((r) => setTimeout(r, 5000));

    const keys = acked.map((r) => r.headers['x-vigil-idempotency-key']);
    expect(keys.filter((k) => k === a.key), 'acknowledged before the kill, never resent').to.have.length(1);
    expect(keys.filter((k) => k === b.key), 'the failed one, acknowledged once').to.have.length(1);
    expect(receiver.requests.slice(beforeRestart).every((r) => r.url === '/fail')).to.equal(true);
    expect(receiver.requests.filter((r) => r.url === '/fail').every((r) => r.headers['x-vigil-idempotency-key'] === b.key)).to.equal(true);
    const rows = await alertsOf(app.ctx).outbox.deliveries({ incidentId: 'nvr-1' });
    expect(rows.map((r) => r.state)).to.deep.equal(['delivered', 'delivered']);
    const failed = rows.find((r) => r.key === b.key);
    expect(failed?.attempts).to.be.at.least(4);
  });
});
