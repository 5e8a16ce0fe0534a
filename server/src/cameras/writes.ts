import type { AnyBulkWriteOperation, Types } from 'mongoose';
import type { AuditService } from '../audit/service';
import type { AuditActor, AuditRecordInput } from '../audit/schema';
import { actorOf, type Principal } from '../contracts/access';
import { canSeeRegion, regionInScope } from '../auth/scope';
import { AppError } from '../lib/errors';
import type { ChangeFeed } from '../lib/change-feed';
import { noPace, type Pace } from '../lib/pace';
import { isDuplicateKey } from '../lib/store-errors';
import { refNotFound, type RegionService } from '../regions/service';
import type { CountedPoint, PointCounts } from './counts';
import {
  cameraAsInput,
  changesPoint,
  findDoc,
  inRegions,
  newDoc,
  oid,
  publicProjection,
  readByGbCodes,
  registryFieldsOf,
  toCamera,
  updatedCamera,
  type CameraCollection,
} from './documents';
import type { CameraChange } from './events';
import type { CameraDoc } from './model';
import type { Camera } from '../contracts/cameras';
import { cameraInputSchema, stripEcho, validateCameraInput, type CameraInput, type CameraPatch, type ProbeDefaults } from './schema';
import { canSeeDoc } from './visibility';

export interface UpsertOutcome {
  gbCode: string;
  id: string;
  outcome: 'created' | 'updated' | 'unchanged';
}

export interface UpsertResult {
  created: number;
  updated: number;
  unchanged: number;
  /** Rows whose point changed concurrently between read and write (not written). */
  conflicts: string[];
  /** Rows refused because the existing point lies outside `opts.principal`'s write scope. */
  refused: Array<{ gbCode: string; reason: string }>;
  outcomes: UpsertOutcome[];
}

export interface UpsertOptions {
  /** Refuse rows whose existing point lies outside this caller's write scope. */
  principal?: Principal;
  /** Kept in the audit entries' meta (`import:<jobId>`, `demo`). */
  source?: string;
  dryRun?: boolean;
  /** false: no per-point audit entries (the caller records one for the whole batch). */
  audit?: boolean;
  /**
   * The points as the caller already read them (`CameraService.findByGbCodes`), with their versions, for
   * every row's code: a code absent here is a new point. Each write is conditional on the version read,
   * so a point changed since then is a conflict, never overwritten. Without it the points are read here.
   */
  stored?: ReadonlyMap<string, Camera>;
  /** Large batches on a busy server (imports): give the event loop its turns between rows (lib/pace.ts). */
  pace?: Pace;
}

/** What audit entries keep of a point: everything the registry owns (status belongs to monitoring). */
function auditView(c: Camera): Omit<Camera, 'status'> {
  const { status: _s, ...rest } = c;
  return rest;
}

function duplicateGb(gbCode: string): AppError {
  return new AppError('conflict', `a point with gbCode ${gbCode} already exists`, [{ field: 'gbCode', message: `gbCode ${gbCode} already exists` }]);
}

function staleError(current: number): AppError {
  return new AppError('conflict', `the point was changed by someone else (current version ${current}); reload and reapply your change`, [
    { field: 'version', message: `stale: current version is ${current}` },
  ]);
}

/** Operations per bulk write command of `upsertManyValidated`. */
const WRITE_CHUNK = 1000;

/**
 * The registry's writes: validation beyond the schema, write scope, optimistic concurrency, the point
 * counts kept current, audit and change events.
 */
export class CameraWrites {
  constructor(
    private readonly coll: CameraCollection,
    private readonly regions: RegionService,
    private readonly audit: AuditService,
    private readonly counts: PointCounts,
    private readonly feed: ChangeFeed<CameraChange>,
    private readonly probeDefaults: ProbeDefaults,
  ) {}

