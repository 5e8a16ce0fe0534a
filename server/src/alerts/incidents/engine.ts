import {
  activeMemberStates,
  type AlertPolicy,
  type Incident,
  type IncidentMember,
  type MemberState,
  type NoticeKind,
  type Receiver,
  type TimelineEntry,
} from '../../contracts/incidents';
import type { RegionTree } from '../../regions/tree';
import type { Sharing } from '../../contracts/vocabulary';

/**
 * The incident engine: confirmed transitions in, incidents and notices out. Pure and synchronous (the
 * caller feeds it monitoring's change feed, a clock tick and the users' actions, persists the incidents it
 * reports changed and hands the notices to the outbox), so every rule below is tested with an injected
 * clock and no store.
 *
 * The rules (the alerting issue, Alertmanager's grouping with what its users miss):
 * - A confirmed DOWN joins the open incident of the first matching policy for its group key (upstream
 *   device, grid, community, street or maintainer organisation), or opens one. UP ends its member.
 * - A point DOWN while an upstream device (its `upstreamId` chain) is DOWN is **suppressed**: counted in that
 *   device's incident, never named. When the device comes back, its dependants still DOWN are released and
 *   fire on their own (a new evaluation: their own incident).
 * - A point whose upstream device is in maintenance is held: no incident while the device is.
 * - Messages: `firing` once `groupWait` has passed since the incident opened (an incident whose members all
 *   came back before that says nothing); `update` when members change, at most every `groupInterval`;
 *   `reminder` every `repeatInterval` while unacknowledged and firing; `escalation` steps by time since the
 *   first message while unacknowledged; `resolved` when the last member ends — **always, whatever silence
 *   came later, if a firing message went out**.
 * - Silences mute messages of the points they match (never their state): an incident whose speaking
 *   members are all silenced says nothing until a silence ends (then at the next tick, not hours later).
 * - A flapping point is one member `flapping` until the mark clears: its ups and downs change nothing.
 */

/** What the engine needs to know of a point. */
export interface AlertPoint {
  id: string;
  name: string;
  gbCode: string;
  regionId: string;
  gridId: string | null;
  upstreamId: string | null;
  org: string;
  sharing: Sharing;
  tags: readonly string[];
}

export interface EngineDeps {
  point(id: string): AlertPoint | undefined;
  /** Points whose `upstreamId` is `id`. */
  dependants(id: string): readonly string[];
  tree(): RegionTree;
  /** Enabled and disabled policies, any order (the engine orders by priority, then name). */
  policies(): readonly AlertPolicy[];
  /** Whether messages about this point are muted at `at` (an active silence matches it). */
  silenced(point: AlertPoint, at: number): boolean;
  newId(): string;
}

/** One message to send: the outbox keeps one row per (incident, revision, receiver). */
export interface Notice {
  incidentId: string;
  revision: number;
  kind: NoticeKind;
  /** The escalation step (kind `escalation`), with its round: `${round}.${step}`. */
  step: string | null;
  at: number;
  receivers: Receiver[];
  /** Points named firing (or flapping) in this message. */
  firing: string[];
  flapping: string[];
  /** Points named back (resolved, maintenance, released) in this message. */
  ended: string[];
  /** DOWN points counted under an upstream device, not named. */
  suppressed: number;
}

/** The engine's own timing of an incident (kept with it in the store, handed back to `restore`). */
export interface IncidentBook {
  announcedAt: number | null;
  lastSentAt: number | null;
  lastFiringAt: number | null;
  paged: string[];
  escalated: Receiver[];
}

export interface EngineEffects {
  /** Incidents changed since the last drain (persist them, push them to consoles). */
  changed: Array<{ incident: Incident; book: IncidentBook }>;
  notices: Notice[];
}

interface PointState {
  down: boolean;
  flapping: boolean;
  maintenance: boolean;
  since: number;
}

