import { Schema, Types, type Connection, type Model } from 'mongoose';
import { canSeePoint, canSeeRegion, pointPredicate, regionInScope, viewerOf, type Viewer } from '../../auth/scope';
import { actorOf, type Principal } from '../../contracts/access';
import type { CameraChange } from '../../cameras/events';
import type { PointMatcher } from '../../contracts/incidents';
import type { MaintenanceSchedule, MaintenanceWindowInput, MaintenanceWindowList, MaintenanceWindowView } from '../../contracts/maintenance';
import type { Calendar } from '../../lib/calendar';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { RegionTree } from '../../regions/tree';
import type { AlertPoint } from '../incidents/engine';
import { compileMatcher } from '../matcher';
import { occurrenceAt, upcoming } from './recurrence';
import { MaintenanceScheduler, type MaintenanceTarget, type WindowRule } from './scheduler';

interface WindowDoc {
  _id: Types.ObjectId;
  name: string;
  comment: string;
  enabled: boolean;
  matcher: PointMatcher;
  schedule: MaintenanceSchedule;
  /** The creator's view: a window only ever covers points its creator could see. */
  viewer: Viewer;
  createdBy: { userId: string; username: string };
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const windowSchema = new Schema<WindowDoc>(
  {
    name: { type: String, required: true },
    comment: { type: String, default: '' },
    enabled: { type: Boolean, required: true },
    matcher: { type: Schema.Types.Mixed, required: true },
    schedule: { type: Schema.Types.Mixed, required: true },
    viewer: { type: Schema.Types.Mixed, required: true },
    createdBy: { type: Schema.Types.Mixed, required: true },
    version: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'maintenance_windows', versionKey: false, minimize: false },
);

function windowModel(conn: Connection): Model<WindowDoc> {
  return (conn.models.MaintenanceWindow as Model<WindowDoc> | undefined) ?? conn.model<WindowDoc>('MaintenanceWindow', windowSchema);
}

/** Lists count covered points per window only below this many (windows × points) matcher evaluations. */
const COUNT_BUDGET = 2_000_000;

export interface MaintenanceDeps {
  conn: Connection;
  logger: Logger;
  regions: { current(): RegionTree };
  /** What alerting knows of every point (kept current from the registry). */
  points: { get(id: string): AlertPoint | undefined; ids(): Iterable<string>; readonly size: number };
  cameras: { onChange(listener: (c: CameraChange) => void): () => void };
  target: MaintenanceTarget;
  calendar: Calendar;
  clock: () => number;
  tickMs: number;
  audit(entry: { actor: ReturnType<typeof actorOf>; action: string; entity: 'alert'; entityId: string; before: unknown; after: unknown; regionIds: string[] }): Promise<void>;
}

/**
 * Maintenance windows: one-off or recurring (weekly, monthly, cron + duration) in the one zone (REPORT_TZ),
 * over points, region subtrees, organisations and tags. While a window is open, monitoring holds the points it
 * covers in MAINTENANCE (the scheduler): checks go on but announce nothing, the time is excluded from online
 * rates, and the incident engine ends their members and opens nothing for them. When it closes, a point still
 * failing comes out DOWN and is announced through the incident engine like any other outage.
 *
 * Visibility (the one rule, auth/scope.ts): a window covers only points its creator can see; a scoped admin's
 * windows are bound to his subtree (the regions named must lie in it; none named = his scope root); readers see
 * a window when it concerns a region they can see (technicians: and their organisation). Every write is audited.
 */
export class MaintenanceService {
  readonly scheduler: MaintenanceScheduler;
  private readonly model: Model<WindowDoc>;
  private rules: WindowRule[] = [];
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: MaintenanceDeps) {
    this.model = windowModel(deps.conn);
    this.scheduler = new MaintenanceScheduler({
      windows: () => this.rules,
      points: deps.points,
      tree: () => deps.regions.current(),
      target: deps.target,
      calendar: deps.calendar,
      clock: deps.clock,
      logger: deps.logger,
      tickMs: deps.tickMs,
    });
  }

  /** Loads the windows and puts every point's state right (after incidents started: the transitions reach them). */
  async start(): Promise<void> {
    await this.reload();
    this.unsubscribe = this.deps.cameras.onChange((c) => {
      if (c.kind !== 'delete') this.scheduler.pointChanged(c.id);
    });
    await this.scheduler.start();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.scheduler.stop();
  }

