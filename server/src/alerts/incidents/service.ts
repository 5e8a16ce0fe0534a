import type { AnyBulkWriteOperation } from 'mongodb';
import { Types, type Connection, type Model } from 'mongoose';
import { actorOf, type Principal } from '../../contracts/access';
import type { CameraChange } from '../../cameras/events';
import {
  activeMemberStates,
  type AlertPolicy,
  type AlertPolicyInput,
  type AlertPolicyView,
  type Incident,
  type IncidentAssignee,
  type IncidentListQuery,
  type IncidentMember,
  type IncidentPage,
  type IncidentView,
  type TimelineEntry,
} from '../../contracts/incidents';
import type { ConfirmedState } from '../../contracts/live';
import { canSeePoint, canSeeRegion, pointFilter, regionInScope, viewerOf, type Viewer } from '../../auth/scope';
import { refNotFound } from '../../regions/service';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { isDuplicateKey } from '../../lib/store-errors';
import type { RegionTree } from '../../regions/tree';
import { IncidentEngine, type AlertPoint, type IncidentBook, type Notice } from './engine';
import { alertPolicyModel, incidentModel, type AlertPolicyDoc, type IncidentDoc, type MemberRef } from './model';
import { AlertPoints, sharingOf } from './points';

/** One confirmed transition as monitoring's change feed delivers it (the fields alerting reads). */
export interface AlertTransition {
  cameraId: string;
  to: ConfirmedState;
  at: Date;
  flapping: boolean;
}

export interface IncidentDeps {
  conn: Connection;
  logger: Logger;
  regions: { current(): RegionTree };
  cameras: { onChange(listener: (c: CameraChange) => void): () => void };
  feed: { subscribe(listener: (t: AlertTransition) => void): () => void };
  /** A point's confirmed state and FLAPPING mark as monitoring holds them now (start-up placement). */
  status(id: string): { confirmed: ConfirmedState; flapping: boolean; since: string } | undefined;
  /** A user as assignment needs it (null when unknown). */
  user(id: string): Promise<{ id: string; username: string; role: string; maintainerOrg: string | null; scopeRegionId: string | null; disabled: boolean } | null>;
  /** The enabled technicians of these maintainer organisations (assignment candidates). */
  technicians(orgs: readonly string[]): Promise<Array<{ id: string; username: string; displayName: string; maintainerOrg: string; scopeRegionId: string | null }>>;
  audit(entry: { actor: ReturnType<typeof actorOf>; action: string; entity: 'alert'; entityId: string; before: unknown; after: unknown }): Promise<void>;
  /** Whether messages about a point are muted at `at` (silences). */
  silenced?(point: AlertPoint, at: number): boolean;
  /** Whether a channel exists (a policy's receivers are checked when it is written). */
  channelExists(id: string): Promise<boolean>;
  /** Milliseconds between clock ticks (1 s in production; shorter in tests). */
  tickMs: number;
}

/** Receives the engine's notices (the durable outbox). */
export type NoticeSink = (notices: Notice[], incidents: ReadonlyMap<string, Incident>) => Promise<void>;

/** Pushes an incident change to the consoles; `viewFor` gives the incident as one caller may see it (null: not at all). */
export type IncidentPush = (event: 'incident:opened' | 'incident:updated' | 'incident:resolved', viewFor: (principal: Principal) => IncidentView | null) => void;

interface Written {
  members: readonly IncidentMember[];
  refs: readonly MemberRef[];
  timeline: readonly TimelineEntry[];
}

/** Incidents per store write of a flush (about a millisecond of encoding each for incidents of tens of members). */
const FLUSH_SLICE = 50;

function policyOf(d: AlertPolicyDoc): AlertPolicy {
  const { _id, version: _v, createdAt: _c, updatedAt: _u, ...input } = d;
  return { ...input, id: _id.toHexString() };
}