interface MemberInternal {
  /** Never changed in place once it is in a drained snapshot: a change replaces it (copy on write). */
  m: IncidentMember;
  /** The state the last message reported for it (null: never named). */
  reported: MemberState | null;
}

interface Live {
  /** The incident; its `members` array is rebuilt from `members` when stale (`membersStale`), never changed in place. */
  inc: Incident;
  policy: AlertPolicy;
  /** The members in the incident's order (a point's first joining). */
  members: Map<string, MemberInternal>;
  membersStale: boolean;
  /** Nothing can come of evaluating the incident before this time unless it changes (0: evaluate at the next tick). */
  wakeAt: number;
  openedAt: number;
  announcedAt: number | null;
  lastSentAt: number | null;
  lastFiringAt: number | null;
  /** Escalation steps already paged, as `${round}.${step}`. */
  paged: Set<string>;
  escalated: Receiver[];
}

const MAX_CHAIN = 16;
const iso = (ms: number): string => new Date(ms).toISOString();
const speaking = (s: MemberState): boolean => s === 'firing' || s === 'flapping';

function sameReceiver(a: Receiver, b: Receiver): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'org') return b.kind === 'org' && a.org === b.org;
  return (b as { id: string }).id === a.id;
}

export function mergeReceivers(...lists: ReadonlyArray<readonly Receiver[]>): Receiver[] {
  const out: Receiver[] = [];
  for (const list of lists) for (const r of list) if (!out.some((o) => sameReceiver(o, r))) out.push(r);
  return out;
}

/** The escalation chain's length: one round after its last step plus the gap between its first two steps. */
export function chainLengthSec(policy: AlertPolicy): number {
  const at = [...new Set(policy.escalation.steps.map((s) => s.afterSec))].sort((a, b) => a - b);
  if (at.length === 0) return policy.repeatIntervalSec;
  const gap = at.length > 1 ? at[1] - at[0] : policy.repeatIntervalSec;
  return at[at.length - 1] + gap;
}

export class IncidentEngine {
  private readonly points = new Map<string, PointState>();
  /** The incident a point is an active member of. */
  private readonly memberOf = new Map<string, Live>();
  private readonly open = new Map<string, Live>();
  private readonly byKey = new Map<string, Live>();
  /** DOWN points held by an upstream device in maintenance (no incident while it is). */
  private readonly held = new Set<string>();
  /** DOWN points of incidents closed by hand: they say nothing more until they come back. */
  private readonly closedDown = new Set<string>();
  private changed = new Map<string, Live>();
  private notices: Notice[] = [];
  private sortedPolicies: AlertPolicy[] | null = null;
  private policySource: readonly AlertPolicy[] | null = null;

  constructor(private readonly deps: EngineDeps) {}

  // ---- input: monitoring's confirmed transitions -----------------------------------------------------

  down(id: string, at: number): void {
    const s = this.state(id);
    if (!s.down) s.since = at;
    s.down = true;
    s.maintenance = false;
    if (this.closedDown.has(id)) return;
    const live = this.memberOf.get(id);
    if (live) {
      const mi = live.members.get(id) as MemberInternal;
      if (activeMemberStates.has(mi.m.state)) return;
    }
    this.place(id, at);
  }

  up(id: string, at: number): void {
    const s = this.state(id);
    s.down = false;
    s.maintenance = false;
    this.closedDown.delete(id);
    this.held.delete(id);
    const live = this.memberOf.get(id);
    if (live) {
      const mi = live.members.get(id) as MemberInternal;
      if (mi.m.state !== 'flapping') this.end(live, id, 'resolved', at);
    }
    this.release(id, at);
  }

  /** The point entered a maintenance window: its member ends, dependants behind it are held. */
  maintenance(id: string, at: number): void {
    const s = this.state(id);
    s.down = false;
    s.maintenance = true;
    s.flapping = false;
    this.closedDown.delete(id);
    this.held.delete(id);
    const live = this.memberOf.get(id);
    if (live) this.end(live, id, 'maintenance', at);
    this.release(id, at);
  }

