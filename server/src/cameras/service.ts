import type { Connection, Model, Types } from 'mongoose';
import type { AuditService } from '../audit/service';
import type { AuditActor } from '../audit/schema';
import type { Principal } from '../contracts/access';
import { viewerOf } from '../auth/scope';
import { AppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { ChangeFeed } from '../lib/change-feed';
import type { PointBucket } from '../regions/counted-tree';
import type { RegionPoints, RegionService } from '../regions/service';
import { isObjectId } from '../contracts/vocabulary';
import type { CameraChange } from './events';
import { PointCounts } from './counts';
import { findDoc, oid, readByGbCodes, toCamera, type Filter } from './documents';
import { cameraModel, dropStaleCameraIndexes, type CameraDoc } from './model';
import { CameraQueries, type ListFilters } from './queries';
import type { Camera, CameraPage } from '../contracts/cameras';
import type { CameraInput, CameraListQuery, CameraPatch, ProbeDefaults } from './schema';
import { canSeeCamera, canSeeDoc, pointVisibilityFilter, type VisiblePoint } from './visibility';
import { CameraWrites, type UpsertOptions, type UpsertResult } from './writes';

// their home is visibility.ts; re-exported for the callers that know them from here

/**
 * The camera point registry, the one entry other capabilities use. Its parts: queries.ts (lists, keyset
 * pages, totals), counts.ts (the in-memory point counts), documents.ts (stored document ↔ public shape,
 * "unchanged?"), visibility.ts (the store rendering of auth/scope.ts's rule) and writes.ts (create,
 * update, remove, bulk upsert, rehome). Mongoose defines the collection and its indexes; reads and writes
 * go through the native driver collection so the registry hands out plain objects.
 */
export class CameraService implements RegionPoints {
  readonly model: Model<CameraDoc>;
  private readonly feed: ChangeFeed<CameraChange>;
  private readonly counts: PointCounts;
  private readonly queries: CameraQueries;
  private readonly writes: CameraWrites;

  constructor(
    conn: Connection,
    private readonly regions: RegionService,
    audit: AuditService,
    probeDefaults: ProbeDefaults,
    private readonly logger: Logger,
  ) {
    this.model = cameraModel(conn);
    this.feed = new ChangeFeed((err) => this.logger.error('camera change listener failed', { err }));
    this.counts = new PointCounts(this.coll, regions);
    this.queries = new CameraQueries(this.coll, regions, this.counts);
    this.writes = new CameraWrites(this.coll, regions, audit, this.counts, this.feed, probeDefaults);
  }

  async init(): Promise<void> {
    await this.model.init();
    const dropped = await dropStaleCameraIndexes(this.model);
    if (dropped.length) this.logger.warn('dropped camera indexes an earlier version created', { dropped });
    // warm the counts in the background: on a large registry the first scan takes seconds
    this.counts.current().catch((err: unknown) => this.logger.warn('initial point count failed', { err }));
  }

  onChange(listener: (e: CameraChange) => void): () => void {
    return this.feed.subscribe(listener);
  }

  private get coll() {
    return this.model.collection;
  }

  // ---- visibility ----

  /** The store filter restricting points to what the caller may see (null = everything). */
  visibilityFilter(principal: Principal): Filter | null {
    return pointVisibilityFilter(viewerOf(principal), this.regions);
  }

  canSee(principal: Principal, c: VisiblePoint): boolean {
    return canSeeCamera(principal, this.regions, c);
  }

  // ---- reads ----

  async get(principal: Principal, id: string): Promise<Camera> {
    const d = await findDoc(this.coll, id);
    if (!d || !canSeeDoc(principal, this.regions, d)) throw AppError.notFound('camera point');
    return toCamera(d);
  }

  /** Internal read without scoping (monitoring, import). */
  async getUnscoped(id: string): Promise<Camera | null> {
    const d = await findDoc(this.coll, id);
    return d ? toCamera(d) : null;
  }

  /**
   * Internal read without scoping, one `$in` query per 5,000 codes (import: the points a file names, with
   * the versions its upserts are conditional on; upstream resolution).
   */
  async findByGbCodes(codes: string[]): Promise<Camera[]> {
    if (codes.length === 0) return [];
    return [...(await readByGbCodes(this.coll, codes)).values()];
  }

  /**
   * Drops the in-memory point counts so the next read rebuilds them from the store: for writers that
   * bypass this service (bulk loading tools, the registry benchmark's fill), whose points the counts
   * would otherwise miss.
   */
  invalidateCounts(): void {
    this.counts.invalidate();
  }

  /** gbCodes of the given points that the caller may see (id → code); the others are left out. */
  async codesOf(principal: Principal, ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const valid = ids.filter(isObjectId);
    if (valid.length === 0) return out;
    const vis = this.visibilityFilter(principal);
    const byId = { _id: { $in: valid.map(oid) } };
    const docs = await this.coll.find<{ _id: Types.ObjectId; gbCode: string }>(vis ? { $and: [byId, vis] } : byId, { projection: { gbCode: 1 } }).toArray();
    for (const d of docs) out.set(d._id.toHexString(), d.gbCode);
    return out;
  }

  async isEmpty(): Promise<boolean> {
    return (await this.coll.countDocuments({}, { limit: 1 })) === 0;
  }

  /** The store filter for a list query (visibility included). Throws 404 for a region the caller cannot see. */
  listFilter(principal: Principal, q: ListFilters): Filter {
    return this.queries.listFilter(principal, q);
  }

  list(principal: Principal, q: CameraListQuery): Promise<CameraPage> {
    return this.queries.list(principal, q);
  }

  // ---- writes ----

  create(principal: Principal, input: CameraInput): Promise<Camera> {
    return this.writes.create(principal, input);
  }

  update(principal: Principal, id: string, patch: CameraPatch, expectedVersion?: number): Promise<Camera> {
    return this.writes.update(principal, id, patch, expectedVersion);
  }

  remove(principal: Principal, id: string, expectedVersion?: number): Promise<void> {
    return this.writes.remove(principal, id, expectedVersion);
  }

  /** Bulk upsert by gbCode (imports, the demo loader): see `CameraWrites.upsertManyValidated`. */
  upsertManyValidated(rows: CameraInput[], actor: AuditActor, opts: UpsertOptions = {}): Promise<UpsertResult> {
    return this.writes.upsertManyValidated(rows, actor, opts);
  }

  /** Deletes every point of these regions, unaudited (the demo loader's rollback): see `CameraWrites.removeInRegionsTrusted`. */
  removeInRegionsTrusted(regionIds: string[]): Promise<number> {
    return this.writes.removeInRegionsTrusted(regionIds);
  }

  // ---- RegionPoints (used by the region service) ----

  countIn(regionIds: string[]): Promise<number> {
    return this.queries.countIn(regionIds);
  }

  countCodeMismatch(regionIds: string[], prefix: string): Promise<number> {
    return this.queries.countCodeMismatch(regionIds, prefix);
  }

  rehome(regionIds: string[], target: { regionId: string; gridId: string | null }, actor: AuditActor): Promise<number> {
    return this.writes.rehome(regionIds, target, actor);
  }

  announce(regionIds: string[]): Promise<void> {
    return this.writes.announce(regionIds);
  }

  buckets(principal: Principal): Promise<PointBucket[]> {
    return this.counts.buckets(principal);
  }
}
