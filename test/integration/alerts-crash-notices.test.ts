import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { alertsOf } from '../../server/src/alerts';
import { NOTICE_TITLES } from '../../server/src/alerts/incidents/messages';
import { alertPolicyModel, incidentModel } from '../../server/src/alerts/incidents/model';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import type { NoticeKind } from '../../server/src/contracts/incidents';
import { monitoringOf } from '../../server/src/monitoring';
import { bootApp, type TestApp } from '../helpers/app';
import { anonymous } from '../helpers/http';
import { runTs } from '../helpers/process';
import { captureServer, type CaptureServer } from '../helpers/receivers';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Received {
  path: string;
  key: string;
  kind: NoticeKind | 'other';
  at: number;
}

/**
 * kill -9 between "the incident is stored as having announced X" and "the outbox holds X": the incident
 * engine decides a message (firing, escalation step, reminder, resolved), and the process dies right after
 * the store acknowledged one of the two writes. A restarted app must still send that message, exactly once.
 * Before the fix the incident was written first and the outbox rows after it: a kill in between left an
 * incident stored as announced (or resolved, or escalated) with no row, and after the restart nobody sent it.
 *
 * One incident lives through five processes, each killed at one point (test/fixtures/alerts-crash-child.ts),
 * then a sixth (in-process) app runs on the same data directory until the last message is delivered. The
 * policy pages a second channel 2 s after the first message and repeats every 3 s (stored directly: the API's
 * floor is 60 s; the engine takes what is stored).
 */