function policyView(d: AlertPolicyDoc): AlertPolicyView {
  return { ...policyOf(d), version: d.version, createdAt: d.createdAt.toISOString(), updatedAt: d.updatedAt.toISOString() };
}

function incidentOf(d: IncidentDoc): Incident {
  const { _id, refs: _r, book: _b, pending: _p, pendingSince: _s, ...rest } = d;
  return { ...rest, id: _id.toHexString() };
}

/**
 * Alerting's incidents: feeds monitoring's confirmed transitions and a 1 s clock into the engine, keeps
 * the incidents in the store (one document each, with what the visibility rule needs of its members),
 * hands notices to the outbox and incident changes to the consoles. Every read and action goes through
 * the one visibility rule: a caller sees an incident when he sees one of its member points, and sees only
 * those members.
 */
export class IncidentService {
  readonly engine: IncidentEngine;
  readonly points = new AlertPoints();
  private readonly policyModel: Model<AlertPolicyDoc>;
  private readonly incidentModel: Model<IncidentDoc>;
  private policies: AlertPolicy[] = [];
  private readonly policyNames = new Map<string, string>();
  private readonly refs = new Map<string, MemberRef[]>();
  /** Each open incident's refs by point, so a write computes only its new members' (emptied when a point changes). */
  private readonly refsByPoint = new Map<string, Map<string, MemberRef>>();
  private readonly sinks: NoticeSink[] = [];
  private readonly pushes: IncidentPush[] = [];
  private readonly unsubscribe: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private seen = new Set<string>();
  /** What the store holds of each open incident's arrays, as last written (so the next write sends what changed). */
  private readonly written = new Map<string, Written>();
  /** Notices stored with their incident (`pending`) and not yet confirmed in the outbox, by incident. */
  private readonly unsent = new Map<string, { incident: Incident; notices: Notice[] }>();

  constructor(private readonly deps: IncidentDeps) {
    this.policyModel = alertPolicyModel(deps.conn);
    this.incidentModel = incidentModel(deps.conn);
    this.engine = new IncidentEngine({
      point: (id) => this.points.get(id),
      dependants: (id) => this.points.dependants(id),
      tree: () => deps.regions.current(),
      policies: () => this.policies,
      silenced: (p, at) => deps.silenced?.(p, at) ?? false,
      newId: () => new Types.ObjectId().toHexString(),
    });
  }

  onNotices(sink: NoticeSink): void {
    this.sinks.push(sink);
  }

  onPush(push: IncidentPush): void {
    this.pushes.push(push);
  }

  async start(): Promise<void> {
    await Promise.all([this.policyModel.createIndexes(), this.incidentModel.createIndexes()]);
    await this.reloadPolicies();
    await this.points.load(this.deps.conn);
    const open = await this.incidentModel.find({ state: 'open' }).lean<IncidentDoc[]>();
    this.engine.restore(
      open.map((d) => ({ incident: incidentOf(d), book: d.book ?? null })),
      new Map(this.policies.map((p) => [p.id, p])),
    );
    for (const d of open) {
      this.refs.set(d._id.toHexString(), d.refs ?? []);
      this.seen.add(d._id.toHexString());
    }
    // notices a previous run stored with their incidents but did not see into the outbox (it died in between):
    // enqueued now under the keys they had, before anything new happens
    const unsent = await this.incidentModel.find({ pendingSince: { $gt: 0 } }).lean<IncidentDoc[]>();
    for (const d of unsent) if (d.pending?.length) this.unsent.set(d._id.toHexString(), { incident: incidentOf(d), notices: d.pending });
    if (this.unsent.size) await this.flush().catch(() => undefined);
    this.unsubscribe.push(
      this.deps.cameras.onChange((c) => {
        this.refsByPoint.clear(); // a point moved, changed organisation or sharing: its refs are recomputed
        if (this.points.apply(c)) this.engine.gone(c.id, Date.now());
      }),
      this.deps.feed.subscribe((t) => this.onTransition(t)),
    );
    // points DOWN (or flapping) now but in no incident: went down while alerting was not running
    const now = Date.now();
    for (const id of this.points.ids()) {
      if (this.engine.isPlaced(id)) continue;
      const s = this.deps.status(id);
      if (!s) continue;
      if (s.confirmed === 'DOWN') this.engine.down(id, Math.min(now, Date.parse(s.since) || now));
      if (s.flapping) this.engine.flapping(id, true, now);
    }
    this.timer = setInterval(() => void this.tick(), this.deps.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const u of this.unsubscribe.splice(0)) u();
    await this.flushing;
  }

