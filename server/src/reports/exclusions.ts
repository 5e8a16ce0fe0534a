import { Schema, Types, type Connection, type Model } from 'mongoose';
import { canSeePoint, regionInScope, viewerOf, type PointRef } from '../auth/scope';
import { pointsCollection, storeId } from '../cameras/read-model';
import { pointVisibilityFilter } from '../cameras/visibility';
import { actorOf, type Principal } from '../contracts/access';
import type { Exclusion, ExclusionDecision, ExclusionInput, ExclusionReason, ExclusionState, RateExclusion } from '../contracts/exclusions';
import type { Sharing } from '../contracts/vocabulary';
import { AppError } from '../lib/errors';
import type { RegionTree } from '../regions/tree';

/**
 * Exclusion requests (停电 power cut, 施工 roadworks, 不可抗力 force majeure): a requester names points or a
 * region, a period, a reason and evidence; an approver approves or rejects; an approved request takes its
 * period out of the online-rate denominator of its points (online-rate.ts asks `lookup`), and the report's rows
 * name it with its reason and approver. Every step is audited.
 *
 * Who may do what:
 * | step     | who                                                                                              |
 * |----------|--------------------------------------------------------------------------------------------------|
 * | request  | `report:exclude` (admin, operator, planner); the points / region must lie in the requester's subtree and be visible to him |
 * | see      | the requester, and callers whose subtree holds the request's region                              |
 * | decide   | `report:approve`, never the requester himself, the request's region inside the approver's subtree, and: an admin; or a planner whose scope is strictly wider than the requester's (global ⊃ any scoped; an ancestor ⊃ its descendants) |
 *
 * A region request covers the points of that subtree the requester sees when he asks (fixed then: a point moved
 * or added later is not covered silently). Decisions are one-way (pending → approved | rejected).
 */

interface ExclusionDoc {
  _id: Types.ObjectId;
  state: ExclusionState;
  reason: ExclusionReason;
  from: Date;
  to: Date;
  regionId: string;
  pointIds: string[];
  evidence: { text: string; urls: string[] };
  requestedBy: { userId: string; username: string; role: string; scopeRegionId: string | null };
  requestedAt: Date;
  decidedBy: { userId: string; username: string } | null;
  decidedAt: Date | null;
  comment: string;
}

const exclusionSchema = new Schema<ExclusionDoc>(
  {
    state: { type: String, required: true },
    reason: { type: String, required: true },
    from: { type: Date, required: true },
    to: { type: Date, required: true },
    regionId: { type: String, required: true },
    pointIds: { type: [String], required: true },
    evidence: { type: Schema.Types.Mixed, required: true },
    requestedBy: { type: Schema.Types.Mixed, required: true },
    requestedAt: { type: Date, required: true },
    decidedBy: { type: Schema.Types.Mixed, default: null },
    decidedAt: { type: Date, default: null },
    comment: { type: String, default: '' },
  },
  { collection: 'report_exclusions', versionKey: false, minimize: false },
);
// the rate's lookup: approved requests whose period ends after the range starts
exclusionSchema.index({ state: 1, to: 1 });

function exclusionModel(conn: Connection): Model<ExclusionDoc> {
  return (conn.models.ReportExclusion as Model<ExclusionDoc> | undefined) ?? conn.model<ExclusionDoc>('ReportExclusion', exclusionSchema);
}

/** One approved period of one point, clipped to the asked range (epoch ms), with what the report names. */
export interface ExclusionWindow {
  from: number;
  to: number;
  exclusion: RateExclusion;
}

/**
 * THE question the online-rate code asks: approved exclusion periods of these points overlapping [from, to),
 * clipped to it, per point. Any rate path (per point from history, or pre-aggregated sums) takes these
 * periods out of its denominator.
 */
export type ExclusionLookup = (ids: ReadonlySet<string>, from: number, to: number) => Promise<Map<string, ExclusionWindow[]>>;

