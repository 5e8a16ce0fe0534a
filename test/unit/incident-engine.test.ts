import { expect } from 'chai';
import { alertPolicyInputSchema, type AlertPolicy, type AlertPolicyInput } from '../../server/src/contracts/incidents';
import { IncidentEngine, chainLengthSec, type AlertPoint, type Notice } from '../../server/src/alerts/incidents/engine';
import { RegionTree } from '../../server/src/regions/tree';

const DISTRICT = 'd00000000000000000000000';
const STREET_A = 'a00000000000000000000000';
const STREET_B = 'b00000000000000000000000';
const COMM_A = 'ca0000000000000000000000';
const COMM_B = 'cb0000000000000000000000';
const tree = new RegionTree([
  { id: DISTRICT, name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null },
  { id: STREET_A, name: '站前街道', tier: 'street', parentId: DISTRICT, code: '21030201', households: null },
  { id: STREET_B, name: '解放街道', tier: 'street', parentId: DISTRICT, code: '21030202', households: null },
  { id: COMM_A, name: '站前社区', tier: 'community', parentId: STREET_A, code: null, households: null },
  { id: COMM_B, name: '解放社区', tier: 'community', parentId: STREET_B, code: null, households: null },
]);

const hex = (n: number): string => n.toString(16).padStart(24, '0');
const USER_TECH = hex(0xaaa1);
const USER_LEAD = hex(0xaaa2);
const USER_DUTY = hex(0xaaa3);
const ROBOT = hex(0xbbb1);

class World {
  points = new Map<string, AlertPoint>();
  deps = new Map<string, string[]>();
  policies: AlertPolicy[] = [];
  silences: Array<{ ids: Set<string>; from: number; to: number }> = [];
  seq = 0;
  now = 1_750_000_000_000;
  notices: Notice[] = [];
  /** How many times the engine asked whether a point is silenced (it does for each speaking member it walks). */
  silenceLooks = 0;
  engine = new IncidentEngine({
    point: (id) => this.points.get(id),
    dependants: (id) => this.deps.get(id) ?? [],
    tree: () => tree,
    policies: () => this.policies,
    silenced: (p, at) => ++this.silenceLooks > 0 && this.silences.some((s) => s.ids.has(p.id) && at >= s.from && at < s.to),
    newId: () => hex(0xf00000 + ++this.seq),
  });

  addPoint(id: string, opts: Partial<AlertPoint> = {}): AlertPoint {
    const p: AlertPoint = { id, name: `点位${id.slice(-4)}`, gbCode: '21030200001320000001', regionId: COMM_A, gridId: null, upstreamId: null, org: '安讯科技', sharing: 'all', tags: [], ...opts };
    this.points.set(id, p);
    if (p.upstreamId) this.deps.set(p.upstreamId, [...(this.deps.get(p.upstreamId) ?? []), id]);
    return p;
  }

  policy(input: Partial<AlertPolicyInput> = {}): AlertPolicy {
    const p = { ...alertPolicyInputSchema.parse({ name: `policy ${this.policies.length + 1}`, receivers: [{ kind: 'channel', id: ROBOT }], ...input }), id: hex(0xc000 + this.policies.length) };
    this.policies = [...this.policies, p];
    return p;
  }

  /** Advances the clock in 1 s ticks (the service ticks every second). */
  advance(sec: number): void {
    for (let i = 0; i < sec; i++) {
      this.now += 1000;
      this.engine.tick(this.now);
      this.collect();
    }
  }

  collect(): Notice[] {
    const fx = this.engine.drain();
    this.notices.push(...fx.notices);
    return fx.notices;
  }
}

