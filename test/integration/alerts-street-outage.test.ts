import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import { alertsOf, createAlerts, type Alerts } from '../../server/src/alerts';
import { createLogger } from '../../server/src/lib/logger';
import { OpenApiRegistry } from '../../server/src/lib/openapi';
import { monitoringOf } from '../../server/src/monitoring';
import type { Transition } from '../../server/src/monitoring/events';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { loginAs } from '../helpers/auth';
import type { ApiClient } from '../helpers/http';
import { busiestMinute, messageTotals, robot, robotContent, type Robot } from '../helpers/robots';
import { cameraDoc } from '../fixtures/polling';

const POINTS = 5000;
const COMMUNITIES = 10;
const GRIDS_PER_COMMUNITY = 10;
const GRIDS = COMMUNITIES * GRIDS_PER_COMMUNITY;

/**
 * Done-when "street outage under robot limits": 5,000 points of one street go DOWN within 60 s and the
 * street's policy (grouped by grid: 100 incidents) speaks to one WeCom and one DingTalk robot, each a local
 * server with the real robot's limits and replies (test/helpers/robots.ts).
 *
 * How it is driven, and why: confirmed DOWN transitions are emitted on the app's real monitoring change
 * feed into the real incident service, whose notices go through the real outbox and the real dispatcher to
 * the robots over HTTP. Polling 5,000 simulated cameras in real time would spend the suite's budget on
 * monitoring (tested elsewhere) and, above all, the robots' limits are per 60 s: seeing several windows
 * fill and drain takes 15 minutes of robot time. So the alerting side runs on an injected clock (the
 * `clock` of createAlerts: outbox, dispatcher, rate windows, signatures) that the test advances 1 s per
 * step, the incident engine is ticked with the same clock, and the robots stamp requests with it. The
 * limits themselves are not scaled: they are the robots' (20 a minute), so the test checks the real
 * numbers. The app's own incident service is stopped so only the clocked one follows the feed; the
 * clock runs a day ahead of the wall clock, so the service's own 10 s timer (wall time) finds nothing due.
 */
