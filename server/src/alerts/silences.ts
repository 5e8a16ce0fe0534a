import { Schema, Types, type Connection, type Model } from 'mongoose';
import { canSeePoint, canSeeRegion, regionInScope, viewerOf, type Viewer } from '../auth/scope';
import { actorOf, type Principal } from '../contracts/access';
import type { PointMatcher, SilenceInput, SilenceView } from '../contracts/incidents';
import { AppError } from '../lib/errors';
import type { RegionTree } from '../regions/tree';
import type { AlertPoint } from './incidents/engine';
import { matcherCovers } from './matcher';

interface SilenceDoc {
  _id: Types.ObjectId;
  matcher: PointMatcher;
  startsAt: Date;
  endsAt: Date;
  comment: string;
  createdBy: { userId: string; username: string };
  /** The creator's view: a silence only ever mutes points its creator can see. */
  viewer: Viewer;
  createdAt: Date;
  expiredBy: string | null;
}

const silenceSchema = new Schema<SilenceDoc>(
  {
    matcher: { type: Schema.Types.Mixed, required: true },
    startsAt: { type: Date, required: true },
    endsAt: { type: Date, required: true },
    comment: { type: String, required: true },
    createdBy: { type: Schema.Types.Mixed, required: true },
    viewer: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
    expiredBy: { type: String, default: null },
  },
  { collection: 'silences', versionKey: false, minimize: false },
);
silenceSchema.index({ endsAt: -1 });

function silenceModel(conn: Connection): Model<SilenceDoc> {
  return (conn.models.Silence as Model<SilenceDoc> | undefined) ?? conn.model<SilenceDoc>('Silence', silenceSchema);
}

export { matcherCovers };

export interface SilenceDeps {
  conn: Connection;
  regions: { current(): RegionTree };
  point(id: string): AlertPoint | undefined;
  audit(entry: { actor: ReturnType<typeof actorOf>; action: string; entity: 'alert'; entityId: string; before: unknown; after: unknown }): Promise<void>;
}

/**
 * Silences (Alertmanager's, with what its users miss): a matcher, a period, a creator and a comment. They mute
 * messages about the points they cover and nothing else — states, incidents and online-rate accounting are
 * untouched, and an incident that announced itself firing still announces its resolution. Every silence is
 * audited; a silence only covers points its creator can see.
 */
export class SilenceService {
  private readonly model: Model<SilenceDoc>;
  /** Silences not yet ended (kept in memory: the engine asks on every tick). */
  private current: SilenceDoc[] = [];

  constructor(private readonly deps: SilenceDeps) {
    this.model = silenceModel(deps.conn);
  }

  async start(): Promise<void> {
    await this.model.createIndexes();
    await this.reload();
  }

  private async reload(): Promise<void> {
    this.current = await this.model.find({ endsAt: { $gt: new Date() } }).lean<SilenceDoc[]>();
  }

  /** Whether messages about `p` are muted at `at`. */
  silenced(p: AlertPoint, at: number): boolean {
    if (this.current.length === 0) return false;
    const tree = this.deps.regions.current();
    for (const s of this.current) {
      if (at < s.startsAt.getTime() || at >= s.endsAt.getTime()) continue;
      if (matcherCovers(s.matcher, p, tree) && canSeePoint(s.viewer, tree, p)) return true;
    }
    return false;
  }

  private view(d: SilenceDoc, now = Date.now()): SilenceView {
    return {
      id: d._id.toHexString(),
      matcher: d.matcher,
      startsAt: d.startsAt.toISOString(),
      endsAt: d.endsAt.toISOString(),
      comment: d.comment,
      createdBy: d.createdBy.username,
      createdAt: d.createdAt.toISOString(),
      expiredBy: d.expiredBy,
      active: d.startsAt.getTime() <= now && now < d.endsAt.getTime(),
    };
  }