describe('alerts: no message lost or doubled when the process dies between the incident write and the outbox', function () {
  this.timeout(600_000);
  let root: string;
  let receiver: CaptureServer;
  let app: TestApp | undefined;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-alerts-crash-notices-'));
    receiver = await captureServer({ reply: () => ({ status: 200, body: { ok: true } }) });
  });
  after(async () => {
    await app?.close({ keepData: true });
    await receiver?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('when killed after the incident write (firing, escalation, reminder, resolved) or after the outbox write (reminder), then after each restart every message arrives exactly once', async () => {
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(dataDir);
    const setup = await bootApp({ AUTH_MODE: 'open', DATA_DIR: dataDir, MONITOR_ENABLED: 'false' });
    const { regions, cameras } = setup.registry;
    const district = (await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    const camera = await cameras.create(
      fixture,
      stripEcho(
        cameraInputSchema.parse({
          gbCode: '21030200001320000001',
          name: '站前点位',
          regionId: district,
          endpoint: { host: '127.33.0.1', rtspPort: 554 },
          sharing: 'all',
          maintainer: { org: '某安防公司', contact: '', phone: '' },
        }),
      ),
    );
    const api = anonymous(setup);
    const channel: Record<string, string> = {};
    for (const name of ['group', 'lead']) {
      const res = await api.post('/channels', { kind: 'webhook', name, settings: { url: `${receiver.url}/${name}` }, secrets: { secret: `secret-of-${name}-0123456789abcdef` } });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      channel[name] = res.body.id as string;
    }
    const policy = await api.post('/alert-policies', {
      name: '崩溃测试',
      match: { regionIds: [district] },
      groupWaitSec: 0,
      groupIntervalSec: 1,
      receivers: [{ kind: 'channel', id: channel.group }],
      escalation: { steps: [{ afterSec: 2, receivers: [{ kind: 'channel', id: channel.lead }] }] },
    });
    expect(policy.status, JSON.stringify(policy.body)).to.equal(201);
    await alertPolicyModel(setup.ctx.store.conn).updateOne({}, { $set: { repeatIntervalSec: 3 } });
    await setup.close({ keepData: true });

    const runs: Array<{ crashAt: string; emit?: 'down' | 'up' }> = [
      { crashAt: 'incident-write:firing', emit: 'down' },
      { crashAt: 'incident-write:escalation' },
      { crashAt: 'incident-write:reminder' },
      { crashAt: 'outbox-write:reminder' },
      { crashAt: 'incident-write:resolved', emit: 'up' },
    ];
    const crashes: number[] = [];
    for (const run of runs) {
      const child = runTs('test/fixtures/alerts-crash-child.ts', [], { DATA_DIR: dataDir, CRASH_AT: run.crashAt, EMIT: run.emit ?? '', CAMERA_ID: camera.id, REGION_ID: district });
      const m = await child.waitFor(/CRASH \S+ \S+ at=(\d+)/, 180_000);
      expect((await child.exited).signal, child.output()).to.equal('SIGKILL');
      crashes.push(Number(m[1]));
    }

    const titles = Object.entries(NOTICE_TITLES) as Array<[NoticeKind, string]>;
    const received = (): Received[] =>
      receiver.requests.map((r) => {
        const body = r.json as { messages: Array<{ title: string; at: string }> };
        const msg = body.messages[0];
        return {
          path: r.url.slice(1),
          key: String(r.headers['x-vigil-idempotency-key']),
          kind: titles.find(([, t]) => msg.title.startsWith(t))?.[0] ?? 'other',
          at: Date.parse(msg.at),
        };
      });
    const resolvedAt = (p: string): number => received().filter((m) => m.path === p && m.kind === 'resolved').length;

    app = await bootApp({ AUTH_MODE: 'open', DATA_DIR: dataDir, MONITOR_ENABLED: 'false', ALERTS_TICK_MS: '50', ALERTS_DISPATCH_ENABLED: 'true', ALERTS_DISPATCH_TICK_MS: '100' });
    await until(() => resolvedAt('group') >= 1 && resolvedAt('lead') >= 1, 60_000, 'the resolved messages').catch(() => undefined);
    // a few more dispatcher passes and lease periods: nothing else may arrive
    await new Promise((r) => setTimeout(r, 3000));

    const got = received();
    const count = (p: string, kind: NoticeKind, from = 0, to = Infinity): number => got.filter((m) => m.path === p && m.kind === kind && m.at > from && m.at <= to).length;
    const keys = got.map((m) => m.key);
    // killed after the incident write: firing (run 1), escalation (run 2), a reminder (run 3), resolved (run 5);
    // after the outbox write: a reminder (run 4)
    expect({
      firing: count('group', 'firing'),
      escalation: count('lead', 'escalation'),
      reminderOfRun3: count('group', 'reminder', crashes[1], crashes[2]),
      reminderOfRun4: count('group', 'reminder', crashes[2], crashes[3]),
      resolved: [count('group', 'resolved'), count('lead', 'resolved')],
    }).to.deep.equal({ firing: 1, escalation: 1, reminderOfRun3: 1, reminderOfRun4: 1, resolved: [1, 1] });
    expect(keys.length, `no idempotency key twice: ${JSON.stringify(got)}`).to.equal(new Set(keys).size);
    expect(got.filter((m) => m.kind === 'other')).to.deep.equal([]);

    const stored = await incidentModel(app.ctx.store.conn).collection.find({}).toArray();
    expect(stored.map((d): unknown[] => [d.state, d.pending, d.pendingSince])).to.deep.equal([['resolved', undefined, undefined]]);
  });
});

describe('alerts: a failed outbox write is retried by the next flush', function () {
  this.timeout(120_000);
  let app: TestApp | undefined;
  let receiver: CaptureServer | undefined;
  after(async () => {
    await app?.close();
    await receiver?.close();
  });

  it('when the outbox write of a firing message fails once, then the message still arrives, once', async () => {
    receiver = await captureServer({ reply: () => ({ status: 200, body: { ok: true } }) });
    app = await bootApp({ AUTH_MODE: 'open', MONITOR_ENABLED: 'false', ALERTS_TICK_MS: '50', ALERTS_DISPATCH_ENABLED: 'true', ALERTS_DISPATCH_TICK_MS: '100' });
    const district = (await app.registry.regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    const input = cameraInputSchema.parse({ gbCode: '21030200001320000002', name: '重试点位', regionId: district, endpoint: { host: '127.33.0.2', rtspPort: 554 }, sharing: 'all' });
    const camera = await app.registry.cameras.create(fixture, stripEcho(input));
    const api = anonymous(app);
    const hook = await api.post('/channels', { kind: 'webhook', name: 'group', settings: { url: `${receiver.url}/group` }, secrets: { secret: 'secret-of-group-0123456789abcdef' } });
    expect(hook.status, JSON.stringify(hook.body)).to.equal(201);
    const policy = await api.post('/alert-policies', { name: '重试', match: { regionIds: [district] }, groupWaitSec: 0, groupIntervalSec: 1, receivers: [{ kind: 'channel', id: hook.body.id as string }] });
    expect(policy.status, JSON.stringify(policy.body)).to.equal(201);

    const outbox = alertsOf(app.ctx).outbox;
    const enqueue = outbox.enqueue.bind(outbox);
    let failures = 0;
    outbox.enqueue = async (entries) => {
      if (failures === 0 && entries.length) {
        failures++;
        throw new Error('store unavailable for a moment');
      }
      return enqueue(entries);
    };
    const seq = Date.now();
    monitoringOf(app.ctx).feed.emit({ id: `${camera.id}:${seq}`, cameraId: camera.id, regionId: district, seq, from: 'UP', to: 'DOWN', at: new Date(), reason: null, rttMs: null, flapping: false, failingSince: null });
    await until(() => (receiver?.requests.length ?? 0) >= 1, 30_000, 'the firing message').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1500));
    expect(failures).to.equal(1);
    expect(receiver.requests.map((r) => (r.json as { messages: Array<{ title: string }> }).messages[0].title.startsWith(NOTICE_TITLES.firing))).to.deep.equal([true]);
  });
});
