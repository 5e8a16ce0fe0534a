import type { Connection } from 'mongoose';
import { canSeeRegion, pointPredicate, viewerOf } from '../auth/scope';
import type { AuditRecordInput } from '../audit/schema';
import { pointsCollection, storeId } from '../cameras/read-model';
import { pointVisibilityFilter } from '../cameras/visibility';
import type { Principal } from '../contracts/access';
import type { AssessmentFileQuery, AssessmentQuery, AssessmentReissue, AssessmentRule, AssessmentStatus, AssessmentVersion } from '../contracts/assessment';
import { sharingValues, type Sharing } from '../contracts/vocabulary';
import { monthsBefore, nextMonth } from '../lib/calendar';
import { AppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import type { HistoryRead } from '../monitoring';
import { RegionTree } from '../regions/tree';
import { assess, type AssessedPoint, type AssessmentSheet } from './assessment';
import { MonthCloseStore, type ClosedMonth, type Issuer } from './month-close';
import { pointRates, type RateQuery } from './online-rate';
import type { RegionSource } from './service';

export interface AssessmentOptions {
  conn: Connection;
  regions: RegionSource;
  history: HistoryRead;
  audit: (entry: AuditRecordInput) => Promise<void>;
  rule: AssessmentRule;
  /** A month closes this long after its end (REPORT_CLOSE_GRACE_HOURS). */
  graceMs: number;
  timeZone: string;
  logger: Logger;
  /**
   * Further options of the online-rate engine for every month's figures (the approved-exclusions lookup once
   * reports/exclusions.ts exists: `{ exclusions: lookup }`), so the assessment counts what the online rate counts.
   */
  engine?: Omit<Partial<RateQuery>, 'from' | 'to' | 'now' | 'snapshotTimes'>;
  now?: () => number;
}

/** A version as it was just frozen (its points, in the frozen order) or found stored (points null: read them from the store). */
interface Frozen {
  close: ClosedMonth;
  points: readonly AssessedPoint[] | null;
}

/** A month as the service handles it: key yyyymm, its bounds, and when it closes. */
interface MonthSpan {
  key: number;
  from: number;
  to: number;
  closesAt: number;
}

const SYSTEM: Issuer = { userId: '000000000000000000000000', username: 'system' };

const sharingOf = (v: unknown): Sharing => (sharingValues.includes(v as Sharing) ? (v as Sharing) : 'own');

/**
 * The monthly contractor assessment and the month close. An open month is computed from the current registry
 * and history (the online-rate engine's per-point figures); a month past its grace period is closed first
 * (frozen as version 1, month-close.ts) and then always answered from its frozen copy. Either way the caller
 * sees the points the one visibility rule gives him, in the region he asked for.
 */
export class AssessmentService {
  readonly store: MonthCloseStore;
  /** Closes in flight per month, so concurrent readers of a month that just became due close it once. */
  private readonly closing = new Map<number, Promise<Frozen>>();

  constructor(private readonly o: AssessmentOptions) {
    this.store = new MonthCloseStore(o.conn);
  }

  async init(): Promise<void> {
    await this.store.init();
    const swept = await this.store.sweep(this.now());
    if (swept) this.o.logger.warn('removed frozen points of month closes that never completed', { chunks: swept });
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  get rule(): AssessmentRule {
    return this.o.rule;
  }

  span(month: string | number): MonthSpan {
    const key = typeof month === 'number' ? month : Number(month.replace('-', ''));
    const cal = this.o.history.calendar;
    const from = cal.monthStart(key);
    const to = cal.monthStart(nextMonth(key));
    return { key, from, to, closesAt: to + this.o.graceMs };
  }

  /** The latest month whose grace period has passed at `now` (the one the scheduled job closes). */
  lastDueMonth(now: number): number {
    const cal = this.o.history.calendar;
    let key = cal.dayOf(now).month;
    while (this.span(key).closesAt > now) key = monthsBefore(key, 1);
    return key;
  }

  /** The assessment of a month as the caller may see it (JSON and the console). */
  async assessment(principal: Principal, q: AssessmentQuery): Promise<AssessmentSheet> {
    return this.sheet(principal, q, q.cameras);
  }

  /** The same assessment for the file: the sheet and the stamp its document properties carry. */
  async file(principal: Principal, q: AssessmentFileQuery): Promise<{ sheet: AssessmentSheet; stamp: Date; name: string }> {
    const sheet = await this.sheet(principal, q, 0);
    const a = sheet.assessment;
    const closed = a.status.state === 'closed' ? a.status.versions.find((v) => v.version === a.status.version) : undefined;
    const stamp = new Date(closed ? closed.issuedAt : Math.floor(this.now() / 1000) * 1000);
    const name = `assessment-${a.month}${a.region ? `-${a.region.id}` : ''}${closed ? `-v${closed.version}` : '-open'}.xlsx`;
    return { sheet, stamp, name };
  }

  private async sheet(principal: Principal, q: AssessmentFileQuery, cameraRows: number): Promise<AssessmentSheet> {
    const span = this.span(q.month);
    const now = this.now();
    if (span.from > now) throw new AppError('bad_request', 'month is in the future', [{ field: 'month', message: 'has not begun yet' }]);
    const current = this.o.regions.current();
    const regionId = this.regionOf(principal, current, q.region);

    let closed: ClosedMonth | null = null;
    let frozenPoints: readonly AssessedPoint[] | null = null;
    if (now >= span.closesAt) {
      if (q.version !== undefined) closed = await this.store.get(span.key, q.version);
      else ({ close: closed, points: frozenPoints } = await this.ensureClosed(span));
    }
    if (q.version !== undefined && !closed) throw new AppError('not_found', `month ${q.month} has no version ${q.version}`, [{ field: 'version', message: 'no such version' }]);
    const versions = (await this.store.versions(span.key)).map(versionOf);
    const status: AssessmentStatus = { state: closed ? 'closed' : 'open', closesAt: new Date(span.closesAt).toISOString(), version: closed?.version ?? null, versions };

    const common = { month: span.key, from: span.from, timeZone: this.o.timeZone, status, cameraRows };
    if (closed) {
      const tree = new RegionTree(closed.regions);
      const region = regionId === null ? null : (tree.get(regionId) ?? current.get(regionId) ?? null);
      const inRegion = regionId === null ? null : tree.subtreeSet(regionId);
      const sees = pointPredicate(viewerOf(principal), tree);
      // a close just made hands over the points it froze (the same rows the store now holds): no read-back
      const points = (frozenPoints ?? (await this.store.points(closed))).filter((p) => (inRegion === null || inRegion.has(p.regionId)) && sees(p));
      return assess({ ...common, to: span.to, tree, region, points, rule: closed.rule });
    }
    const points = await this.livePoints(span, principal, current, regionId);
    return assess({ ...common, to: Math.min(span.to, Math.floor(now / 1000) * 1000), tree: current, region: regionId === null ? null : (current.get(regionId) ?? null), points, rule: this.o.rule });
  }

  /** The region asked for (404 when unknown or out of view), else the caller's scope, else the one root (null: the whole registry). */
  private regionOf(principal: Principal, tree: RegionTree, asked: string | undefined): string | null {
    if (asked !== undefined) {
      if (!tree.get(asked) || !canSeeRegion(principal, tree, asked)) throw AppError.notFound('region');
      return asked;
    }
    if (principal.scopeRegionId !== null) return principal.scopeRegionId;
    const roots = tree.roots();
    return roots.length === 1 ? roots[0] : null;
  }

  /**
   * Points of the registry with their month's figures from the online-rate engine (so approved exclusions
   * apply as that engine applies them): the caller's visible points of `regionId`'s subtree, or, with
   * `principal` null, every point (a close). A point registered after the month's end counts only when it
   * has figures in the month.
   */
  private async livePoints(span: MonthSpan, principal: Principal | null, tree: RegionTree, regionId: string | null): Promise<AssessedPoint[]> {
    const and: Array<Record<string, unknown>> = [];
    if (regionId !== null) and.push({ regionId: { $in: tree.subtree(regionId).map(storeId) } });
    const visibility = principal ? pointVisibilityFilter(viewerOf(principal), tree) : null;
    if (visibility) and.push(visibility);
    const filter = and.length === 0 ? {} : and.length === 1 ? and[0] : { $and: and };
    // top-level fields only: a store can hand those over without rebuilding each document
    const cursor = pointsCollection(this.o.conn).find(filter, {
      projection: { _id: 1, regionId: 1, name: 1, gbCode: 1, sharing: 1, maintainer: 1, createdAt: 1 },
      batchSize: 5000,
    });
    const points = new Map<string, AssessedPoint>();
    const late = new Set<string>();
    for await (const p of cursor) {
      const id = String(p._id);
      const created = (p as unknown as { createdAt?: unknown }).createdAt;
      if (created instanceof Date && created.getTime() >= span.to) late.add(id);
      points.set(id, { id, code: p.gbCode ?? '', name: p.name ?? '', regionId: String(p.regionId), sharing: sharingOf(p.sharing), org: p.maintainer?.org ?? '', sec: [], pending: 0 });
    }
    const figures = await pointRates(this.o.history, new Set(points.keys()), { ...this.o.engine, from: span.from, to: span.to, now: this.now(), snapshotTimes: [] });
    const out: AssessedPoint[] = [];
    for (const [id, f] of figures) {
      const p = points.get(id);
      if (!p || (late.has(id) && f.sec.every((s) => s === 0))) continue;
      p.sec = f.sec;
      p.pending = f.pending;
      out.push(p);
    }
    return out;
  }

  /** The latest version of a month past its grace period, closing it (version 1) when nobody has. */
  private async ensureClosed(span: MonthSpan): Promise<Frozen> {
    const existing = await this.store.get(span.key);
    if (existing) return { close: existing, points: null };
    let inflight = this.closing.get(span.key);
    if (!inflight) {
      inflight = this.freeze(span, 1, null, null).finally(() => this.closing.delete(span.key));
      this.closing.set(span.key, inflight);
    }
    return inflight;
  }

  private async freeze(span: MonthSpan, version: number, by: Issuer | null, reason: string | null, previous: AssessmentVersion | null = null): Promise<Frozen> {
    const tree = this.o.regions.current();
    const rows = await this.livePoints(span, null, tree, null);
    const frozen = await this.store.freeze({
      month: span.key,
      version,
      issuedAt: new Date(Math.floor(this.now() / 1000) * 1000),
      issuedBy: by,
      reason,
      rule: this.o.rule,
      timeZone: this.o.timeZone,
      from: new Date(span.from),
      to: new Date(span.to),
      regions: tree.all(),
      rows,
    });
    if (!frozen) {
      if (version === 1) {
        const winner = await this.store.get(span.key, 1);
        if (winner) return { close: winner, points: null };
      }
      throw new AppError('conflict', `version ${version} of ${monthText(span.key)} was issued meanwhile; reload and retry`, [{ field: 'month', message: 'issued meanwhile' }]);
    }
    await this.o.audit({
      actor: by ?? SYSTEM,
      action: version === 1 ? 'month.close' : 'month.reissue',
      entity: 'report',
      entityId: monthText(span.key),
      before: previous,
      after: { ...versionOf(frozen), points: frozen.points },
      meta: reason ? { reason } : {},
    });
    this.o.logger.info(version === 1 ? 'month closed' : 'month re-issued', { month: span.key, version, points: frozen.points });
    return { close: frozen, points: rows };
  }

  /** Closes the latest due month if nobody has (the scheduled job); returns it and whether this call closed it. */
  async closeDue(): Promise<{ month: number; close: ClosedMonth; closedNow: boolean }> {
    const span = this.span(this.lastDueMonth(this.now()));
    const existing = await this.store.get(span.key);
    if (existing) return { month: span.key, close: existing, closedNow: false };
    return { month: span.key, close: (await this.ensureClosed(span)).close, closedNow: true };
  }

  /**
   * Issues a closed month again from today's registry and history (renames, moves, exclusions since the close
   * now count): the next version. Global admins only, with a reason; audited.
   */
  async reissue(principal: Principal, body: AssessmentReissue): Promise<AssessmentVersion> {
    if (principal.role !== 'admin' || principal.scopeRegionId !== null) throw new AppError('forbidden', 'only an administrator without a region scope may re-issue a month');
    const span = this.span(body.month);
    if (this.now() < span.closesAt) {
      throw new AppError('conflict', `${body.month} is still open; it closes at ${new Date(span.closesAt).toISOString()}`, [{ field: 'month', message: 'still open' }]);
    }
    const latest = (await this.ensureClosed(span)).close;
    const next = await this.freeze(span, latest.version + 1, { userId: principal.userId, username: principal.username }, body.reason, versionOf(latest));
    return versionOf(next.close);
  }
}

function versionOf(c: ClosedMonth): AssessmentVersion {
  return { version: c.version, issuedAt: c.issuedAt.toISOString(), issuedBy: c.issuedBy?.username ?? null, reason: c.reason };
}

export function monthText(key: number): string {
  return `${Math.floor(key / 100)}-${String(key % 100).padStart(2, '0')}`;
}