  private async visibleDoc(principal: Principal, id: string): Promise<CameraDoc> {
    const d = await findDoc(this.coll, id);
    if (!d || !canSeeDoc(principal, this.regions, d)) throw AppError.notFound('camera point');
    return d;
  }

  private emit(c: Camera, created = false): void {
    this.feed.emit({ kind: 'upsert', id: c.id, regionId: c.regionId, camera: c, ...(created ? { created: true as const } : {}) });
  }

  private async checkWrite(principal: Principal, input: CameraInput, self?: { id: string }): Promise<void> {
    // references the caller cannot see are "not found", exactly like unknown ones (scope never reveals existence)
    for (const field of ['regionId', 'gridId'] as const) {
      const ref = input[field];
      if (ref && (!this.regions.get(ref) || !canSeeRegion(principal, this.regions, ref))) throw refNotFound(field, 'region');
    }
    if (input.upstreamId && input.upstreamId !== self?.id) {
      const up = await findDoc(this.coll, input.upstreamId);
      if (!up || !canSeeDoc(principal, this.regions, up)) throw refNotFound('upstreamId', 'camera point');
    }
    const issues = validateCameraInput(input, this.regions, self, this.probeDefaults);
    if (issues.length) throw new AppError('validation_failed', `invalid camera point: ${issues[0].field}: ${issues[0].message}`, issues);
    if (!regionInScope(principal, this.regions, input.regionId)) throw new AppError('forbidden', 'the region lies outside your write scope');
  }