describe('alerts: a street outage under the robots\' rate limits', function () {
  this.timeout(240_000);
  let app: TestApp;
  let admin: ApiClient;
  let alerts: Alerts;
  let wecom: Robot;
  let dingtalk: Robot;
  const log: string[] = [];
  let t = Date.now() + 86_400_000;
  const street = new ObjectId();
  const gridIds: ObjectId[] = [];
  const communityOf = new Map<string, ObjectId>();
  const points: Array<{ id: string; regionId: string }> = [];
  let wecomId = '';
  let dingtalkId = '';

  before(async () => {
    app = await bootAuthApp({ MONITOR_ENABLED: 'false', ALERTS_TICK_MS: '10000' });
    admin = await loginAs(app, bootAdmin);
    const db = app.ctx.store.conn.db;
    if (!db) throw new Error('store not connected');
    const district = new ObjectId();
    const communities = Array.from({ length: COMMUNITIES }, () => new ObjectId());
    await db.collection('regions').insertMany([
      { _id: district, name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null },
      { _id: street, name: '站前街道', tier: 'street', parentId: district, code: null, households: null, boundary: null },
      ...communities.map((c, i) => ({ _id: c, name: `第${i + 1}社区`, tier: 'community', parentId: street, code: null, households: 550, boundary: null })),
    ]);
    const grids = communities.flatMap((c, ci) =>
      Array.from({ length: GRIDS_PER_COMMUNITY }, (_, gi) => {
        const _id = new ObjectId();
        gridIds.push(_id);
        communityOf.set(_id.toHexString(), c);
        return { _id, name: `第${ci + 1}社区第${gi + 1}网格`, tier: 'grid', parentId: c, code: null, households: 550, boundary: null };
      }),
    );
    await db.collection('regions').insertMany(grids);
    const docs = Array.from({ length: POINTS }, (_, i) => {
      const grid = gridIds[i % GRIDS];
      const regionId = communityOf.get(grid.toHexString()) as ObjectId;
      const d: Record<string, unknown> = { ...cameraDoc({ host: `127.30.${i >> 8}.${i & 255}`, kind: 'tcp', rtspPort: 554, httpPort: 80 }), regionId, gridId: grid, name: `站前街道${i + 1}号点位`, maintainer: { org: '某安防公司', contact: '', phone: '' } };
      points.push({ id: (d._id as ObjectId).toHexString(), regionId: regionId.toHexString() });
      return d;
    });
    await db.collection('cameras').insertMany(docs);
    await app.registry.regions.reload();

    wecom = await robot('wecom', { clock: () => t });
    dingtalk = await robot('dingtalk', { clock: () => t, secret: 'SECstreet-outage-0123456789', keyword: '视频告警' });
    const ch1 = await admin.post('/channels', { kind: 'wecom', name: '街道企业微信群', settings: { msgtype: 'text' }, secrets: { webhookUrl: wecom.webhookUrl } });
    expect(ch1.status, JSON.stringify(ch1.body)).to.equal(201);
    wecomId = ch1.body.id as string;
    const ch2 = await admin.post('/channels', {
      kind: 'dingtalk',
      name: '街道钉钉群',
      settings: { msgtype: 'markdown', keyword: '视频告警' },
      secrets: { webhookUrl: dingtalk.webhookUrl, secret: 'SECstreet-outage-0123456789' },
    });
    expect(ch2.status, JSON.stringify(ch2.body)).to.equal(201);
    dingtalkId = ch2.body.id as string;
    const policy = await admin.post('/alert-policies', {
      name: '站前街道 按网格',
      match: { regionIds: [street.toHexString()] },
      groupBy: 'grid',
      groupWaitSec: 30,
      groupIntervalSec: 300,
      receivers: [
        { kind: 'channel', id: wecomId },
        { kind: 'channel', id: dingtalkId },
      ],
    });
    expect(policy.status, JSON.stringify(policy.body)).to.equal(201);

    // only the clocked incident service follows the feed from here on
    await alertsOf(app.ctx).incidents.stop();
    const logger = createLogger('debug', {}, (line) => log.push(line));
    alerts = await createAlerts({ ...app.ctx, logger, openapi: new OpenApiRegistry() }, { registry: app.registry, monitoring: monitoringOf(app.ctx), audit: app.registry.audit, clock: () => t });
    await alerts.incidents.start();
  });
  after(async () => {
    await alerts?.incidents.stop();
    await wecom?.close();
    await dingtalk?.close();
    await app?.close();
  });

  const seq = new Map<string, number>();
  function emit(p: { id: string; regionId: string }, to: 'DOWN' | 'UP'): void {
    const n = (seq.get(p.id) ?? 1) + 1;
    seq.set(p.id, n);
    const transition: Transition = {
      id: `${p.id}:${n}`,
      cameraId: p.id,
      regionId: p.regionId,
      seq: n,
      from: to === 'DOWN' ? 'UP' : 'DOWN',
      to,
      at: new Date(t),
      reason: to === 'DOWN' ? 'connect ECONNREFUSED' : null,
      rttMs: null,
      flapping: false,
      failingSince: to === 'DOWN' ? new Date(t - 15_000) : null,
    };
    monitoringOf(app.ctx).feed.emit(transition);
  }

  /** One second of the alerting side: the incident clock, then a dispatcher pass. */
  async function step(ms = 1000): Promise<void> {
    t += ms;
    await alerts.incidents.tick(t);
    await alerts.dispatcher.runOnce();
  }

  /** Totals of what the robot got since request `from`; the limits checked over everything it got. */
  function check(r: Robot, phase: string, from = 0): { messages: number; points: number; firing: number; resolved: number; digests: number } {
    const sum = { messages: 0, points: 0, firing: 0, resolved: 0, digests: 0 };
    for (const reply of r.replies.slice(from)) {
      const tot = messageTotals(reply.content);
      sum.messages += tot.messages;
      sum.points += tot.points;
      sum.firing += tot.firing;
      sum.resolved += tot.resolved;
      if (tot.digest) sum.digests += 1;
    }
    expect(busiestMinute(r.requests), `${r.kind} (${phase}): sends in the busiest rolling 60 s`).to.be.at.most(20);
    const max = r.kind === 'wecom' ? 2048 : 4096;
    for (const reply of r.replies) expect(reply.bytes, `${r.kind} message size`).to.be.at.most(max);
    expect(r.replies.filter((x) => x.errcode !== 0).map((x) => `${x.errcode} ${x.errmsg}`), `${r.kind} answered only errcode 0`).to.deep.equal([]);
    return sum;
  }

  it('when 5,000 points of one street go DOWN within 60 s, then each robot gets its first message within 60 s, ≤ 20 sends in any 60 s, every message within its byte limit, and the totals add up to 5,000', async () => {
    const start = t;
    // the street loses power: 5,000 confirmations over 60 s (monitoring confirms each after its own retries)
    for (let s = 0; s < 60; s++) {
      for (let i = Math.floor((s * POINTS) / 60); i < Math.floor(((s + 1) * POINTS) / 60); i++) emit(points[i], 'DOWN');
      await step();
    }
    // 15 minutes of robot time: firing after groupWait, updates after groupInterval, digests for the overflow;
    // 1 s steps through the first messages, then 5 s steps (the dispatcher only sends at its passes, so the
    // windows are checked the same way; fewer passes keep the test's wall time small)
    for (let s = 0; s < 60; s++) await step();
    for (let s = 0; s < 156; s++) await step(5000);

    for (const r of [wecom, dingtalk]) {
      expect(r.requests.length, `${r.kind} got messages`).to.be.greaterThan(0);
      expect(r.requests[0].at - start, `${r.kind}: first message within 60 s of the first DOWN`).to.be.at.most(60_000);
      const sum = check(r, 'outage');
      expect(sum.points, `${r.kind}: points named across its messages and digests`).to.equal(POINTS);
      expect(sum.resolved).to.equal(0);
      expect(sum.digests, `${r.kind}: the overflow went out as digests`).to.be.greaterThan(0);
      const rows = await alerts.outbox.deliveries({ channelId: r === wecom ? wecomId : dingtalkId, limit: 5000 });
      const alertRows = rows.filter((x) => x.digestOf === 0);
      expect(sum.messages, `${r.kind}: messages in singles and digests = its outbox rows`).to.equal(alertRows.length);
      expect(alertRows.length, `${r.kind}: rows bounded by the ${GRIDS} groups, not the ${POINTS} points`).to.be.within(GRIDS, 2 * GRIDS);
      expect(rows.filter((x) => x.state !== 'delivered').map((x) => x.state), `${r.kind}: every row delivered`).to.deep.equal([]);
    }
    const incidents = alerts.incidents.engine.openIncidents();
    expect(incidents).to.have.length(GRIDS);
    expect(incidents.every((i) => i.announced)).to.equal(true);

    const sends = log.filter((l) => l.includes('outbox send'));
    expect(sends.length, 'one log line per send').to.equal(wecom.requests.length + dingtalk.requests.length);
    expect(log.filter((l) => /45009|130101|freq out of limit|too fast/.test(l)), 'no rate-limit reply in the log').to.deep.equal([]);
  });

  it('when the street comes back, then the messages naming points back add up to 5,000, still within the limits', async () => {
    const from = new Map<Robot, number>([
      [wecom, wecom.requests.length],
      [dingtalk, dingtalk.requests.length],
    ]);
    expect(from.get(wecom)).to.be.greaterThan(0);
    for (let s = 0; s < 30; s++) {
      for (let i = Math.floor((s * POINTS) / 30); i < Math.floor(((s + 1) * POINTS) / 30); i++) emit(points[i], 'UP');
      await step();
    }
    for (let s = 0; s < 60; s++) await step();
    for (let s = 0; s < 108; s++) await step(5000);
    for (const r of [wecom, dingtalk]) {
      const first = from.get(r) ?? 0;
      const sum = check(r, 'recovery', first);
      expect(sum.firing, `${r.kind}: nothing firing on the way back`).to.equal(0);
      // per incident: its resolved message, and at most one update naming the first points back before it
      expect(sum.resolved, `${r.kind}: messages naming points back`).to.be.within(GRIDS, 2 * GRIDS);
      expect(sum.points, `${r.kind}: points named back`).to.equal(POINTS);
      expect(r.requests.length - first, `${r.kind}: far fewer sends than messages`).to.be.below(GRIDS / 2);
      expect(robotContent(r.requests[first])).to.match(/【恢复】|恢复 \d+ 条/);
      const rows = await alerts.outbox.deliveries({ channelId: r === wecom ? wecomId : dingtalkId, limit: 5000 });
      expect(rows.filter((x) => x.state !== 'delivered').map((x) => x.state), `${r.kind}: every row delivered`).to.deep.equal([]);
    }
    expect(alerts.incidents.engine.openIncidents()).to.have.length(0);
    expect(log.filter((l) => /45009|130101|freq out of limit|too fast/.test(l)), 'no rate-limit reply in the log').to.deep.equal([]);
  });
});