  private async reload(): Promise<void> {
    const docs = await this.model.find().sort({ _id: 1 }).lean<WindowDoc[]>();
    this.rules = docs.map((d) => ({ id: d._id.toHexString(), name: d.name, enabled: d.enabled, matcher: d.matcher, schedule: d.schedule, viewer: d.viewer }));
  }

  private async changed(): Promise<void> {
    await this.reload();
    await this.scheduler.windowsChanged();
  }

  /** The regions a window is bound to: those it names, else its creator's scope root (null: a global window). */
  private boundOf(d: Pick<WindowDoc, 'matcher' | 'viewer'>): string[] | null {
    if (d.matcher.regionIds.length) return d.matcher.regionIds;
    return d.viewer.scopeRegionId === null ? null : [d.viewer.scopeRegionId];
  }

  private visibleTo(principal: Principal, d: WindowDoc): boolean {
    if (d.createdBy.userId === principal.userId) return true;
    const tree = this.deps.regions.current();
    const viewer = viewerOf(principal);
    if (viewer.maintainerOrg !== null && d.matcher.orgs.length > 0 && !d.matcher.orgs.includes(viewer.maintainerOrg)) return false;
    if (principal.scopeRegionId === null) return true;
    const bound = this.boundOf(d);
    if (bound) return bound.some((r) => canSeeRegion(principal, tree, r));
    // a global window naming no region: visible when it names a point the caller sees, or names none
    return (
      d.matcher.pointIds.length === 0 ||
      d.matcher.pointIds.some((id) => {
        const p = this.deps.points.get(id);
        return p !== undefined && canSeePoint(viewer, tree, p);
      })
    );
  }

  /** Writes: every region the window is bound to lies inside the caller's subtree (a global window: global admins). */
  private writableBy(principal: Principal, d: WindowDoc): boolean {
    if (principal.scopeRegionId === null) return true;
    const bound = this.boundOf(d);
    const tree = this.deps.regions.current();
    return bound !== null && bound.every((r) => regionInScope(principal, tree, r));
  }

  /** Checks what the input names against the caller's scope and binds a scoped admin's window to his subtree. */
  private scoped(principal: Principal, input: MaintenanceWindowInput): MaintenanceWindowInput {
    const tree = this.deps.regions.current();
    const viewer = viewerOf(principal);
    // what the caller cannot see is "not found", as everywhere; what he sees but may not change is forbidden
    const unknown = (field: string, what: string): AppError => new AppError('not_found', `${field}: ${what} not found`, [{ field, message: `${what} not found` }]);
    const outside = (field: string, what: string): AppError =>
      new AppError('forbidden', `${field}: the ${what} lies outside your region subtree`, [{ field, message: `${what} outside your region subtree` }]);
    input.matcher.regionIds.forEach((r, i) => {
      if (!tree.has(r) || !canSeeRegion(principal, tree, r)) throw unknown(`matcher.regionIds.${i}`, 'region');
      if (!regionInScope(principal, tree, r)) throw outside(`matcher.regionIds.${i}`, 'region');
    });
    input.matcher.pointIds.forEach((id, i) => {
      const p = this.deps.points.get(id);
      if (!p || !canSeePoint(viewer, tree, p)) throw unknown(`matcher.pointIds.${i}`, 'camera point');
      if (!regionInScope(principal, tree, p.regionId)) throw outside(`matcher.pointIds.${i}`, 'camera point');
    });
    if (input.schedule.kind === 'once' && Date.parse(input.schedule.endsAt) <= this.deps.clock()) {
      throw new AppError('validation_failed', 'schedule.endsAt: the window would be over already', [{ field: 'schedule.endsAt', message: 'must be in the future' }]);
    }
    if (principal.scopeRegionId !== null && input.matcher.regionIds.length === 0) {
      return { ...input, matcher: { ...input.matcher, regionIds: [principal.scopeRegionId] } };
    }
    return input;
  }