  /** The point left monitoring (disabled, deleted, not connected): like UP for its incident. */
  gone(id: string, at: number): void {
    this.up(id, at);
    this.points.delete(id);
  }

  flapping(id: string, on: boolean, at: number): void {
    const s = this.state(id);
    if (s.flapping === on) return;
    s.flapping = on;
    const live = this.memberOf.get(id);
    const mi = live?.members.get(id);
    if (on) {
      if (live && mi && activeMemberStates.has(mi.m.state)) {
        if (mi.m.state === 'firing') this.setMember(live, mi, 'flapping', at);
        return;
      }
      // a point going up and down: one member "flapping" (joins or opens its incident even while UP)
      if (!this.closedDown.has(id) && !s.maintenance) this.place(id, at);
      return;
    }
    if (live && mi && mi.m.state === 'flapping') {
      if (s.down) this.setMember(live, mi, 'firing', at);
      else this.end(live, id, 'resolved', at);
    }
  }

  // ---- input: people -----------------------------------------------------------------------------------

  get(id: string): Incident | undefined {
    const live = this.open.get(id);
    return live && this.current(live);
  }

  /** Whether the point is an active member of an open incident. */
  isPlaced(id: string): boolean {
    return this.memberOf.has(id) || this.held.has(id) || this.closedDown.has(id);
  }

  openIncidents(): Incident[] {
    return [...this.open.values()].map((l) => this.current(l));
  }

  acknowledge(id: string, by: string, at: number): Incident | undefined {
    const live = this.open.get(id);
    if (!live) return undefined;
    if (live.inc.ackedAt) return this.current(live);
    live.inc.ackedAt = iso(at);
    live.inc.ackedBy = by;
    this.log(live, at, 'acknowledged', 'acknowledged', by);
    return this.current(live);
  }

  /** `label` names the assignee in the timeline (default: the id). */
  assign(id: string, assignee: string, by: string, at: number, label = assignee): Incident | undefined {
    const live = this.open.get(id);
    if (!live) return undefined;
    live.inc.assignee = assignee;
    this.log(live, at, 'assigned', label, by);
    return this.current(live);
  }

  comment(id: string, text: string, by: string, at: number): Incident | undefined {
    const live = this.open.get(id);
    if (!live) return undefined;
    this.log(live, at, 'comment', text, by);
    return this.current(live);
  }

  /**
   * Closes an incident by hand (a known-offline point): its members end; those still DOWN say nothing more
   * until they come back. A firing message that went out is followed by a resolved one.
   */
  close(id: string, by: string, at: number): Incident | undefined {
    const live = this.open.get(id);
    if (!live) return undefined;
    for (const [pid, mi] of live.members) {
      if (!activeMemberStates.has(mi.m.state)) continue;
      if (this.points.get(pid)?.down) this.closedDown.add(pid);
      this.end(live, pid, 'resolved', at, false);
    }
    this.log(live, at, 'closed', 'closed by hand', by);
    this.resolve(live, at);
    return this.current(live);
  }

  // ---- the clock ----------------------------------------------------------------------------------------

  tick(now: number): void {
    for (const live of [...this.open.values()]) this.evaluate(live, now);
  }

  /**
   * What changed since the last drain. Each incident is a snapshot the engine never changes afterwards (the
   * caller writes it asynchronously): the members array and its member objects are shared with the engine,
   * which replaces rather than edits them; the timeline (appended and trimmed in place) is copied. So a drain
   * costs pointers, not a deep copy of every member.
   */
  drain(): EngineEffects {
    const out: EngineEffects = {
      changed: [...this.changed.values()].map((l) => ({
        incident: { ...this.current(l), timeline: l.inc.timeline.slice() },
        book: { announcedAt: l.announcedAt, lastSentAt: l.lastSentAt, lastFiringAt: l.lastFiringAt, paged: [...l.paged], escalated: [...l.escalated] },
      })),
      notices: this.notices,
    };
    this.changed = new Map();
    this.notices = [];
    return out;
  }