  async create(principal: Principal, input: CameraInput): Promise<Camera> {
    await this.checkWrite(principal, input);
    const doc = newDoc(registryFieldsOf(input, this.probeDefaults), new Date());
    const snap = this.counts.snapshot();
    try {
      await this.coll.insertOne(doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw duplicateGb(input.gbCode);
      throw err;
    }
    const cam = toCamera(doc);
    this.counts.afterWrite(snap, [[null, cam]]);
    await this.audit.record({ actor: actorOf(principal), action: 'create', entity: 'camera', entityId: cam.id, before: null, after: auditView(cam), regionIds: [cam.regionId] });
    this.emit(cam, true);
    return cam;
  }

  private merge(cur: Camera, patch: CameraPatch): CameraInput {
    const raw: Record<string, unknown> = { ...cameraAsInput(cur) };
    const { version: _v, id: _i, gb: _g, status: _s, createdAt: _c, updatedAt: _u, endpoint, probe, maintainer, ...plain } = patch;
    for (const [k, v] of Object.entries(plain)) if (v !== undefined) raw[k] = v;
    if (endpoint) {
      const ep = { ...(raw.endpoint as Record<string, unknown>) };
      for (const [k, v] of Object.entries(endpoint)) {
        if (v === null) delete ep[k];
        else if (v !== undefined) ep[k] = v;
      }
      raw.endpoint = ep;
    }
    if (probe) raw.probe = { ...(raw.probe as object), ...Object.fromEntries(Object.entries(probe).filter(([, v]) => v !== undefined)) };
    if (maintainer) raw.maintainer = { ...(raw.maintainer as object), ...Object.fromEntries(Object.entries(maintainer).filter(([, v]) => v !== undefined)) };
    const parsed = cameraInputSchema.safeParse(raw);
    if (!parsed.success) throw AppError.fromZod(parsed.error);
    return stripEcho(parsed.data);
  }

  /**
   * Applies a patch. `expectedVersion` (If-Match or body `version`) makes it conditional: a stale one is
   * refused with 409 and nothing is written. Without it the write is still conditional on the version
   * read here, so a concurrent update is never silently overwritten.
   */
  async update(principal: Principal, id: string, patch: CameraPatch, expectedVersion?: number): Promise<Camera> {
    const curDoc = await this.visibleDoc(principal, id);
    const cur = toCamera(curDoc);
    if (!regionInScope(principal, this.regions, cur.regionId)) throw new AppError('forbidden', 'this point lies outside your write scope');
    const expected = expectedVersion ?? patch.version;
    if (expected !== undefined && expected !== cur.version) throw staleError(cur.version);
    const input = this.merge(cur, patch);
    await this.checkWrite(principal, input, { id });
    if (!changesPoint(input, cur, this.probeDefaults)) return cur;
    const fields = registryFieldsOf(input, this.probeDefaults);
    const now = new Date();
    const snap = this.counts.snapshot();
    let res: CameraDoc | null;
    try {
      res = (await this.coll.findOneAndUpdate(
        { _id: curDoc._id, version: cur.version },
        { $set: { ...fields, updatedAt: now }, $inc: { version: 1 } },
        { returnDocument: 'after' },
      )) as CameraDoc | null;
    } catch (err) {
      if (isDuplicateKey(err)) throw duplicateGb(input.gbCode);
      throw err;
    }
    if (!res) {
      const now2 = await findDoc(this.coll, id);
      if (!now2) throw AppError.notFound('camera point');
      throw staleError(now2.version);
    }
    const after = toCamera(res);
    this.counts.afterWrite(snap, [[cur, after]]);
    await this.audit.record({
      actor: actorOf(principal),
      action: 'update',
      entity: 'camera',
      entityId: id,
      before: auditView(cur),
      after: auditView(after),
      regionIds: [...new Set([cur.regionId, after.regionId])],
    });
    this.emit(after);
    return after;
  }

  async remove(principal: Principal, id: string, expectedVersion?: number): Promise<void> {
    const curDoc = await this.visibleDoc(principal, id);
    const cur = toCamera(curDoc);
    if (!regionInScope(principal, this.regions, cur.regionId)) throw new AppError('forbidden', 'this point lies outside your write scope');
    if (expectedVersion !== undefined && expectedVersion !== cur.version) throw staleError(cur.version);
    const snap = this.counts.snapshot();
    const res = await this.coll.deleteOne({ _id: curDoc._id, version: cur.version });
    if (res.deletedCount === 0) {
      const again = await findDoc(this.coll, id);
      if (!again) throw AppError.notFound('camera point');
      throw staleError(again.version);
    }
    this.counts.afterWrite(snap, [[cur, null]]);
    // points behind a removed NVR/switch lose the link rather than point at nothing
    const dependents = await this.coll.find<CameraDoc>({ upstreamId: curDoc._id }).toArray();
    if (dependents.length) {
      await this.coll.updateMany({ upstreamId: curDoc._id }, { $set: { upstreamId: null, updatedAt: new Date() }, $inc: { version: 1 } });
    }
    await this.audit.record({ actor: actorOf(principal), action: 'delete', entity: 'camera', entityId: id, before: auditView(cur), after: null, regionIds: [cur.regionId] });
    this.feed.emit({ kind: 'delete', id, regionId: cur.regionId });
    if (dependents.length) await this.announceIds(dependents.map((d) => d._id));
  }

  /**
   * Bulk upsert by gbCode for imports and the demo loader. Rows must already have passed
   * `cameraInputSchema` + `validateCameraInput` (and the caller's scope check for their target regions);
   * a row replaces every registry field of an existing point (merge absent columns before calling).
   * Idempotent: a row that does not change its point (`changesPoint`) is 'unchanged' and not written (no
   * version bump). At most one `$in` read (none with `opts.stored`) and one unordered bulkWrite per 1,000 rows;
   * call with batches of ~1,000.
   */
  async upsertManyValidated(rows: CameraInput[], actor: AuditActor, opts: UpsertOptions = {}): Promise<UpsertResult> {
    const byCode = new Map<string, CameraInput>();
    for (const r of rows) byCode.set(r.gbCode, r);
    const existing = opts.stored ?? (await readByGbCodes(this.coll, [...byCode.keys()]));
    const result: UpsertResult = { created: 0, updated: 0, unchanged: 0, conflicts: [], refused: [], outcomes: [] };
    const ops: AnyBulkWriteOperation<CameraDoc>[] = [];
    // a created point is its input and document until it is announced: its Camera is made right before its
    // change event (5,000 of them held through the write were most of what the batch's young-generation
    // collections copied, and then promoted)
    type Pending = { kind: 'created'; input: CameraInput; doc: CameraDoc } | { kind: 'updated'; before: Camera; after: Camera };
    const pending: Pending[] = [];
    const outcomeOf = (p: Pending): UpsertOutcome =>
      p.kind === 'created' ? { gbCode: p.doc.gbCode, id: p.doc._id.toHexString(), outcome: p.kind } : { gbCode: p.after.gbCode, id: p.after.id, outcome: p.kind };
    const now = new Date();
    const pace = opts.pace ?? noPace;
    for (const [code, row] of byCode) {
      if (pace.due()) await pace.yield();
      const cur = existing.get(code);
      if (!cur) {
        const doc = newDoc(registryFieldsOf(row, this.probeDefaults), now);
        ops.push({ insertOne: { document: doc } });
        pending.push({ kind: 'created', input: row, doc });
        continue;
      }
      if (opts.principal && !regionInScope(opts.principal, this.regions, cur.regionId)) {
        result.refused.push({ gbCode: code, reason: 'the existing point lies outside your write scope' });
        continue;
      }
      if (!changesPoint(row, cur, this.probeDefaults)) {
        result.unchanged += 1;
        result.outcomes.push({ gbCode: code, id: cur.id, outcome: 'unchanged' });
        continue;
      }
      const fields = registryFieldsOf(row, this.probeDefaults);
      ops.push({ updateOne: { filter: { _id: oid(cur.id), version: cur.version }, update: { $set: { ...fields, updatedAt: now }, $inc: { version: 1 } } } });
      pending.push({ kind: 'updated', before: cur, after: updatedCamera(cur, fields, now) });
    }
    if (opts.dryRun) {
      for (const p of pending) {
        result[p.kind] += 1;
        result.outcomes.push(outcomeOf(p));
      }
      return result;
    }
    const failed = new Set<number>();
    const snap = this.counts.snapshot();
    // one command per WRITE_CHUNK operations: the driver encodes a command in one synchronous step (5,000 points
    // held the event loop 60-130 ms with the collections it triggered, and /healthz waited behind it)
    for (let from = 0; from < ops.length; from += WRITE_CHUNK) {
      if (from > 0 && pace.due()) await pace.yield();
      try {
        await this.coll.bulkWrite(ops.slice(from, from + WRITE_CHUNK) as Parameters<typeof this.coll.bulkWrite>[0], { ordered: false });
      } catch (err) {
        const writeErrors = (err as { writeErrors?: Array<{ index: number }> | { index: number } }).writeErrors;
        const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : null;
        if (!list) {
          this.counts.invalidate();
          throw err;
        }
        for (const w of list) failed.add(from + w.index);
      }
    }
    // an update whose version moved meanwhile matched nothing: find those by reading the versions back
    const updatedIds = pending.flatMap((p) => (p.kind === 'updated' ? [oid(p.after.id)] : []));
    const versions = new Map<string, number>();
    if (updatedIds.length) {
      const docs = await this.coll.find<CameraDoc>({ _id: { $in: updatedIds } }, { projection: { version: 1, updatedAt: 1 } }).toArray();
      for (const d of docs) versions.set(d._id.toHexString(), d.updatedAt.getTime() === now.getTime() ? d.version : -1);
    }
    const auditEntries: AuditRecordInput[] = [];
    const written: Array<[CountedPoint | null, CountedPoint]> = [];
    const announced: Pending[] = [];
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i];
      const ok = !failed.has(i) && (p.kind === 'created' || versions.get(p.after.id) === p.after.version);
      if (!ok) {
        result.conflicts.push(p.kind === 'created' ? p.doc.gbCode : p.after.gbCode);
        continue;
      }
      const outcome = outcomeOf(p);
      result[p.kind] += 1;
      result.outcomes.push(outcome);
      // the input counts as the point it created (region, grid, sharing, organisation, vendor, enabled)
      written.push(p.kind === 'created' ? [null, p.input] : [p.before, p.after]);
      if (opts.audit !== false) {
        const before = p.kind === 'created' ? null : p.before;
        const after = p.kind === 'created' ? toCamera(p.doc) : p.after;
        auditEntries.push({
          actor,
          action: p.kind === 'created' ? 'create' : 'update',
          entity: 'camera',
          entityId: outcome.id,
          before: before ? auditView(before) : null,
          after: auditView(after),
          meta: opts.source ? { source: opts.source } : undefined,
          regionIds: [...new Set([after.regionId, ...(before ? [before.regionId] : [])])],
        });
      }
      announced.push(p);
    }
    if (ops.length) this.counts.afterWrite(snap, written);
    // the change events last, in turns with the rest of the loop when paced (their consumers' work is the cost)
    for (const a of announced) {
      if (pace.due()) await pace.yield();
      if (a.kind === 'created') this.emit(toCamera(a.doc), true);
      else this.emit(a.after);
    }
    for (let i = 0; i < auditEntries.length; i += 5000) await this.audit.recordMany(auditEntries.slice(i, i + 5000));
    return result;
  }

  /**
   * Deletes every point of these regions without audit, announcing each delete (the demo loader's
   * rollback: the polling engine, live push and incidents let go of them as of any delete).
   */
  async removeInRegionsTrusted(regionIds: string[]): Promise<number> {
    const docs = await this.coll.find<Pick<CameraDoc, '_id' | 'regionId'>>(inRegions(regionIds), { projection: { _id: 1, regionId: 1 } }).toArray();
    if (docs.length === 0) return 0;
    await this.coll.deleteMany({ _id: { $in: docs.map((d) => d._id) } });
    this.counts.invalidate();
    for (const d of docs) this.feed.emit({ kind: 'delete', id: d._id.toHexString(), regionId: d.regionId.toHexString() });
    return docs.length;
  }

  /** Moves every point of these regions to `target` (a region removed or merged). */
  async rehome(regionIds: string[], target: { regionId: string; gridId: string | null }, actor: AuditActor): Promise<number> {
    const docs = await this.coll.find<CameraDoc>(inRegions(regionIds)).toArray();
    if (docs.length === 0) return 0;
    const now = new Date();
    await this.coll.updateMany({ _id: { $in: docs.map((d) => d._id) } }, { $set: { regionId: oid(target.regionId), gridId: target.gridId ? oid(target.gridId) : null, updatedAt: now }, $inc: { version: 1 } });
    const entries: AuditRecordInput[] = [];
    const afters: Camera[] = [];
    for (const d of docs) {
      const before = toCamera(d);
      const after = toCamera({ ...d, regionId: oid(target.regionId), gridId: target.gridId ? oid(target.gridId) : null, updatedAt: now, version: d.version + 1 });
      afters.push(after);
      entries.push({ actor, action: 'move', entity: 'camera', entityId: after.id, before: auditView(before), after: auditView(after), regionIds: [before.regionId, after.regionId] });
    }
    this.counts.invalidate();
    await this.audit.recordMany(entries);
    for (const a of afters) this.emit(a);
    return docs.length;
  }

  async announce(regionIds: string[]): Promise<void> {
    const docs = await this.coll.find<CameraDoc>(inRegions(regionIds), { projection: publicProjection }).toArray();
    for (const d of docs) this.emit(toCamera(d));
  }

  private async announceIds(ids: Types.ObjectId[]): Promise<void> {
    const docs = await this.coll.find<CameraDoc>({ _id: { $in: ids } }, { projection: publicProjection }).toArray();
    for (const d of docs) this.emit(toCamera(d));
  }
}