  private view(d: WindowDoc, principal: Principal, countCovered: boolean): MaintenanceWindowView {
    const now = this.deps.clock();
    const cal = this.deps.calendar;
    let covered: number | null = null;
    if (countCovered) {
      const tree = this.deps.regions.current();
      const matches = compileMatcher(d.matcher, tree);
      const creatorSees = pointPredicate(d.viewer, tree);
      const callerSees = pointPredicate(viewerOf(principal), tree);
      covered = 0;
      for (const id of this.deps.points.ids()) {
        const p = this.deps.points.get(id);
        if (p && matches(p) && creatorSees(p) && callerSees(p)) covered++;
      }
    }
    return {
      id: d._id.toHexString(),
      name: d.name,
      comment: d.comment,
      enabled: d.enabled,
      matcher: d.matcher,
      schedule: d.schedule,
      timeZone: cal.timeZone,
      active: d.enabled && occurrenceAt(d.schedule, now, cal) !== null,
      occurrences: upcoming(d.schedule, now, cal, 3).map((o) => ({ startsAt: new Date(o.start).toISOString(), endsAt: new Date(o.end).toISOString() })),
      coveredPoints: covered,
      version: d.version,
      createdBy: d.createdBy.username,
      createdAt: d.createdAt.toISOString(),
      updatedAt: d.updatedAt.toISOString(),
    };
  }

  private async find(principal: Principal, id: string): Promise<WindowDoc> {
    const d = Types.ObjectId.isValid(id) ? await this.model.findById(id).lean<WindowDoc>() : null;
    if (!d || !this.visibleTo(principal, d)) throw AppError.notFound('maintenance window');
    return d;
  }

  private async findWritable(principal: Principal, id: string): Promise<WindowDoc> {
    const d = await this.find(principal, id);
    if (!this.writableBy(principal, d)) throw new AppError('forbidden', 'the window covers regions outside your subtree');
    return d;
  }

  async list(principal: Principal): Promise<MaintenanceWindowList> {
    const all = await this.model.find().sort({ _id: -1 }).limit(1000).lean<WindowDoc[]>();
    const docs = all.filter((d) => this.visibleTo(principal, d));
    const pointCount = this.deps.points.size;
    const count = docs.length * pointCount <= COUNT_BUDGET;
    return { items: docs.map((d) => this.view(d, principal, count)), timeZone: this.deps.calendar.timeZone };
  }

  async get(principal: Principal, id: string): Promise<MaintenanceWindowView> {
    return this.view(await this.find(principal, id), principal, true);
  }

  async create(principal: Principal, raw: MaintenanceWindowInput): Promise<MaintenanceWindowView> {
    const input = this.scoped(principal, raw);
    const now = new Date();
    const doc = await this.model.create({
      ...input,
      viewer: viewerOf(principal),
      createdBy: { userId: principal.userId, username: principal.username },
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
    const d = doc.toObject<WindowDoc>();
    await this.changed();
    const view = this.view(d, principal, true);
    await this.audit(principal, 'maintenance.create', d, null, view);
    return view;
  }

  async update(principal: Principal, id: string, raw: MaintenanceWindowInput, expectedVersion?: number): Promise<MaintenanceWindowView> {
    const prev = await this.findWritable(principal, id);
    if (expectedVersion !== undefined && expectedVersion !== prev.version) {
      throw new AppError('conflict', `the window was changed meanwhile (current version ${prev.version})`, [{ field: 'version', message: 'stale' }]);
    }
    const before = this.view(prev, principal, false);
    const input = this.scoped(principal, raw);
    const d = await this.model
      .findOneAndUpdate({ _id: prev._id, version: prev.version }, { $set: { ...input, updatedAt: new Date() }, $inc: { version: 1 } }, { returnDocument: 'after' })
      .lean<WindowDoc>();
    if (!d) throw new AppError('conflict', 'the window was changed meanwhile', [{ field: 'version', message: 'stale' }]);
    await this.changed();
    const view = this.view(d, principal, true);
    await this.audit(principal, 'maintenance.update', d, before, view, prev);
    return view;
  }

  /** Deletes a window; if it is open, its points leave maintenance at once. */
  async remove(principal: Principal, id: string): Promise<void> {
    const prev = await this.findWritable(principal, id);
    const before = this.view(prev, principal, false);
    await this.model.deleteOne({ _id: prev._id });
    await this.changed();
    await this.audit(principal, 'maintenance.delete', prev, before, null);
  }

  private audit(principal: Principal, action: string, d: WindowDoc, before: unknown, after: unknown, prev?: WindowDoc): Promise<void> {
    // scoped auditors see the entry when a region it concerns lies in their subtree
    const regionIds = [...new Set([...(this.boundOf(d) ?? []), ...(prev ? (this.boundOf(prev) ?? []) : [])])];
    return this.deps.audit({ actor: actorOf(principal), action, entity: 'alert', entityId: d._id.toHexString(), before, after, regionIds });
  }
}