  /** Rebuilds the engine's view after a restart: the open incidents as stored, then the points' states. */
  restore(stored: ReadonlyArray<{ incident: Incident; book: IncidentBook | null }>, policies: ReadonlyMap<string, AlertPolicy>): void {
    for (const { incident: inc, book: a } of stored) {
      if (inc.state !== 'open') continue;
      const policy = policies.get(inc.policyId);
      if (!policy) continue;
      const live: Live = {
        inc: structuredClone(inc),
        policy,
        members: new Map(),
        membersStale: false,
        wakeAt: 0,
        openedAt: Date.parse(inc.openedAt),
        announcedAt: a?.announcedAt ?? null,
        lastSentAt: a?.lastSentAt ?? null,
        lastFiringAt: a?.lastFiringAt ?? null,
        paged: new Set(a?.paged ?? []),
        escalated: a?.escalated ?? [],
      };
      for (const m of live.inc.members) {
        live.members.set(m.pointId, { m, reported: m.announced ? m.state : null });
        if (activeMemberStates.has(m.state)) {
          this.memberOf.set(m.pointId, live);
          const s = this.state(m.pointId);
          s.down = m.state !== 'flapping';
          s.flapping = m.state === 'flapping';
          s.since = Date.parse(m.since);
        }
      }
      this.open.set(inc.id, live);
      this.byKey.set(this.keyOf(policy.id, inc.groupKey), live);
    }
  }

  // ---- internals ----------------------------------------------------------------------------------------

  /** The incident with its members array brought up to date. */
  private current(live: Live): Incident {
    if (live.membersStale) {
      live.inc.members = Array.from(live.members.values(), (mi) => mi.m);
      live.membersStale = false;
    }
    return live.inc;
  }

  /** Replaces a member's record (never edited in place: a drained snapshot may hold it). */
  private update(live: Live, mi: MemberInternal, change: Partial<IncidentMember>): void {
    mi.m = { ...mi.m, ...change };
    live.membersStale = true;
  }

  private state(id: string): PointState {
    let s = this.points.get(id);
    if (!s) this.points.set(id, (s = { down: false, flapping: false, maintenance: false, since: 0 }));
    return s;
  }

  private keyOf(policyId: string, groupKey: string): string {
    return `${policyId}\u0000${groupKey}`;
  }

  private policiesInOrder(): AlertPolicy[] {
    const src = this.deps.policies();
    if (this.sortedPolicies && this.policySource === src) return this.sortedPolicies;
    this.policySource = src;
    this.sortedPolicies = src.filter((p) => p.enabled).sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    return this.sortedPolicies;
  }

  policyFor(p: AlertPoint): AlertPolicy | undefined {
    const tree = this.deps.tree();
    const type = p.gbCode.slice(10, 13);
    return this.policiesInOrder().find((pol) => {
      const m = pol.match;
      if (m.regionIds.length && !m.regionIds.some((r) => tree.within(r, p.regionId) || (p.gridId !== null && tree.within(r, p.gridId)))) return false;
      if (m.orgs.length && !m.orgs.includes(p.org)) return false;
      if (m.tags.length && !m.tags.every((t) => p.tags.includes(t))) return false;
      if (m.types.length && !m.types.includes(type)) return false;
      return true;
    });
  }