describe('incident engine', () => {
  it('NVR fan-out: the NVR and its 64 cameras DOWN within 20 s → 1 incident, 1 message naming the NVR with 64 suppressed; back: 1 resolved, then 1 firing for the 2 still down', () => {
    const w = new World();
    w.policy({ groupBy: 'upstream' });
    const nvr = hex(0x100);
    w.addPoint(nvr, { gbCode: '21030200001180000001' });
    const cams = Array.from({ length: 64 }, (_, i) => w.addPoint(hex(0x200 + i), { upstreamId: nvr }).id);
    // cameras notice first (their checks run before the NVR's), the NVR is confirmed 10 s in
    cams.forEach((c, i) => {
      if (i === 32) w.engine.down(nvr, w.now);
      w.engine.down(c, w.now);
      if (i % 4 === 3) w.advance(1);
    });
    w.advance(60);
    expect(w.notices).to.have.length(1);
    const first = w.notices[0];
    expect(first.kind).to.equal('firing');
    expect(first.firing).to.deep.equal([nvr]);
    expect(first.suppressed).to.equal(64);
    expect(first.receivers).to.deep.equal([{ kind: 'channel', id: ROBOT }]);
    expect(w.engine.openIncidents()).to.have.length(1);
    const incidentId = first.incidentId;

    w.advance(600);
    expect(w.notices, 'nothing more while it stays down (no reminder before repeatInterval)').to.have.length(1);
    w.engine.up(nvr, w.now);
    // 62 cameras reconnect within the next 15 s, 2 stay DOWN
    cams.slice(0, 62).forEach((c, i) => {
      w.engine.up(c, w.now);
      if (i % 5 === 4) w.advance(1);
    });
    w.advance(120);
    const later = w.notices.slice(1);
    expect(later.map((n) => n.kind)).to.deep.equal(['resolved', 'firing']);
    expect(later[0].incidentId).to.equal(incidentId);
    expect(later[0].ended).to.deep.equal([nvr]);
    expect(later[1].incidentId).to.not.equal(incidentId);
    expect(later[1].firing).to.have.members(cams.slice(62));
    expect(later[1].firing).to.have.length(2);
    expect(w.engine.openIncidents()).to.have.length(1);
  });

  it('a point back within groupWait says nothing, and the incident closes silently', () => {
    const w = new World();
    w.policy();
    const p = w.addPoint(hex(1)).id;
    w.engine.down(p, w.now);
    w.advance(10);
    w.engine.up(p, w.now);
    w.advance(60);
    expect(w.notices).to.have.length(0);
    expect(w.engine.openIncidents()).to.have.length(0);
  });

  it('groups by street: points of two streets make two incidents, one message each', () => {
    const w = new World();
    w.policy({ groupBy: 'street' });
    for (let i = 0; i < 5; i++) w.engine.down(w.addPoint(hex(10 + i), { regionId: COMM_A }).id, w.now);
    for (let i = 0; i < 3; i++) w.engine.down(w.addPoint(hex(20 + i), { regionId: COMM_B }).id, w.now);
    w.advance(31);
    expect(w.notices.map((n) => n.firing.length).sort()).to.deep.equal([3, 5]);
    expect(w.engine.openIncidents().map((i) => i.groupKey).sort()).to.deep.equal([STREET_A, STREET_B]);
  });

  it('a member joining after the first message is announced by one update, not before groupInterval', () => {
    const w = new World();
    w.policy({ groupBy: 'street', groupIntervalSec: 300 });
    w.engine.down(w.addPoint(hex(1)).id, w.now);
    w.advance(31);
    w.engine.down(w.addPoint(hex(2)).id, w.now);
    w.engine.down(w.addPoint(hex(3)).id, w.now);
    w.advance(200);
    expect(w.notices).to.have.length(1);
    w.advance(100);
    expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing', 'update']);
    expect(w.notices[1].firing).to.have.members([hex(2), hex(3)]);
  });

  it('silence then resolve: a firing incident silenced for 2 h that resolves after 30 min sends exactly 1 resolved message', () => {
    const w = new World();
    w.policy();
    const p = w.addPoint(hex(1)).id;
    w.engine.down(p, w.now);
    w.advance(40);
    expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing']);
    w.silences.push({ ids: new Set([p]), from: w.now, to: w.now + 2 * 3600_000 });
    w.advance(1800);
    w.engine.up(p, w.now);
    w.advance(3600);
    expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing', 'resolved']);
  });

  it('a point DOWN entirely inside a silence sends 0 messages', () => {
    const w = new World();
    w.policy();
    const p = w.addPoint(hex(1)).id;
    w.silences.push({ ids: new Set([p]), from: w.now, to: w.now + 3600_000 });
    w.engine.down(p, w.now);
    w.advance(1200);
    w.engine.up(p, w.now);
    w.advance(3600);
    expect(w.notices).to.have.length(0);
  });

  it('a point still DOWN when its silence ends is announced at the next tick, not hours later', () => {
    const w = new World();
    w.policy();
    const p = w.addPoint(hex(1)).id;
    w.silences.push({ ids: new Set([p]), from: w.now, to: w.now + 600_000 });
    w.engine.down(p, w.now);
    w.advance(599);
    expect(w.notices).to.have.length(0);
    w.advance(2);
    expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing']);
  });

  it('a drained incident is a snapshot: later changes of the engine do not show in it', () => {
    const w = new World();
    w.policy({ groupBy: 'street' });
    const [a, b] = [w.addPoint(hex(1)).id, w.addPoint(hex(2)).id];
    w.engine.down(a, w.now);
    w.engine.down(b, w.now);
    const [snap] = w.engine.drain().changed.map((c) => c.incident);
    const before = JSON.stringify(snap);
    w.advance(31); // announced: both members marked announced
    w.engine.up(a, w.now); // a member ends
    w.engine.down(w.addPoint(hex(3)).id, w.now); // one joins
    w.engine.acknowledge(snap.id, 'tech', w.now);
    expect(JSON.stringify(snap)).to.equal(before);
    const live = w.engine.get(snap.id);
    expect(live?.members.map((m) => [m.pointId, m.state, m.announced])).to.deep.equal([
      [a, 'resolved', true],
      [b, 'firing', true],
      [hex(3), 'firing', false],
    ]);
  });

  it('an incident with nothing due is not walked on every tick (its members are looked at again when it changes or a timer is due)', () => {
    const w = new World();
    w.policy({ groupBy: 'street', groupWaitSec: 30, groupIntervalSec: 300, repeatIntervalSec: 3600 });
    for (let i = 0; i < 50; i++) w.engine.down(w.addPoint(hex(100 + i)).id, w.now);
    w.advance(31);
    expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing']);
    const looksBefore = w.silenceLooks;
    w.advance(600);
    // one walk of its 50 members when groupInterval came due (nothing to say), not one per tick (30,000 looks)
    expect(w.silenceLooks - looksBefore, 'members looked at in 600 quiet ticks').to.be.at.most(50);
    w.engine.down(w.addPoint(hex(200)).id, w.now); // a change, and groupInterval is over: walked, an update goes out
    w.advance(300);
    expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing', 'update']);
    w.advance(3600);
    expect(w.notices.map((n) => n.kind), 'the reminder still comes on time').to.deep.equal(['firing', 'update', 'reminder']);
  });

  describe('acknowledgement and escalation', () => {
    const chain = (w: World): AlertPolicy =>
      w.policy({
        receivers: [],
        repeatIntervalSec: 14_400,
        escalation: {
          steps: [
            { afterSec: 0, receivers: [{ kind: 'user', id: USER_TECH }] },
            { afterSec: 1800, receivers: [{ kind: 'user', id: USER_LEAD }] },
            { afterSec: 3600, receivers: [{ kind: 'user', id: USER_DUTY }] },
          ],
          repeat: 0,
        },
      });

    it('no ack: the technician at once, the lead at 30 min, duty at 60 min', () => {
      const w = new World();
      chain(w);
      w.engine.down(w.addPoint(hex(1)).id, w.now);
      const t0 = w.now;
      w.advance(3700);
      const pages = w.notices.map((n) => ({ kind: n.kind, to: n.receivers.map((r) => (r as { id: string }).id), atMin: (n.at - t0) / 60_000 }));
      expect(pages.map((p) => p.kind)).to.deep.equal(['firing', 'escalation', 'escalation']);
      expect(pages[0].to).to.deep.equal([USER_TECH]);
      expect(pages[1].to).to.deep.equal([USER_LEAD]);
      expect(pages[1].atMin).to.be.within(30.4, 31.6); // 30 min after the first message, itself 30 s after DOWN
      expect(pages[2].to).to.deep.equal([USER_DUTY]);
      expect(pages[2].atMin).to.be.within(60.4, 61.6);
    });

    it('ack at 12 min: no 30-min step, no reminders; the resolution still reaches everyone paged', () => {
      const w = new World();
      chain(w);
      const p = w.addPoint(hex(1)).id;
      w.engine.down(p, w.now);
      w.advance(12 * 60);
      const id = w.engine.openIncidents()[0].id;
      w.engine.acknowledge(id, USER_TECH, w.now);
      w.advance(5 * 3600);
      expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing']);
      w.engine.up(p, w.now);
      w.collect();
      expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing', 'resolved']);
      expect(w.notices[1].receivers).to.deep.equal([{ kind: 'user', id: USER_TECH }]);
    });

    it('reminders every repeatInterval while DOWN and unacknowledged', () => {
      const w = new World();
      w.policy({ repeatIntervalSec: 3600 });
      w.engine.down(w.addPoint(hex(1)).id, w.now);
      w.advance(30 + 3 * 3600 + 5);
      expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing', 'reminder', 'reminder', 'reminder']);
    });

    it('the chain length is its last step plus its first gap', () => {
      const w = new World();
      expect(chainLengthSec(chain(w))).to.equal(3600 + 1800);
    });
  });

  it('flapping: 21 changes in 10 min make one member "flapping" and at most 2 messages', () => {
    const w = new World();
    w.policy();
    const p = w.addPoint(hex(1)).id;
    for (let i = 0; i < 21; i++) {
      if (i % 2 === 0) w.engine.down(p, w.now);
      else w.engine.up(p, w.now);
      // monitoring marks the point FLAPPING after its 6th change within its window
      if (i === 5) w.engine.flapping(p, true, w.now);
      w.advance(28);
    }
    const incidents = w.engine.openIncidents();
    expect(incidents).to.have.length(1);
    expect(incidents[0].members.map((m) => m.state)).to.deep.equal(['flapping']);
    expect(w.notices.map((n) => n.kind), 'one message over the 10 minutes of flapping').to.deep.equal(['firing']);
    // it settles UP and the mark clears: one resolved message
    w.engine.up(p, w.now);
    w.advance(300);
    w.engine.flapping(p, false, w.now);
    w.advance(600);
    expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing', 'resolved']);
  });

  it('cameras behind an NVR in maintenance are held: no incident until the NVR is back', () => {
    const w = new World();
    w.policy();
    const nvr = w.addPoint(hex(0x100)).id;
    const cam = w.addPoint(hex(0x101), { upstreamId: nvr }).id;
    w.engine.maintenance(nvr, w.now);
    w.engine.down(cam, w.now);
    w.advance(120);
    expect(w.engine.openIncidents()).to.have.length(0);
    w.engine.up(nvr, w.now);
    w.advance(40);
    expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing']);
    expect(w.notices[0].firing).to.deep.equal([cam]);
  });

  it('policies match by region subtree, organisation, tags and type, lowest priority first', () => {
    const w = new World();
    const streetB = w.policy({ name: 'street B', priority: 10, match: { regionIds: [STREET_B], orgs: [], tags: [], types: [] } });
    const nvrs = w.policy({ name: 'NVRs', priority: 20, match: { regionIds: [], orgs: [], tags: [], types: ['118'] } });
    const tagged = w.policy({ name: 'key areas', priority: 30, match: { regionIds: [], orgs: ['联通'], tags: ['重点'], types: [] } });
    expect(w.engine.policyFor(w.addPoint(hex(1), { regionId: COMM_B, gbCode: '21030200001180000001' }))?.id).to.equal(streetB.id);
    expect(w.engine.policyFor(w.addPoint(hex(2), { gbCode: '21030200001180000002' }))?.id).to.equal(nvrs.id);
    expect(w.engine.policyFor(w.addPoint(hex(3), { org: '联通', tags: ['重点', '学校'] }))?.id).to.equal(tagged.id);
    expect(w.engine.policyFor(w.addPoint(hex(4), { org: '联通', tags: ['学校'] }))).to.equal(undefined);
  });

  it('a re-fire after resolution is a new incident', () => {
    const w = new World();
    w.policy();
    const p = w.addPoint(hex(1)).id;
    w.engine.down(p, w.now);
    w.advance(40);
    const first = w.engine.openIncidents()[0].id;
    w.engine.up(p, w.now);
    w.advance(5);
    w.engine.down(p, w.now);
    w.advance(40);
    expect(w.engine.openIncidents()[0].id).to.not.equal(first);
    expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing', 'resolved', 'firing']);
  });

  it('closing by hand resolves the incident and keeps a still-DOWN point quiet until it comes back', () => {
    const w = new World();
    w.policy();
    const p = w.addPoint(hex(1)).id;
    w.engine.down(p, w.now);
    w.advance(40);
    const id = w.engine.openIncidents()[0].id;
    w.engine.close(id, USER_TECH, w.now);
    w.engine.down(p, w.now);
    w.advance(3600);
    expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing', 'resolved']);
    w.engine.up(p, w.now);
    w.engine.down(p, w.now);
    w.advance(40);
    expect(w.notices.map((n) => n.kind)).to.deep.equal(['firing', 'resolved', 'firing']);
  });
});