  /** A caller sees the silences whose creator's scope he can see (technicians: those of their organisation). */
  private visibleTo(principal: Principal, d: SilenceDoc): boolean {
    const tree = this.deps.regions.current();
    if (d.createdBy.userId === principal.userId) return true;
    if (d.viewer.scopeRegionId !== null && !canSeeRegion(principal, tree, d.viewer.scopeRegionId)) return false;
    if (principal.scopeRegionId !== null && d.viewer.scopeRegionId === null && d.matcher.regionIds.every((r) => !canSeeRegion(principal, tree, r))) return false;
    const org = viewerOf(principal).maintainerOrg;
    return org === null || d.viewer.maintainerOrg === org || d.matcher.orgs.includes(org);
  }

  async list(principal: Principal, activeOnly: boolean): Promise<{ items: SilenceView[] }> {
    const docs = await this.model
      .find(activeOnly ? { endsAt: { $gt: new Date() } } : {})
      .sort({ _id: -1 })
      .limit(1000)
      .lean<SilenceDoc[]>();
    return { items: docs.filter((d) => this.visibleTo(principal, d)).map((d) => this.view(d)) };
  }

  async create(principal: Principal, input: SilenceInput): Promise<SilenceView> {
    const tree = this.deps.regions.current();
    const viewer = viewerOf(principal);
    const bad = (field: string, message: string): AppError => new AppError('validation_failed', `${field}: ${message}`, [{ field, message }]);
    // what the caller cannot see is "not found", as everywhere
    const unknown = (field: string, what: string): AppError => new AppError('not_found', `${field}: ${what} not found`, [{ field, message: `${what} not found` }]);
    input.matcher.regionIds.forEach((r, i) => {
      if (!tree.has(r) || !regionInScope(principal, tree, r)) throw unknown(`matcher.regionIds.${i}`, 'region');
    });
    input.matcher.pointIds.forEach((id, i) => {
      const p = this.deps.point(id);
      if (!p || !canSeePoint(viewer, tree, p)) throw unknown(`matcher.pointIds.${i}`, 'camera point');
    });
    if (viewer.maintainerOrg !== null && input.matcher.orgs.some((o) => o !== viewer.maintainerOrg)) {
      throw bad('matcher.orgs', `technicians silence only their own organisation's points (${viewer.maintainerOrg})`);
    }
    const now = new Date();
    const doc = await this.model.create({
      matcher: input.matcher,
      startsAt: input.startsAt ? new Date(input.startsAt) : now,
      endsAt: new Date(input.endsAt),
      comment: input.comment,
      createdBy: { userId: principal.userId, username: principal.username },
      viewer,
      createdAt: now,
      expiredBy: null,
    });
    const view = this.view(doc.toObject());
    await this.deps.audit({ actor: actorOf(principal), action: 'silence.create', entity: 'alert', entityId: view.id, before: null, after: view });
    await this.reload();
    return view;
  }

  /** Ends a silence now (its creator, or an admin/operator who can see it). */
  async expire(principal: Principal, id: string): Promise<SilenceView> {
    const d = Types.ObjectId.isValid(id) ? await this.model.findById(id).lean<SilenceDoc>() : null;
    if (!d || !this.visibleTo(principal, d)) throw AppError.notFound('silence');
    if (d.createdBy.userId !== principal.userId && principal.role !== 'admin' && principal.role !== 'operator') {
      throw new AppError('forbidden', 'only its creator, an operator or an admin may end a silence');
    }
    const now = new Date();
    if (d.endsAt <= now) return this.view(d);
    const before = this.view(d);
    const after = await this.model.findByIdAndUpdate(d._id, { $set: { endsAt: now, expiredBy: principal.username } }, { returnDocument: 'after' }).lean<SilenceDoc>();
    if (!after) throw AppError.notFound('silence');
    const view = this.view(after);
    await this.deps.audit({ actor: actorOf(principal), action: 'silence.expire', entity: 'alert', entityId: id, before, after: view });
    await this.reload();
    return view;
  }
}