  /** The group a point falls in under a policy. */
  groupKeyOf(policy: AlertPolicy, p: AlertPoint): string {
    switch (policy.groupBy) {
      case 'upstream': {
        let top = p;
        for (let i = 0; i < MAX_CHAIN && top.upstreamId; i++) {
          const up = this.deps.point(top.upstreamId);
          if (!up) break;
          top = up;
        }
        return top.id;
      }
      case 'org':
        return p.org || '-';
      case 'grid':
        return p.gridId ?? p.regionId;
      case 'community':
      case 'street': {
        const tree = this.deps.tree();
        const path = tree.ancestorsOrSelf(p.regionId);
        return path.find((r) => tree.tierOf(r) === policy.groupBy) ?? p.regionId;
      }
    }
  }

  /** The nearest upstream point that is DOWN or in maintenance. */
  private blockingAncestor(p: AlertPoint): { id: string; maintenance: boolean } | null {
    let cur = p;
    for (let i = 0; i < MAX_CHAIN && cur.upstreamId; i++) {
      const s = this.points.get(cur.upstreamId);
      if (s?.down) return { id: cur.upstreamId, maintenance: false };
      if (s?.maintenance) return { id: cur.upstreamId, maintenance: true };
      const up = this.deps.point(cur.upstreamId);
      if (!up) break;
      cur = up;
    }
    return null;
  }

  /** Puts a DOWN (or flapping) point where it belongs: suppressed under its upstream device, or its own group. */
  private place(id: string, at: number): void {
    const p = this.deps.point(id);
    if (!p) return;
    const s = this.state(id);
    const since = s.down ? s.since || at : at;
    const blocker = this.blockingAncestor(p);
    if (blocker && !s.flapping) {
      const parentLive = blocker.maintenance ? undefined : this.memberOf.get(blocker.id);
      if (parentLive) {
        this.join(parentLive, id, 'suppressed', blocker.id, since, at);
        return;
      }
      if (blocker.maintenance) {
        this.held.add(id);
        return;
      }
      // the upstream device is DOWN but in no incident (no policy matches it): the point speaks for itself
    }
    const policy = this.policyFor(p);
    if (!policy) return;
    const key = this.keyOf(policy.id, this.groupKeyOf(policy, p));
    let live = this.byKey.get(key);
    if (!live) live = this.openIncident(policy, this.groupKeyOf(policy, p), at);
    this.join(live, id, s.flapping ? 'flapping' : 'firing', null, since, at);
    this.adopt(live, id, at);
  }

  /** Every point behind `id` (its `upstreamId` chain leads to it), nearest first; a cycle in the links ends the walk. */
  private *descendants(id: string): Generator<string> {
    const queue = [...this.deps.dependants(id)];
    const seen = new Set<string>([id]);
    for (let i = 0; i < queue.length && seen.size <= 100_000; i++) {
      const d = queue[i];
      if (seen.has(d)) continue;
      seen.add(d);
      yield d;
      queue.push(...this.deps.dependants(d));
    }
  }

  /** A device just joined `live`: dependants DOWN behind it that were not named elsewhere move in, suppressed. */
  private adopt(live: Live, id: string, at: number): void {
    for (const d of this.descendants(id)) {
      const s = this.points.get(d);
      if (!s?.down || s.flapping) continue;
      const cur = this.memberOf.get(d);
      const mi = cur?.members.get(d);
      if (cur && mi) {
        if (mi.reported !== null) continue; // named firing already: it keeps speaking for itself
        if (cur === live && mi.m.state === 'suppressed') continue;
        this.drop(cur, d, at);
      }
      this.held.delete(d);
      const p = this.deps.point(d);
      const blocker = p ? this.blockingAncestor(p) : null;
      this.join(live, d, 'suppressed', blocker?.id ?? id, s.since || at, at);
    }
  }

  /** A device came back (or went into maintenance): dependants still DOWN are re-placed, parents first. */
  private release(id: string, at: number): void {
    const replace: string[] = [];
    const touched = new Set<Live>();
    for (const d of this.descendants(id)) {
      const s = this.points.get(d);
      if (!s?.down) continue;
      const cur = this.memberOf.get(d);
      const mi = cur?.members.get(d);
      if (cur && mi && mi.m.state === 'suppressed') {
        this.end(cur, d, 'released', at, false);
        touched.add(cur);
        replace.push(d);
      } else if (this.held.has(d)) {
        this.held.delete(d);
        replace.push(d);
      }
    }
    for (const live of touched) this.settle(live, at);
    for (const d of replace) if (!this.memberOf.has(d)) this.place(d, at);
  }