  onTransition(t: AlertTransition): void {
    const at = t.at.getTime();
    switch (t.to) {
      case 'DOWN':
        this.engine.down(t.cameraId, at);
        break;
      case 'UP':
        this.engine.up(t.cameraId, at);
        break;
      case 'MAINTENANCE':
        this.engine.maintenance(t.cameraId, at);
        break;
      case 'DISABLED':
      case 'NOT_CONNECTED':
      case 'UNKNOWN':
        this.engine.gone(t.cameraId, at);
    }
    if (t.to !== 'MAINTENANCE') this.engine.flapping(t.cameraId, t.flapping, at);
  }

  /** One clock step: timers of every open incident, then persistence, pushes and notices. */
  async tick(now = Date.now()): Promise<void> {
    this.engine.tick(now);
    await this.flush();
  }

  /**
   * Writes what the engine changed, in order (a flush waits for the previous one). The notices go into the
   * store with the incidents that announce them, in the same document write; then into the outbox; then they
   * are cleared from the incidents. A process killed in between leaves them with their incident, and the next
   * start enqueues them (the outbox ignores a key it holds): no message is lost, none is sent twice. Enqueueing
   * first would not do: an incident still stored as not announced is announced again after a restart, under
   * another revision, so another key.
   */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.flushOnce());
    this.flushing = run.catch((err: unknown) => this.deps.logger.error('alerts: incident flush failed', { err }));
    return run;
  }

  private async flushOnce(): Promise<void> {
    const fx = this.engine.drain();
    if (fx.changed.length === 0 && fx.notices.length === 0 && this.unsent.size === 0) return;
    const incidents = new Map<string, Incident>();
    for (const { incident } of fx.changed) {
      incidents.set(incident.id, incident);
      const u = this.unsent.get(incident.id);
      if (u) u.incident = incident;
    }
    for (const n of fx.notices) {
      const inc = incidents.get(n.incidentId) ?? this.engine.get(n.incidentId);
      if (!inc) continue;
      const u = this.unsent.get(n.incidentId);
      if (u) u.notices.push(n);
      else this.unsent.set(n.incidentId, { incident: inc, notices: [n] });
    }
    const since = Date.now();
    const writes = fx.changed.map(({ incident, book }) => {
      const refs = this.refsOf(incident);
      const pending = this.unsent.get(incident.id)?.notices;
      const stored: Written = { members: incident.members, refs, timeline: incident.timeline };
      return { id: incident.id, stored, op: this.writeOf(incident, refs, book, pending ? { pending, pendingSince: since } : null, this.written.get(incident.id)) };
    });
    // in slices: the driver encodes a whole batch in one go on the main thread, and an outage changes every
    // incident at once (1,000 of them a second); each incident stays one document write with its notices
    for (let i = 0; i < writes.length; i += FLUSH_SLICE) {
      const slice = writes.slice(i, i + FLUSH_SLICE);
      await this.incidentModel.collection.bulkWrite(slice.map((w) => w.op), { ordered: true });
      for (const w of slice) this.written.set(w.id, w.stored);
    }
    for (const { incident } of fx.changed) if (incident.state !== 'open') this.written.delete(incident.id);
    if (this.unsent.size) {
      // every notice is in the store now, with its incident: into the outbox (kept for the next flush if that fails)
      const batch = [...this.unsent.entries()];
      for (const [id, u] of batch) if (!incidents.has(id)) incidents.set(id, u.incident);
      for (const sink of this.sinks) await sink(batch.flatMap(([, u]) => u.notices), incidents);
      for (const [id, u] of batch) if (this.unsent.get(id) === u) this.unsent.delete(id);
      await this.incidentModel.collection.updateMany(
        { _id: { $in: batch.map(([id]) => new Types.ObjectId(id)) } },
        { $unset: { pending: '', pendingSince: '' } },
      );
    }
    for (const { incident } of fx.changed) {
      const event = incident.state === 'resolved' ? 'incident:resolved' : this.seen.has(incident.id) ? 'incident:updated' : 'incident:opened';
      if (incident.state === 'resolved') this.seen.delete(incident.id);
      else this.seen.add(incident.id);
      const tree = this.deps.regions.current();
      for (const push of this.pushes) push(event, (p) => this.view(incident, viewerOf(p), tree, true));
    }
  }

  /**
   * One incident's document write. The first after a start replaces the document; later ones set only what
   * changed since the last write (scalars, the book, and the array elements that are new or replaced: the
   * engine replaces a member rather than editing it, and appends to the timeline), so a member joining costs a
   * few hundred bytes, not the whole incident. Elements are set by index, never pushed: a write repeated after
   * a failure sets the same values again. A shorter members array or a trimmed timeline is written whole.
   */
  private writeOf(incident: Incident, refs: MemberRef[], book: IncidentBook, pending: { pending: Notice[]; pendingSince: number } | null, prev: Written | undefined): AnyBulkWriteOperation {
    const { id, members, timeline, ...scalars } = incident;
    const _id = new Types.ObjectId(id);
    // the timeline is only appended to, until it is trimmed (its entries shift: the last one written moved)
    const last = prev ? prev.timeline.length - 1 : -1;
    const appended = prev !== undefined && timeline.length > last && (last < 0 || timeline[last] === prev.timeline[last]);
    if (!prev || members.length < prev.members.length || !appended) {
      return { replaceOne: { filter: { _id }, replacement: { ...scalars, members, timeline, refs, book, ...(pending ?? {}) }, upsert: true } };
    }
    const set: Record<string, unknown> = { ...scalars, book, ...(pending ?? {}) };
    const changedElements = (field: string, now: readonly unknown[], before: readonly unknown[]): void => {
      for (let i = 0; i < now.length; i++) if (now[i] !== before[i]) set[`${field}.${i}`] = now[i];
    };
    changedElements('members', members, prev.members);
    changedElements('refs', refs, prev.refs);
    changedElements('timeline', timeline, prev.timeline);
    return { updateOne: { filter: { _id }, update: { $set: set } } };
  }

  private refsOf(incident: Incident): MemberRef[] {
    let known = this.refsByPoint.get(incident.id);
    const prev = known ?? new Map((this.refs.get(incident.id) ?? []).map((r) => [r.p, r]));
    known ??= new Map();
    const refs = incident.members.map((m) => {
      let ref = known.get(m.pointId);
      if (!ref) {
        const p = this.points.get(m.pointId);
        ref = p ? { p: p.id, r: p.regionId, s: p.sharing, o: p.org } : (prev.get(m.pointId) ?? { p: m.pointId, r: '', s: 'own', o: '' });
        known.set(m.pointId, ref);
      }
      return ref;
    });
    if (incident.state === 'open') {
      this.refs.set(incident.id, refs);
      this.refsByPoint.set(incident.id, known);
    } else {
      this.refs.delete(incident.id);
      this.refsByPoint.delete(incident.id);
    }
    return refs;
  }

  // ---- reads ------------------------------------------------------------------------------------------------

  /** The incident as a viewer may see it: only visible members, counts over them; null when none is visible. */
  private view(incident: Incident, viewer: Viewer, tree: RegionTree, withTimeline: boolean, refs?: MemberRef[]): IncidentView | null {
    const byId = new Map((refs ?? this.refs.get(incident.id) ?? []).map((r) => [r.p, r]));
    const visible = (pointId: string): boolean => {
      const p = this.points.get(pointId);
      const ref = byId.get(pointId);
      if (p) return canSeePoint(viewer, tree, p);
      return ref ? canSeePoint(viewer, tree, { regionId: ref.r, sharing: sharingOf(ref.s), org: ref.o }) : false;
    };
    const members = incident.members.filter((m) => visible(m.pointId));
    if (members.length === 0) return null;
    const counts = { firing: 0, suppressed: 0, flapping: 0, ended: 0 };
    for (const m of members) {
      if (m.state === 'firing') counts.firing++;
      else if (m.state === 'suppressed') counts.suppressed++;
      else if (m.state === 'flapping') counts.flapping++;
      else counts.ended++;
    }
    return {
      id: incident.id,
      policyId: incident.policyId,
      policyName: this.policyNames.get(incident.policyId) ?? '',
      groupBy: incident.groupBy,
      groupKey: incident.groupBy === 'org' || visible(incident.groupKey) || tree.has(incident.groupKey) ? incident.groupKey : '',
      state: incident.state,
      openedAt: incident.openedAt,
      resolvedAt: incident.resolvedAt,
      revision: incident.revision,
      announced: incident.announced,
      ackedAt: incident.ackedAt,
      ackedBy: incident.ackedBy,
      assignee: incident.assignee,
      counts,
      members: members.map((m) => {
        const p = this.points.get(m.pointId);
        const ref = byId.get(m.pointId);
        return { ...m, name: p?.name ?? '', gbCode: p?.gbCode ?? '', regionId: p?.regionId ?? ref?.r ?? '', org: p?.org ?? ref?.o ?? '' };
      }),
      ...(withTimeline ? { timeline: incident.timeline.filter((e) => e.pointId === null || visible(e.pointId)) } : {}),
    };
  }

  async list(principal: Principal, q: IncidentListQuery): Promise<IncidentPage> {
    const viewer = viewerOf(principal);
    const tree = this.deps.regions.current();
    const and: Array<Record<string, unknown>> = [];
    // the member filters and the visibility rule must hold for one and the same member: a filter matched by a
    // member the caller cannot see would tell him that a hidden point of that region, organisation or id is in it
    const member: Array<Record<string, unknown>> = [];
    const vis = pointFilter(viewer, tree, { regionId: 'r', sharing: 's', org: 'o' });
    if (vis) member.push(vis);
    if (q.regionId) member.push({ r: { $in: tree.subtree(q.regionId) } });
    if (q.org) member.push({ o: q.org });
    if (q.pointId) member.push({ p: q.pointId });
    if (member.length) and.push({ refs: { $elemMatch: member.length === 1 ? member[0] : { $and: member } } });
    if (q.state) and.push({ state: q.state });
    if (q.mine) and.push({ assignee: principal.userId });
    if (q.acked !== undefined) and.push({ ackedAt: q.acked ? { $ne: null } : null });
    if (q.cursor) and.push({ _id: { $lt: new Types.ObjectId(q.cursor) } });
    const docs = await this.incidentModel
      .find(and.length ? { $and: and } : {}, { timeline: 0, book: 0, pending: 0 })
      .sort({ _id: -1 })
      .limit(q.limit + 1)
      .lean<IncidentDoc[]>();
    const more = docs.length > q.limit;
    const page = docs.slice(0, q.limit);
    const items = page.map((d) => this.view({ ...incidentOf(d), timeline: [] }, viewer, tree, false, d.refs)).filter((v): v is IncidentView => v !== null);
    return { items, nextCursor: more ? page[page.length - 1]._id.toHexString() : null };
  }

  private async load(principal: Principal, id: string): Promise<{ incident: Incident; view: IncidentView; refs: MemberRef[] | undefined }> {
    if (!Types.ObjectId.isValid(id)) throw AppError.notFound('incident');
    const live = this.engine.get(id);
    const doc = live ? null : await this.incidentModel.findById(id).lean<IncidentDoc>();
    const incident = live ?? (doc ? incidentOf(doc) : null);
    if (!incident) throw AppError.notFound('incident');
    const view = this.view(incident, viewerOf(principal), this.deps.regions.current(), true, doc?.refs);
    if (!view) throw AppError.notFound('incident');
    return { incident, view, refs: doc?.refs };
  }

  async get(principal: Principal, id: string): Promise<IncidentView> {
    return (await this.load(principal, id)).view;
  }

  // ---- actions ----------------------------------------------------------------------------------------------

  private async act(principal: Principal, id: string, action: string, apply: () => Incident | undefined, meta: unknown = null): Promise<IncidentView> {
    const { incident } = await this.load(principal, id);
    if (incident.state !== 'open') throw new AppError('conflict', 'the incident is resolved; a new outage opens a new incident');
    if (!apply()) throw new AppError('conflict', 'the incident is resolved; a new outage opens a new incident');
    await this.flush();
    await this.deps.audit({ actor: actorOf(principal), action: `incident.${action}`, entity: 'alert', entityId: id, before: null, after: meta });
    return this.get(principal, id);
  }

  acknowledge(principal: Principal, id: string): Promise<IncidentView> {
    return this.act(principal, id, 'acknowledge', () => this.engine.acknowledge(id, principal.username, Date.now()));
  }

  comment(principal: Principal, id: string, text: string): Promise<IncidentView> {
    return this.act(principal, id, 'comment', () => this.engine.comment(id, text, principal.username, Date.now()), { text });
  }

  close(principal: Principal, id: string): Promise<IncidentView> {
    return this.act(principal, id, 'close', () => this.engine.close(id, principal.username, Date.now()));
  }

  /**
   * Who the incident may be assigned to: enabled technicians of a maintainer organisation of a member the
   * caller sees, who can see the incident themselves (a technician scoped elsewhere would be handed an
   * incident he cannot open).
   */
  private mayTake(
    incident: Incident,
    view: IncidentView,
    refs: MemberRef[] | undefined,
    u: { role: string; maintainerOrg: string | null; scopeRegionId: string | null; disabled: boolean },
  ): boolean {
    if (u.disabled || u.role !== 'technician' || !u.maintainerOrg) return false;
    const org = u.maintainerOrg;
    if (!view.members.some((m) => m.org === org)) return false;
    return this.view(incident, viewerOf({ role: 'technician', scopeRegionId: u.scopeRegionId, maintainerOrg: org }), this.deps.regions.current(), false, refs) !== null;
  }

  async assignees(principal: Principal, id: string): Promise<{ items: IncidentAssignee[] }> {
    const { incident, view, refs } = await this.load(principal, id);
    const orgs = [...new Set(view.members.map((m) => m.org).filter(Boolean))];
    if (orgs.length === 0) return { items: [] };
    const users = await this.deps.technicians(orgs);
    const items = users
      .filter((u) => this.mayTake(incident, view, refs, { ...u, role: 'technician', disabled: false }))
      .map((u) => ({ id: u.id, username: u.username, displayName: u.displayName, maintainerOrg: u.maintainerOrg }))
      .sort((a, b) => a.maintainerOrg.localeCompare(b.maintainerOrg) || a.username.localeCompare(b.username));
    return { items };
  }

  /** Assigns to one of `assignees`: a technician of the points' maintainer organisation who can see the incident. */
  async assign(principal: Principal, id: string, userId: string): Promise<IncidentView> {
    const { incident, view, refs } = await this.load(principal, id);
    const user = await this.deps.user(userId);
    if (!user || user.disabled) throw new AppError('validation_failed', 'no such user', [{ field: 'userId', message: 'no such user' }]);
    if (!this.mayTake(incident, view, refs, user)) {
      const orgs = [...new Set(view.members.map((m) => m.org).filter(Boolean))];
      throw new AppError('validation_failed', "assign to a technician of the points' maintainer organisation who can see the incident", [
        { field: 'userId', message: `must be a technician of ${orgs.join(', ') || 'the maintainer organisation'} whose scope covers the incident` },
      ]);
    }
    return this.act(principal, id, 'assign', () => this.engine.assign(id, user.id, principal.username, Date.now(), user.username), { assignee: user.username });
  }

  // ---- policies ---------------------------------------------------------------------------------------------

  private async reloadPolicies(): Promise<void> {
    const docs = await this.policyModel.find().lean<AlertPolicyDoc[]>();
    this.policies = docs.map(policyOf);
    this.policyNames.clear();
    for (const p of this.policies) this.policyNames.set(p.id, p.name);
  }

  policyName(id: string): string {
    return this.policyNames.get(id) ?? '';
  }

  async listPolicies(principal: Principal): Promise<{ items: AlertPolicyView[] }> {
    const docs = await this.policyModel.find().sort({ priority: 1, name: 1 }).lean<AlertPolicyDoc[]>();
    return { items: docs.filter((d) => this.canRead(principal, d)).map(policyView) };
  }

  async getPolicy(principal: Principal, id: string, write = false): Promise<AlertPolicyView> {
    const d = Types.ObjectId.isValid(id) ? await this.policyModel.findById(id).lean<AlertPolicyDoc>() : null;
    if (!d || !this.canRead(principal, d)) throw AppError.notFound('alert policy');
    if (write && !this.canWrite(principal, d)) throw new AppError('forbidden', 'the policy covers regions outside your scope');
    return policyView(d);
  }

  /**
   * A scoped admin's policies are bound to his subtree: the regions named must lie inside it (others are
   * "not found", like everywhere), and a policy naming none is bound to his scope root.
   */
  private scoped(principal: Principal, input: AlertPolicyInput): AlertPolicyInput {
    const tree = this.deps.regions.current();
    input.match.regionIds.forEach((r, i) => {
      if (!tree.has(r) || !regionInScope(principal, tree, r)) throw refNotFound(`match.regionIds.${i}`, 'region');
    });
    if (principal.scopeRegionId !== null && input.match.regionIds.length === 0) return { ...input, match: { ...input.match, regionIds: [principal.scopeRegionId] } };
    return input;
  }

  /** Reads: a global caller sees every policy, a scoped one those naming a region he can see. */
  private canRead(principal: Principal, p: AlertPolicyInput): boolean {
    if (principal.scopeRegionId === null) return true;
    const tree = this.deps.regions.current();
    return p.match.regionIds.some((r) => canSeeRegion(principal, tree, r));
  }

  /** Writes: every region the policy names lies inside the caller's subtree (a global policy: global admins only). */
  private canWrite(principal: Principal, p: AlertPolicyInput): boolean {
    if (principal.scopeRegionId === null) return true;
    const tree = this.deps.regions.current();
    return p.match.regionIds.length > 0 && p.match.regionIds.every((r) => regionInScope(principal, tree, r));
  }

  /**
   * Every channel and user a policy names exists: a receiver that is not there routes messages nowhere, and
   * nobody would learn of it before an outage went unannounced. Not found names the receiver's field.
   */
  private async checkReceivers(input: AlertPolicyInput): Promise<void> {
    const named: Array<{ field: string; r: AlertPolicyInput['receivers'][number] }> = [
      ...input.receivers.map((r, i) => ({ field: `receivers.${i}.id`, r })),
      ...input.escalation.steps.flatMap((s, si) => s.receivers.map((r, i) => ({ field: `escalation.steps.${si}.receivers.${i}.id`, r }))),
    ];
    for (const { field, r } of named) {
      if (r.kind === 'org') continue;
      const exists = r.kind === 'channel' ? await this.deps.channelExists(r.id) : (await this.deps.user(r.id)) !== null;
      if (!exists) throw new AppError('not_found', `${field}: ${r.kind} not found`, [{ field, message: `${r.kind} not found` }]);
    }
  }

  /** The names of the policies that name this channel among their receivers or escalation steps. */
  policiesNamingChannel(channelId: string): string[] {
    return this.policiesNaming('channel', channelId);
  }

  /** The names of the policies that name this user among their receivers or escalation steps. */
  policiesNamingUser(userId: string): string[] {
    return this.policiesNaming('user', userId);
  }

  private policiesNaming(kind: 'channel' | 'user', id: string): string[] {
    const names = (rs: AlertPolicyInput['receivers']): boolean => rs.some((r) => r.kind === kind && r.id === id);
    return this.policies.filter((p) => names(p.receivers) || p.escalation.steps.some((s) => names(s.receivers))).map((p) => p.name);
  }

  async createPolicy(principal: Principal, raw: AlertPolicyInput): Promise<AlertPolicyView> {
    const input = this.scoped(principal, raw);
    await this.checkReceivers(input);
    const now = new Date();
    try {
      const doc = await this.policyModel.create({ ...input, version: 1, createdAt: now, updatedAt: now });
      await this.reloadPolicies();
      const view = policyView(doc.toObject<AlertPolicyDoc>());
      await this.deps.audit({ actor: actorOf(principal), action: 'policy.create', entity: 'alert', entityId: view.id, before: null, after: view });
      return view;
    } catch (err) {
      if (isDuplicateKey(err)) throw new AppError('conflict', `a policy named ${input.name} exists`, [{ field: 'name', message: 'already exists' }]);
      throw err;
    }
  }

  async updatePolicy(principal: Principal, id: string, raw: AlertPolicyInput, expectedVersion?: number): Promise<AlertPolicyView> {
    const before = await this.getPolicy(principal, id, true);
    if (expectedVersion !== undefined && expectedVersion !== before.version) {
      throw new AppError('conflict', `the policy was changed meanwhile (current version ${before.version})`, [{ field: 'version', message: 'stale' }]);
    }
    const input = this.scoped(principal, raw);
    await this.checkReceivers(input);
    let d: AlertPolicyDoc | null;
    try {
      d = await this.policyModel
        .findOneAndUpdate({ _id: new Types.ObjectId(id), version: before.version }, { $set: { ...input, updatedAt: new Date() }, $inc: { version: 1 } }, { returnDocument: 'after' })
        .lean<AlertPolicyDoc>();
    } catch (err) {
      if (isDuplicateKey(err)) throw new AppError('conflict', `a policy named ${input.name} exists`, [{ field: 'name', message: 'already exists' }]);
      throw err;
    }
    if (!d) throw new AppError('conflict', 'the policy was changed meanwhile', [{ field: 'version', message: 'stale' }]);
    await this.reloadPolicies();
    const view = policyView(d);
    await this.deps.audit({ actor: actorOf(principal), action: 'policy.update', entity: 'alert', entityId: id, before, after: view });
    return view;
  }

  async deletePolicy(principal: Principal, id: string): Promise<void> {
    const before = await this.getPolicy(principal, id, true);
    if (this.engine.openIncidents().some((i) => i.policyId === id)) {
      throw new AppError('conflict', 'the policy has open incidents: disable it instead, and delete it once they are resolved');
    }
    await this.policyModel.deleteOne({ _id: new Types.ObjectId(id) });
    await this.reloadPolicies();
    await this.deps.audit({ actor: actorOf(principal), action: 'policy.delete', entity: 'alert', entityId: id, before, after: null });
  }

  /** Whether any member of the incident is still active (used by tests and the console). */
  static isActive(incident: Incident): boolean {
    return incident.members.some((m) => activeMemberStates.has(m.state));
  }
}