export interface ExclusionDeps {
  conn: Connection;
  regions: { current(): RegionTree };
  audit(entry: { actor: ReturnType<typeof actorOf>; action: string; entityId: string; before: unknown; after: unknown; regionIds: string[] }): Promise<void>;
  now?: () => number;
}

/** Most points one request may cover (a district's power cut at a province's scale stays one document). */
const MAX_POINTS = 100_000;

interface PointRow {
  id: string;
  ref: PointRef;
  /** Where the point counts: its grid, else its region. */
  leaf: string;
}

export class ExclusionService {
  private readonly model: Model<ExclusionDoc>;

  constructor(private readonly deps: ExclusionDeps) {
    this.model = exclusionModel(deps.conn);
  }

  async start(): Promise<void> {
    await this.model.createIndexes();
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** The stored points by id (those that exist), with what the visibility rule reads. */
  private async pointRows(filter: Record<string, unknown>, principal: Principal | null): Promise<PointRow[]> {
    const tree = this.deps.regions.current();
    const visibility = principal ? pointVisibilityFilter(viewerOf(principal), tree) : null;
    const cursor = pointsCollection(this.deps.conn).find(visibility ? { $and: [filter, visibility] } : filter, {
      projection: { _id: 1, regionId: 1, gridId: 1, sharing: 1, 'maintainer.org': 1 },
      batchSize: 5000,
    });
    const out: PointRow[] = [];
    for await (const p of cursor) {
      const regionId = String(p.regionId);
      const gridId = p.gridId ? String(p.gridId) : null;
      const sharing: Sharing = p.sharing === 'up' || p.sharing === 'all' ? p.sharing : 'own';
      out.push({ id: String(p._id), ref: { regionId, sharing, org: p.maintainer?.org ?? '' }, leaf: gridId && tree.has(gridId) ? gridId : regionId });
    }
    return out;
  }

  /** The deepest node holding every given node (null when they share no root). */
  private commonAncestor(tree: RegionTree, ids: string[]): string | null {
    let common: string[] | null = null;
    for (const id of new Set(ids)) {
      const path = tree.ancestorsOrSelf(id).slice().reverse();
      if (common === null) common = path;
      else {
        let i = 0;
        while (i < common.length && i < path.length && common[i] === path[i]) i++;
        common = common.slice(0, i);
      }
    }
    return common && common.length ? common[common.length - 1] : null;
  }

  async create(principal: Principal, input: ExclusionInput): Promise<Exclusion> {
    const tree = this.deps.regions.current();
    const notFound = (field: string, what: string): AppError => new AppError('not_found', `${field}: ${what} not found`, [{ field, message: `${what} not found` }]);
    let regionId: string;
    let pointIds: string[];
    if (input.regionId !== undefined) {
      regionId = input.regionId;
      const node = tree.get(regionId);
      if (!node || !regionInScope(principal, tree, regionId)) throw notFound('regionId', 'region');
      const where =
        node.tier === 'grid' ? { gridId: storeId(regionId) } : { regionId: { $in: tree.subtree(regionId).filter((id) => tree.tierOf(id) !== 'grid').map(storeId) } };
      const inRegion = new Set(tree.subtree(regionId));
      // a community-wide request covers the community's points in any of its grids, a grid's those of that grid only
      pointIds = (await this.pointRows(where, principal)).filter((p) => inRegion.has(p.leaf)).map((p) => p.id);
      if (pointIds.length === 0) throw new AppError('validation_failed', 'regionId: no point you can see lies in this region', [{ field: 'regionId', message: 'holds no point you can see' }]);
    } else {
      const asked = [...new Set(input.pointIds ?? [])];
      const rows = new Map((await this.pointRows({ _id: { $in: asked.map(storeId) } }, principal)).map((p) => [p.id, p]));
      asked.forEach((id, i) => {
        const p = rows.get(id);
        // points outside the requester's subtree are not his to exclude (as with every write)
        if (!p || !regionInScope(principal, tree, p.leaf)) throw notFound(`pointIds.${i}`, 'camera point');
      });
      pointIds = asked;
      regionId = this.commonAncestor(tree, asked.map((id) => (rows.get(id) as PointRow).leaf)) ?? (rows.get(asked[0]) as PointRow).ref.regionId;
    }
    if (pointIds.length > MAX_POINTS) {
      throw new AppError('validation_failed', `a request covers at most ${MAX_POINTS} points`, [{ field: 'regionId', message: `more than ${MAX_POINTS} points` }]);
    }
    const now = new Date(this.now());
    const doc = await this.model.create({
      state: 'pending',
      reason: input.reason,
      from: new Date(input.from),
      to: new Date(input.to),
      regionId,
      pointIds,
      evidence: { text: input.evidence.text, urls: input.evidence.urls },
      requestedBy: { userId: principal.userId, username: principal.username, role: principal.role, scopeRegionId: principal.scopeRegionId },
      requestedAt: now,
      decidedBy: null,
      decidedAt: null,
      comment: '',
    });
    const plain = doc.toObject();
    await this.deps.audit({ actor: actorOf(principal), action: 'exclusion.request', entityId: plain._id.toHexString(), before: null, after: this.auditView(plain), regionIds: [regionId] });
    return (await this.views(principal, [plain]))[0];
  }

  /** The requester, and callers whose subtree holds the request's region. */
  private visibleTo(principal: Principal, d: ExclusionDoc, tree: RegionTree): boolean {
    return d.requestedBy.userId === principal.userId || (tree.has(d.regionId) && regionInScope(principal, tree, d.regionId));
  }

  /** The approver rule (see the table above); `why` says what is missing. */
  decisionRule(principal: Principal, d: Pick<ExclusionDoc, 'requestedBy' | 'regionId'>, tree: RegionTree): { ok: true } | { ok: false; why: string } {
    if (principal.role !== 'admin' && principal.role !== 'planner') return { ok: false, why: 'only an admin or a planner approves exclusions' };
    if (principal.userId === d.requestedBy.userId) return { ok: false, why: 'a requester cannot decide his own request' };
    if (!regionInScope(principal, tree, d.regionId)) return { ok: false, why: 'the request lies outside your scope' };
    if (principal.role === 'admin') return { ok: true };
    const mine = principal.scopeRegionId;
    const theirs = d.requestedBy.scopeRegionId;
    const wider = mine === null ? theirs !== null : theirs !== null && theirs !== mine && tree.within(mine, theirs);
    return wider ? { ok: true } : { ok: false, why: 'a planner approves only requests from a narrower scope than his own' };
  }

  async get(principal: Principal, id: string): Promise<Exclusion> {
    const d = await this.model.findById(id).lean<ExclusionDoc>();
    if (!d || !this.visibleTo(principal, d, this.deps.regions.current())) throw AppError.notFound('exclusion request');
    return (await this.views(principal, [d]))[0];
  }

  async list(principal: Principal, q: { state?: ExclusionState; limit: number }): Promise<{ items: Exclusion[] }> {
    const tree = this.deps.regions.current();
    const docs = await this.model
      .find(q.state ? { state: q.state } : {})
      .sort({ _id: -1 })
      .limit(5000)
      .lean<ExclusionDoc[]>();
    const mine = docs.filter((d) => this.visibleTo(principal, d, tree)).slice(0, q.limit);
    return { items: await this.views(principal, mine) };
  }

  async decide(principal: Principal, id: string, approve: boolean, body: ExclusionDecision): Promise<Exclusion> {
    const tree = this.deps.regions.current();
    const d = await this.model.findById(id).lean<ExclusionDoc>();
    if (!d || !this.visibleTo(principal, d, tree)) throw AppError.notFound('exclusion request');
    const rule = this.decisionRule(principal, d, tree);
    if (!rule.ok) throw new AppError('forbidden', rule.why);
    const state: ExclusionState = approve ? 'approved' : 'rejected';
    // one decision only: the update applies to a request still pending
    const after = await this.model
      .findOneAndUpdate(
        { _id: d._id, state: 'pending' },
        { $set: { state, decidedBy: { userId: principal.userId, username: principal.username }, decidedAt: new Date(this.now()), comment: body.comment } },
        { returnDocument: 'after' },
      )
      .lean<ExclusionDoc>();
    if (!after) throw new AppError('conflict', `the request was already ${d.state === 'pending' ? 'decided' : d.state}`);
    await this.deps.audit({
      actor: actorOf(principal),
      action: approve ? 'exclusion.approve' : 'exclusion.reject',
      entityId: id,
      before: this.auditView(d),
      after: this.auditView(after),
      regionIds: [d.regionId],
    });
    return (await this.views(principal, [after]))[0];
  }

  /** What the audit trail keeps (the point list as a count: a district-wide request would bury the entry). */
  private auditView(d: ExclusionDoc): Record<string, unknown> {
    return {
      state: d.state,
      reason: d.reason,
      from: d.from.toISOString(),
      to: d.to.toISOString(),
      regionId: d.regionId,
      pointCount: d.pointIds.length,
      pointIds: d.pointIds.length <= 100 ? d.pointIds : undefined,
      evidence: d.evidence,
      requestedBy: d.requestedBy.username,
      decidedBy: d.decidedBy?.username ?? null,
      comment: d.comment,
    };
  }

  private async views(principal: Principal, docs: ExclusionDoc[]): Promise<Exclusion[]> {
    const tree = this.deps.regions.current();
    const viewer = viewerOf(principal);
    const ids = [...new Set(docs.flatMap((d) => d.pointIds))];
    const refs = new Map<string, PointRef>();
    for (let i = 0; i < ids.length; i += 5000) {
      for (const p of await this.pointRows({ _id: { $in: ids.slice(i, i + 5000).map(storeId) } }, null)) refs.set(p.id, p.ref);
    }
    return docs.map((d) => ({
      id: d._id.toHexString(),
      state: d.state,
      reason: d.reason,
      from: d.from.toISOString(),
      to: d.to.toISOString(),
      regionId: d.regionId,
      regionName: tree.get(d.regionId)?.name ?? '',
      // points the caller may not see stay unnamed; the count says how many there are in all
      pointIds: d.pointIds.filter((id) => {
        const ref = refs.get(id);
        return ref !== undefined && canSeePoint(viewer, tree, ref);
      }),
      pointCount: d.pointIds.length,
      evidence: { text: d.evidence.text, urls: [...d.evidence.urls] },
      requestedBy: { userId: d.requestedBy.userId, username: d.requestedBy.username, scopeRegionId: d.requestedBy.scopeRegionId },
      requestedAt: d.requestedAt.toISOString(),
      decidedBy: d.decidedBy ? { userId: d.decidedBy.userId, username: d.decidedBy.username } : null,
      decidedAt: d.decidedAt ? d.decidedAt.toISOString() : null,
      comment: d.comment,
      canDecide: d.state === 'pending' && this.decisionRule(principal, d, tree).ok,
    }));
  }

  /** The rate code's lookup (see ExclusionLookup). */
  readonly lookup: ExclusionLookup = async (ids, from, to) => {
    const out = new Map<string, ExclusionWindow[]>();
    if (ids.size === 0 || to <= from) return out;
    const docs = await this.model
      .find({ state: 'approved', to: { $gt: new Date(from) }, from: { $lt: new Date(to) } })
      .lean<ExclusionDoc[]>();
    for (const d of docs) {
      const exclusion: RateExclusion = {
        id: d._id.toHexString(),
        reason: d.reason,
        approver: d.decidedBy?.username ?? '',
        from: d.from.toISOString(),
        to: d.to.toISOString(),
      };
      const window = { from: Math.max(from, d.from.getTime()), to: Math.min(to, d.to.getTime()), exclusion };
      for (const id of d.pointIds) {
        if (!ids.has(id)) continue;
        let list = out.get(id);
        if (!list) out.set(id, (list = []));
        list.push(window);
      }
    }
    return out;
  };
}