  private openIncident(policy: AlertPolicy, groupKey: string, at: number): Live {
    const inc: Incident = {
      id: this.deps.newId(),
      policyId: policy.id,
      groupBy: policy.groupBy,
      groupKey,
      state: 'open',
      openedAt: iso(at),
      resolvedAt: null,
      revision: 0,
      announced: false,
      ackedAt: null,
      ackedBy: null,
      assignee: null,
      members: [],
      timeline: [],
    };
    const live: Live = { inc, policy, members: new Map(), membersStale: false, wakeAt: 0, openedAt: at, announcedAt: null, lastSentAt: null, lastFiringAt: null, paged: new Set(), escalated: [] };
    this.open.set(inc.id, live);
    this.byKey.set(this.keyOf(policy.id, groupKey), live);
    this.log(live, at, 'opened', `policy ${policy.name}`, null);
    return live;
  }

  private join(live: Live, id: string, state: MemberState, suppressedBy: string | null, since: number, at: number): void {
    const mi = live.members.get(id);
    if (mi) this.update(live, mi, { state, suppressedBy, endedAt: null, since: iso(since) });
    else {
      live.members.set(id, { m: { pointId: id, state, since: iso(since), endedAt: null, suppressedBy, announced: false }, reported: null });
      live.membersStale = true;
    }
    this.memberOf.set(id, live);
    this.log(live, at, 'member', state, null, id);
  }

  /** Removes a member never named in a message (it moves to another incident). */
  private drop(live: Live, id: string, at: number): void {
    live.members.delete(id);
    live.membersStale = true;
    if (this.memberOf.get(id) === live) this.memberOf.delete(id);
    this.touch(live);
    this.settle(live, at);
  }

  private setMember(live: Live, mi: MemberInternal, state: MemberState, at: number): void {
    this.update(live, mi, { state });
    this.log(live, at, 'member', state, null, mi.m.pointId);
  }

  private end(live: Live, id: string, state: 'resolved' | 'maintenance' | 'released', at: number, settle = true): void {
    const mi = live.members.get(id);
    if (!mi || !activeMemberStates.has(mi.m.state)) return;
    this.update(live, mi, { state, endedAt: iso(at) });
    if (this.memberOf.get(id) === live) this.memberOf.delete(id);
    this.log(live, at, 'member', state, null, id);
    if (settle) this.settle(live, at);
  }

  /** An incident without active members: resolved at once when it spoke, else closed silently once its group wait is over. */
  private settle(live: Live, at: number): void {
    if (live.inc.state !== 'open') return;
    for (const mi of live.members.values()) if (activeMemberStates.has(mi.m.state)) return;
    if (live.inc.announced) this.resolve(live, at);
    else if (at >= live.openedAt + live.policy.groupWaitSec * 1000) this.resolve(live, at, true);
  }

  private resolve(live: Live, at: number, silently = false): void {
    if (live.inc.state !== 'open') return;
    live.inc.state = 'resolved';
    live.inc.resolvedAt = iso(at);
    this.open.delete(live.inc.id);
    const key = this.keyOf(live.policy.id, live.inc.groupKey);
    if (this.byKey.get(key) === live) this.byKey.delete(key);
    for (const pid of live.members.keys()) if (this.memberOf.get(pid) === live) this.memberOf.delete(pid);
    this.log(live, at, 'resolved', silently ? 'resolved before any message' : 'resolved', null);
    if (live.inc.announced) {
      const ended = [...live.members.values()].filter((mi) => mi.reported !== null && speaking(mi.reported)).map((mi) => mi.m.pointId);
      this.notify(live, 'resolved', at, mergeReceivers(live.policy.receivers, live.escalated), { firing: [], flapping: [], ended });
    }
  }

  /**
   * One incident's timers. Walking its members (a point lookup and a silence check each) is the costly part,
   * so it is done only when a message can go out: an unannounced incident once its group wait is over, an
   * announced one once one of its timers is due (groupInterval since the last message, the reminder, the next
   * escalation step). Until then it sleeps (`wakeAt`); any change wakes it (`touch`) and puts it to sleep again
   * at the same small cost; one with a muted member is walked every tick (a silence may end at any time, and
   * its members then speak at once).
   */
  private evaluate(live: Live, now: number): void {
    const { policy, inc } = live;
    if (inc.state !== 'open' || now < live.wakeAt) return;
    live.wakeAt = 0;
    const waitEnds = live.openedAt + policy.groupWaitSec * 1000;
    if (!inc.announced && now < waitEnds) {
      live.wakeAt = waitEnds;
      return;
    }
    let active = false;
    for (const mi of live.members.values()) {
      if (!activeMemberStates.has(mi.m.state)) continue;
      active = true;
      break;
    }
    if (!active) {
      this.settle(live, now);
      return;
    }
    if (inc.announced) {
      // an announced incident sends nothing before the first of its timers (update, reminder, escalation step)
      const dueAt = Math.min(
        (live.lastSentAt ?? 0) + policy.groupIntervalSec * 1000,
        live.lastFiringAt !== null ? live.lastFiringAt + policy.repeatIntervalSec * 1000 : Infinity,
        this.nextEscalationAt(live),
      );
      if (now < dueAt) {
        live.wakeAt = dueAt;
        return;
      }
    }
    const members = [...live.members.values()];
    let anyMuted = false;
    const muted = (id: string): boolean => {
      const p = this.deps.point(id);
      const m = p ? this.deps.silenced(p, now) : false;
      if (m) anyMuted = true;
      return m;
    };
    const voices = members.filter((mi) => speaking(mi.m.state) && !muted(mi.m.pointId));
    if (!inc.announced) {
      if (voices.length === 0) {
        live.wakeAt = anyMuted ? 0 : Infinity;
        return;
      }
      inc.announced = true;
      live.announcedAt = now;
      const first = policy.escalation.steps.filter((s) => s.afterSec === 0);
      for (const [i, s] of policy.escalation.steps.entries()) if (s.afterSec === 0) live.paged.add(`0.${i}`);
      live.escalated = mergeReceivers(...first.map((s) => s.receivers));
      this.speak(live, 'firing', now, mergeReceivers(policy.receivers, live.escalated), voices, []);
      return;
    }
    // changes since the last message: new voices, and named members that ended
    const fresh = voices.filter((mi) => mi.reported !== mi.m.state);
    const ended = members.filter((mi) => mi.reported !== null && speaking(mi.reported) && !activeMemberStates.has(mi.m.state));
    const updateAt = fresh.length || ended.length ? (live.lastSentAt ?? 0) + policy.groupIntervalSec * 1000 : Infinity;
    if (now >= updateAt) {
      this.speak(live, 'update', now, mergeReceivers(policy.receivers, live.escalated), fresh, ended);
      return;
    }
    if (inc.ackedAt || voices.length === 0) {
      live.wakeAt = anyMuted ? 0 : updateAt;
      return;
    }
    const revision = inc.revision;
    if (live.lastFiringAt !== null && now >= live.lastFiringAt + policy.repeatIntervalSec * 1000) {
      this.speak(live, 'reminder', now, mergeReceivers(policy.receivers, live.escalated), voices, []);
    }
    this.escalate(live, now, voices);
    if (inc.revision !== revision) return; // it spoke: looked at again next tick
    const remindAt = live.lastFiringAt !== null ? live.lastFiringAt + policy.repeatIntervalSec * 1000 : Infinity;
    live.wakeAt = anyMuted ? 0 : Math.min(updateAt, remindAt, this.nextEscalationAt(live));
  }

  /** When the next escalation step not yet paged comes due (Infinity: none left). */
  private nextEscalationAt(live: Live): number {
    const { policy } = live;
    if (live.announcedAt === null || policy.escalation.steps.length === 0) return Infinity;
    const len = chainLengthSec(policy) * 1000;
    let next = Infinity;
    for (let round = 0; round <= policy.escalation.repeat; round++) {
      for (const [i, step] of policy.escalation.steps.entries()) {
        if (!live.paged.has(`${round}.${i}`)) next = Math.min(next, live.announcedAt + round * len + step.afterSec * 1000);
      }
    }
    return next;
  }

  private escalate(live: Live, now: number, voices: MemberInternal[]): void {
    const { policy } = live;
    if (live.announcedAt === null || policy.escalation.steps.length === 0) return;
    const len = chainLengthSec(policy) * 1000;
    for (let round = 0; round <= policy.escalation.repeat; round++) {
      for (const [i, step] of policy.escalation.steps.entries()) {
        const key = `${round}.${i}`;
        if (live.paged.has(key)) continue;
        if (now < live.announcedAt + round * len + step.afterSec * 1000) continue;
        live.paged.add(key);
        live.escalated = mergeReceivers(live.escalated, step.receivers);
        this.log(live, now, 'escalated', `step ${i + 1}${round ? ` (round ${round + 1})` : ''}`, null);
        this.notify(live, 'escalation', now, step.receivers, this.named(voices), key);
      }
    }
  }

  private named(voices: MemberInternal[]): { firing: string[]; flapping: string[]; ended: string[] } {
    return {
      firing: voices.filter((mi) => mi.m.state === 'firing').map((mi) => mi.m.pointId),
      flapping: voices.filter((mi) => mi.m.state === 'flapping').map((mi) => mi.m.pointId),
      ended: [],
    };
  }

  private speak(live: Live, kind: 'firing' | 'update' | 'reminder', now: number, receivers: Receiver[], voices: MemberInternal[], ended: MemberInternal[]): void {
    for (const mi of voices) {
      mi.reported = mi.m.state;
      if (!mi.m.announced) this.update(live, mi, { announced: true });
    }
    for (const mi of ended) mi.reported = mi.m.state;
    live.lastSentAt = now;
    live.lastFiringAt = now;
    const named = this.named(voices);
    named.ended = ended.map((mi) => mi.m.pointId);
    this.notify(live, kind, now, receivers, named);
  }

  private notify(live: Live, kind: NoticeKind, at: number, receivers: Receiver[], named: { firing: string[]; flapping: string[]; ended: string[] }, step: string | null = null): void {
    this.touch(live);
    const suppressed = [...live.members.values()].filter((mi) => mi.m.state === 'suppressed').length;
    const entry: TimelineEntry = { at: iso(at), kind: 'notified', text: `${kind}${step ? ` ${step}` : ''} → ${receivers.length} receiver(s)`, by: null, pointId: null };
    live.inc.timeline.push(entry);
    if (receivers.length === 0) return;
    this.notices.push({ incidentId: live.inc.id, revision: live.inc.revision, kind, step, at, receivers, ...named, suppressed });
  }

  private log(live: Live, at: number, kind: TimelineEntry['kind'], text: string, by: string | null, pointId: string | null = null): void {
    live.inc.timeline.push({ at: iso(at), kind, text, by, pointId });
    if (live.inc.timeline.length > 500) live.inc.timeline.splice(1, live.inc.timeline.length - 500);
    this.touch(live);
  }

  private touch(live: Live): void {
    live.wakeAt = 0;
    live.inc.revision += 1;
    this.changed.set(live.inc.id, live);
  }
}
