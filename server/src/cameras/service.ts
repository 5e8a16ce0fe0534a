import { Types, type AnyBulkWriteOperation, type Connection, type Model } from 'mongoose';
import type { AuditService } from '../audit/service';
import type { AuditActor, AuditRecordInput } from '../audit/schema';
import { actorOf, type Principal } from '../contracts/access';
import { canSeePoint, canSeeRegion, pointFilter, pointPredicate, pointVisibility, regionInScope, viewerOf, type PointRef, type RegionIndex, type Viewer } from '../auth/scope';
import { AppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { ChangeFeed } from '../lib/change-feed';
import { refNotFound, type PointBucket, type RegionPoints, type RegionService } from '../regions/service';
import { isObjectId } from '../contracts/vocabulary';
import { decodeGbCode } from './gbcode';
import type { CameraChange } from './events';
import { cameraModel, dropStaleCameraIndexes, searchFieldsOf, searchPlan, type CameraDoc } from './model';
import {
  applyProbeDefaults,
  cameraInputSchema,
  stripEcho,
  TEXT_COUNT_CAP,
  validateCameraInput,
  type Camera,
  type CameraInput,
  type CameraListQuery,
  type CameraPage,
  type CameraPatch,
  type ProbeDefaults,
} from './schema';
import { isDuplicateKey } from '../lib/store-errors';

type Filter = Record<string, unknown>;

const SEP = '\u0001';

/** The fields a registry write owns (everything but _id, status, version and timestamps). */
type RegistryFields = Omit<CameraDoc, '_id' | 'status' | 'version' | 'createdAt' | 'updatedAt'>;

const oid = (s: string): Types.ObjectId => new Types.ObjectId(s);
const hex = (v: Types.ObjectId | null | undefined): string | null => (v ? v.toHexString() : null);
const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

export function toCamera(d: CameraDoc): Camera {
  return {
    id: d._id.toHexString(),
    gbCode: d.gbCode,
    name: d.name,
    regionId: d.regionId.toHexString(),
    gridId: hex(d.gridId),
    address: d.address ?? '',
    location: d.location ? { lon: d.location.lon, lat: d.location.lat } : null,
    endpoint: {
      host: d.endpoint.host ?? null,
      rtspPort: d.endpoint.rtspPort,
      rtspPath: d.endpoint.rtspPath ?? '',
      httpPort: d.endpoint.httpPort ?? null,
      onvifPort: d.endpoint.onvifPort ?? null,
    },
    probe: { kind: d.probe.kind, intervalSec: d.probe.intervalSec, timeoutMs: d.probe.timeoutMs, retries: d.probe.retries },
    vendor: d.vendor ?? '',
    model: d.model ?? '',
    ownerUnit: d.ownerUnit ?? '',
    maintainer: { org: d.maintainer?.org ?? '', contact: d.maintainer?.contact ?? '', phone: d.maintainer?.phone ?? '' },
    sharing: d.sharing,
    upstreamId: hex(d.upstreamId),
    tags: d.tags ?? [],
    enabled: d.enabled,
    installedAt: iso(d.installedAt),
    note: d.note ?? '',
    gb: { ...d.gb },
    status: {
      state: d.status?.state ?? 'UNKNOWN',
      since: iso(d.status?.since),
      lastCheckAt: iso(d.status?.lastCheckAt),
      rttMs: d.status?.rttMs ?? null,
      flapping: d.status?.flapping ?? false,
      reason: d.status?.reason ?? null,
    },
    version: d.version,
    createdAt: iso(d.createdAt) as string,
    updatedAt: iso(d.updatedAt) as string,
  };
}

/** What audit entries keep of a point: everything the registry owns (status belongs to monitoring). */
function auditView(c: Camera): Omit<Camera, 'status'> {
  const { status: _s, ...rest } = c;
  return rest;
}

/** Canonical JSON of the registry-owned fields (keys sorted, ids as hex), to tell "unchanged" from "updated". */
function canonical(f: RegistryFields): string {
  const { searchText: _t, searchTokens: _k, gb: _g, ...rest } = f;
  const norm = (v: unknown): unknown => {
    // duck-typed: the driver's ObjectId may come from another copy of bson than mongoose's
    if (v && typeof v === 'object' && (v as { _bsontype?: unknown })._bsontype === 'ObjectId') return (v as Types.ObjectId).toHexString();
    if (v instanceof Date) return v.toISOString();
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, norm(o[k])]));
    }
    return v ?? null;
  };
  return JSON.stringify(norm(rest));
}

function duplicateGb(gbCode: string): AppError {
  return new AppError('conflict', `a point with gbCode ${gbCode} already exists`, [{ field: 'gbCode', message: `gbCode ${gbCode} already exists` }]);
}

function staleError(current: number): AppError {
  return new AppError('conflict', `the point was changed by someone else (current version ${current}); reload and reapply your change`, [
    { field: 'version', message: `stale: current version is ${current}` },
  ]);
}

/** The smallest code greater than every code starting with `prefix` (null: none). */
function nextPrefix(prefix: string): string | null {
  const n = (BigInt(prefix) + 1n).toString().padStart(prefix.length, '0');
  return n.length > prefix.length ? null : n;
}

/**
 * The store rendering of the one visibility rule (`pointVisibility` in auth/scope.ts) on the stored fields
 * `regionId`, `sharing` and `maintainer.org`. Null = no restriction. Must agree with `canSeePoint` (a unit
 * test evaluates both over the same points).
 */
export function pointVisibilityFilter(viewer: Viewer, regions: RegionIndex): Filter | null {
  return pointFilter(viewer, regions, { regionId: 'regionId', sharing: 'sharing', org: 'maintainer.org', id: oid });
}

/** The rule's input as a stored or public point holds it. */
export function pointRefOf(c: { regionId: string; sharing: Camera['sharing']; maintainer: { org: string } }): PointRef {
  return { regionId: c.regionId, sharing: c.sharing, org: c.maintainer.org };
}

interface SortSpec {
  key: string;
  field: string;
  dir: 1 | -1;
}

const sortFields: Record<string, string> = {
  gbCode: 'gbCode',
  name: 'name',
  vendor: 'vendor',
  createdAt: 'createdAt',
  updatedAt: 'updatedAt',
  state: 'status.state',
};
const dateSortKeys = new Set(['createdAt', 'updatedAt']);

function encodeCursor(s: SortSpec, value: unknown, id: Types.ObjectId): string {
  const v = value instanceof Date ? value.toISOString() : value;
  return Buffer.from(JSON.stringify({ k: s.key, d: s.dir, v, i: id.toHexString() })).toString('base64url');
}

function decodeCursor(cursor: string, s: SortSpec): { value: unknown; id: Types.ObjectId } {
  const bad = new AppError('bad_request', 'invalid cursor', [{ field: 'cursor', message: 'not a cursor for this sort; start again without cursor' }]);
  let parsed: { k?: unknown; d?: unknown; v?: unknown; i?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as typeof parsed;
  } catch {
    throw bad;
  }
  if (parsed.k !== s.key || parsed.d !== s.dir || typeof parsed.i !== 'string' || !isObjectId(parsed.i) || typeof parsed.v !== 'string') throw bad;
  const value = dateSortKeys.has(s.key) ? new Date(parsed.v) : parsed.v;
  if (value instanceof Date && Number.isNaN(value.getTime())) throw bad;
  return { value, id: oid(parsed.i) };
}

const listProjection = { searchText: 0, searchTokens: 0 } as const;

function readPath(doc: CameraDoc, field: string): unknown {
  return field.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), doc);
}

export interface UpsertOutcome {
  gbCode: string;
  id: string;
  outcome: 'created' | 'updated' | 'unchanged';
}

export interface UpsertResult {
  created: number;
  updated: number;
  unchanged: number;
  /** Rows whose point changed concurrently between read and write (not written; retry them). */
  conflicts: string[];
  /** Rows refused because the existing point lies outside `opts.principal`'s write scope. */
  refused: Array<{ gbCode: string; reason: string }>;
  outcomes: UpsertOutcome[];
}

interface BucketState {
  map: Map<string, { total: number; enabled: number }>;
  /** The map's keys split into their dimensions; rebuilt after a write (lists total from it per request). */
  rows: BucketRow[] | null;
  /** The rows summed over grid and vendor: what a list total without those filters needs (far fewer rows). */
  coarse: BucketRow[] | null;
}

interface BucketRow {
  regionId: string;
  gridId: string;
  sharing: string;
  org: string;
  vendor: string;
  /** regionId, sharing and org joined: visibility depends on these only. */
  vk: string;
  n: { total: number; enabled: number };
}

function bucketRows(state: BucketState): BucketRow[] {
  state.rows ??= [...state.map].map(([k, n]) => {
    const [regionId, gridId, sharing, org, vendor] = k.split(SEP);
    return { regionId, gridId, sharing, org, vendor, vk: regionId + SEP + sharing + SEP + org, n };
  });
  return state.rows;
}

function coarseRows(state: BucketState): BucketRow[] {
  if (!state.coarse) {
    const byVk = new Map<string, BucketRow>();
    for (const r of bucketRows(state)) {
      const c = byVk.get(r.vk);
      if (c) {
        c.n.total += r.n.total;
        c.n.enabled += r.n.enabled;
      } else byVk.set(r.vk, { ...r, gridId: '', vendor: '', n: { ...r.n } });
    }
    state.coarse = [...byVk.values()];
  }
  return state.coarse;
}

/**
 * The camera point registry: validation beyond the schema, tier scoping, optimistic concurrency,
 * keyset listing, change events and audit. Mongoose defines the collection and its indexes; reads and
 * writes go through the native driver collection so services hand out plain objects.
 */
export class CameraService implements RegionPoints {
  readonly model: Model<CameraDoc>;
  private readonly feed: ChangeFeed<CameraChange>;
  private counts: BucketState | null = null;
  private countsBuilding: Promise<BucketState> | null = null;
  /** Bumped by every write; a count rebuild that saw a bump during its scan is stale. */
  private writeSeq = 0;

  constructor(
    conn: Connection,
    private readonly regions: RegionService,
    private readonly audit: AuditService,
    private readonly probeDefaults: ProbeDefaults,
    private readonly logger: Logger,
  ) {
    this.model = cameraModel(conn);
    this.feed = new ChangeFeed((err) => this.logger.error('camera change listener failed', { err }));
  }

  async init(): Promise<void> {
    await this.model.init();
    const dropped = await dropStaleCameraIndexes(this.model);
    if (dropped.length) this.logger.warn('dropped camera indexes an earlier version created', { dropped });
    // warm the counts in the background: on a large registry the first scan takes seconds
    this.countState().catch((err: unknown) => this.logger.warn('initial point count failed', { err }));
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

  canSee(principal: Principal, c: { regionId: string; sharing: Camera['sharing']; maintainer: { org: string } }): boolean {
    return canSeePoint(viewerOf(principal), this.regions, pointRefOf(c));
  }

  private async findDoc(id: string): Promise<CameraDoc | null> {
    if (!isObjectId(id)) return null;
    return this.coll.findOne<CameraDoc>({ _id: oid(id) });
  }

  private async visibleDoc(principal: Principal, id: string): Promise<CameraDoc> {
    const d = await this.findDoc(id);
    if (!d || !this.canSee(principal, { regionId: d.regionId.toHexString(), sharing: d.sharing, maintainer: d.maintainer })) throw AppError.notFound('camera point');
    return d;
  }

  // ---- reads ----

  async get(principal: Principal, id: string): Promise<Camera> {
    return toCamera(await this.visibleDoc(principal, id));
  }

  /** Internal read without scoping (monitoring, import). */
  async getUnscoped(id: string): Promise<Camera | null> {
    const d = await this.findDoc(id);
    return d ? toCamera(d) : null;
  }

  /** Internal read without scoping, one `$in` query (import: dry-run outcomes, upstream resolution). */
  async findByGbCodes(codes: string[]): Promise<Camera[]> {
    if (codes.length === 0) return [];
    const docs = await this.coll.find<CameraDoc>({ gbCode: { $in: [...new Set(codes)] } }, { projection: { searchText: 0, searchTokens: 0 } }).toArray();
    return docs.map(toCamera);
  }

  /**
   * Drops the in-memory point counts so the next read rebuilds them from the store: for writers that
   * bypass this service (bulk loading tools, the registry benchmark's fill), whose points the counts
   * would otherwise miss.
   */
  invalidateCounts(): void {
    this.writeSeq += 1;
    this.counts = null;
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
  listFilter(principal: Principal, q: Omit<CameraListQuery, 'sort' | 'limit' | 'cursor' | 'count'>): Filter {
    const { and, regionIds } = this.listConditions(principal, q);
    if (regionIds) and.push(regionIds.length === 1 ? { regionId: oid(regionIds[0]) } : { regionId: { $in: regionIds.map(oid) } });
    if (and.length === 0) return {};
    return and.length === 1 ? and[0] : { $and: and };
  }

  /**
   * The conditions of a list query, with the region restriction kept apart (null = none) so that `list`
   * can split it into one index-ordered query per region. Grid ids never appear in it: a point's
   * regionId is a district, street or community (a grid is its gridId), so they would only add scans.
   */
  private listConditions(principal: Principal, q: Omit<CameraListQuery, 'sort' | 'limit' | 'cursor' | 'count'>): { and: Filter[]; regionIds: string[] | null } {
    const and: Filter[] = [];
    const vis = this.visibilityFilter(principal);
    if (vis) and.push(vis);
    let within: string[] | null = null;
    let regionIds: string[] | null = null;
    const pointHolder = (id: string): boolean => this.regions.get(id)?.tier !== 'grid';
    if (q.regionId) {
      const r = this.regions.get(q.regionId);
      if (!r || !canSeeRegion(principal, this.regions, q.regionId)) throw AppError.notFound('region');
      if (r.tier === 'grid') and.push({ gridId: oid(r.id) });
      else {
        within = (q.subtree ? this.regions.subtree(r.id) : [r.id]).filter(pointHolder);
        regionIds = within;
      }
    }
    if (q.tier === 'grid') and.push({ gridId: { $ne: null } });
    else if (q.tier) {
      const pool = within ?? this.regions.listAll().filter((n) => n.tier !== 'grid').map((n) => n.id);
      const ids = pool.filter((id) => this.regions.get(id)?.tier === q.tier);
      const others = pool.filter((id) => this.regions.get(id)?.tier !== q.tier);
      if (within || ids.length <= others.length) regionIds = ids;
      // most regions are of this tier (communities): excluding the few others lets a sorted index walk
      // stop after one page instead of gathering every point of hundreds of regions
      else and.push(others.length ? { regionId: { $nin: others.map(oid) } } : {});
    }
    if (q.vendor?.length) and.push({ vendor: { $in: q.vendor } });
    if (q.maintainer?.length) and.push({ 'maintainer.org': { $in: q.maintainer } });
    if (q.tag?.length) and.push({ tags: { $in: q.tag } });
    if (q.enabled !== undefined) and.push({ enabled: q.enabled });
    if (q.state?.length) and.push({ 'status.state': { $in: q.state } });
    if (q.sharing?.length) and.push({ sharing: { $in: q.sharing } });
    if (q.type?.length) and.push({ 'gb.type': { $in: q.type } });
    if (q.upstreamId) and.push({ upstreamId: oid(q.upstreamId) });
    if (q.q) {
      const s = searchPlan(q.q);
      if (s) and.push(s.filter);
    }
    return { and: and.filter((f) => Object.keys(f).length > 0), regionIds };
  }

  /**
   * Keyset pagination: the cursor carries the last row's sort value and id, so a page never skips or
   * repeats a point that was not itself changed in between, however many are inserted or deleted
   * meanwhile (offsets would shift). A point whose sort field changes may move across the cursor.
   *
   * A filter on several regions (a street's subtree) is one `$in` query that the store answers by merging
   * ordered walks of the {regionId, sort field} index (see query.ts, `merge`), stopping after one page.
   */
  async list(principal: Principal, q: CameraListQuery): Promise<CameraPage> {
    const { and, regionIds } = this.listConditions(principal, q);
    const key = q.sort.replace(/^-/, '');
    const s: SortSpec = { key, field: sortFields[key], dir: q.sort.startsWith('-') ? -1 : 1 };
    const page: Filter[] = [...and];
    if (q.cursor) {
      const c = decodeCursor(q.cursor, s);
      const op = s.dir === 1 ? '$gt' : '$lt';
      // gbCode is unique: the value alone is the position. Otherwise the inclusive range is what an index
      // can scan from; the `$or` then drops the rows of the cursor's own value already returned.
      if (s.field === 'gbCode') page.push({ gbCode: { [op]: c.value } });
      else page.push({ [s.field]: { [op + 'e']: c.value } }, { $or: [{ [s.field]: { [op]: c.value } }, { [s.field]: c.value, _id: { [op]: c.id } }] });
    }
    // gbCode is unique, so it orders alone and the {gbCode} / {regionId, gbCode} … indexes serve the sort
    // (on MongoDB too, which cannot use them for an extra `_id` key); other fields tie-break on _id
    const sort: Record<string, 1 | -1> = s.field === 'gbCode' ? { gbCode: s.dir } : { [s.field]: s.dir, _id: s.dir };
    if (regionIds) page.push(regionIds.length === 1 ? { regionId: oid(regionIds[0]) } : { regionId: { $in: regionIds.map(oid) } });
    const filter = page.length === 0 ? {} : page.length === 1 ? page[0] : { $and: page };
    // Several regions (a street's subtree) are one `$in` query: the store (and mongod, up to 200 values)
    // merges one ordered walk of the {regionId, sort field} index per region and stops after one page.
    // The search fields are a third of a point's bytes and toCamera ignores them; the embedded store drops
    // top-level fields by splicing the stored bytes, so leaving them out costs nothing there either.
    const docs: CameraDoc[] =
      regionIds && regionIds.length === 0 ? [] : await this.coll.find<CameraDoc>(filter, { projection: listProjection }).sort(sort).limit(q.limit + 1).toArray();
    const more = docs.length > q.limit;
    const items = more ? docs.slice(0, q.limit) : docs;
    const last = items[items.length - 1];
    const { total, totalCapped } = q.count ? await this.total(principal, q) : { total: null, totalCapped: false };
    return { items: items.map(toCamera), nextCursor: more && last ? encodeCursor(s, readPath(last, s.field), last._id) : null, total, totalCapped };
  }

  /** The list's total: from the in-memory counts where they suffice, else a count (capped for free text). */
  private async total(principal: Principal, q: CameraListQuery): Promise<{ total: number; totalCapped: boolean }> {
    const fromCounts = await this.totalFromCounts(principal, q);
    if (fromCounts !== null) return { total: fromCounts, totalCapped: false };
    const filter = this.listFilter(principal, q);
    if (q.q && searchPlan(q.q)?.exact === false) {
      const n = await this.coll.countDocuments(filter, { limit: TEXT_COUNT_CAP + 1 });
      return { total: Math.min(n, TEXT_COUNT_CAP), totalCapped: n > TEXT_COUNT_CAP };
    }
    return { total: await this.coll.countDocuments(filter), totalCapped: false };
  }

  /**
   * The total of a list from the in-memory counts when every filter is one of their dimensions (region,
   * tier, sharing, maintainer, enabled): a count over a large collection is a scan in the embedded store.
   * Null when another filter is present.
   */
  private async totalFromCounts(principal: Principal, q: CameraListQuery): Promise<number | null> {
    if (q.tag?.length || q.state?.length || q.type?.length || q.upstreamId || q.q) return null;
    const state = await this.countState();
    let regionSet: Set<string> | null = null;
    let gridOnly: string | null = null;
    if (q.regionId) {
      const r = this.regions.get(q.regionId);
      if (!r) return null;
      if (r.tier === 'grid') gridOnly = r.id;
      else regionSet = new Set(q.subtree ? this.regions.subtree(r.id) : [r.id]);
    }
    const maintainers = q.maintainer?.length ? new Set(q.maintainer) : null;
    const vendors = q.vendor?.length ? new Set(q.vendor) : null;
    const sharings = q.sharing?.length ? new Set<string>(q.sharing) : null;
    const sees = this.bucketVisibility(principal);
    const tierOf = new Map<string, boolean>();
    let total = 0;
    const rows = vendors || gridOnly || q.tier === 'grid' ? bucketRows(state) : coarseRows(state);
    for (const { regionId, gridId, sharing, org, vendor, vk, n: v } of rows) {
      if (regionSet && !regionSet.has(regionId)) continue;
      if (vendors && !vendors.has(vendor)) continue;
      if (gridOnly && gridId !== gridOnly) continue;
      if (q.tier === 'grid') {
        if (!gridId) continue;
      } else if (q.tier) {
        let ok = tierOf.get(regionId);
        if (ok === undefined) tierOf.set(regionId, (ok = this.regions.get(regionId)?.tier === q.tier));
        if (!ok) continue;
      }
      if (maintainers && !maintainers.has(org)) continue;
      if (sharings && !sharings.has(sharing)) continue;
      if (sees && !sees({ regionId, sharing, org, vk })) continue;
      total += q.enabled === undefined ? v.total : q.enabled ? v.enabled : v.total - v.enabled;
    }
    return total;
  }

  // ---- validation shared by create/update ----

  private async checkWrite(principal: Principal, input: CameraInput, self?: { id: string }): Promise<void> {
    // references the caller cannot see are "not found", exactly like unknown ones (scope never reveals existence)
    for (const field of ['regionId', 'gridId'] as const) {
      const ref = input[field];
      if (ref && (!this.regions.get(ref) || !canSeeRegion(principal, this.regions, ref))) throw refNotFound(field, 'region');
    }
    if (input.upstreamId && input.upstreamId !== self?.id) {
      const up = await this.findDoc(input.upstreamId);
      if (!up || !this.canSee(principal, { regionId: up.regionId.toHexString(), sharing: up.sharing, maintainer: up.maintainer })) {
        throw refNotFound('upstreamId', 'camera point');
      }
    }
    const issues = validateCameraInput(input, this.regions, self);
    if (issues.length) throw new AppError('validation_failed', `invalid camera point: ${issues[0].field}: ${issues[0].message}`, issues);
    if (!regionInScope(principal, this.regions, input.regionId)) throw new AppError('forbidden', 'the region lies outside your write scope');
  }

  private fieldsOf(input: CameraInput): RegistryFields {
    return {
      gbCode: input.gbCode,
      name: input.name,
      regionId: oid(input.regionId),
      gridId: input.gridId ? oid(input.gridId) : null,
      address: input.address,
      location: input.location ? { lon: input.location.lon, lat: input.location.lat } : null,
      endpoint: {
        host: input.endpoint.host,
        rtspPort: input.endpoint.rtspPort,
        rtspPath: input.endpoint.rtspPath,
        httpPort: input.endpoint.httpPort ?? null,
        onvifPort: input.endpoint.onvifPort ?? null,
      },
      probe: applyProbeDefaults(input.probe, this.probeDefaults),
      vendor: input.vendor,
      model: input.model,
      ownerUnit: input.ownerUnit,
      maintainer: { org: input.maintainer.org, contact: input.maintainer.contact, phone: input.maintainer.phone },
      sharing: input.sharing,
      upstreamId: input.upstreamId ? oid(input.upstreamId) : null,
      tags: input.tags,
      enabled: input.enabled,
      installedAt: input.installedAt ? new Date(input.installedAt) : null,
      note: input.note,
      gb: decodeGbCode(input.gbCode),
      ...searchFieldsOf(input),
    };
  }

  private registryFieldsOfDoc(d: CameraDoc): RegistryFields {
    const { _id: _i, status: _s, version: _v, createdAt: _c, updatedAt: _u, ...rest } = d;
    return rest;
  }

  private newDoc(fields: RegistryFields, now: Date, id = new Types.ObjectId()): CameraDoc {
    return {
      _id: id,
      ...fields,
      status: { state: !fields.enabled ? 'DISABLED' : fields.endpoint.host === null ? 'NOT_CONNECTED' : 'UNKNOWN', since: now, lastCheckAt: null, rttMs: null, flapping: false, reason: null },
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
  }

  // ---- writes ----

  async create(principal: Principal, input: CameraInput): Promise<Camera> {
    await this.checkWrite(principal, input);
    const doc = this.newDoc(this.fieldsOf(input), new Date());
    const snap = this.counts;
    try {
      await this.coll.insertOne(doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw duplicateGb(input.gbCode);
      throw err;
    }
    this.afterWrite(snap, [[null, doc]]);
    const cam = toCamera(doc);
    await this.audit.record({ actor: actorOf(principal), action: 'create', entity: 'camera', entityId: cam.id, before: null, after: auditView(cam), regionIds: [cam.regionId] });
    this.feed.emit({ kind: 'upsert', id: cam.id, regionId: cam.regionId, camera: cam });
    return cam;
  }

  /** The stored point as a create input, for merging a patch. */
  private asInput(c: Camera): Record<string, unknown> {
    return {
      gbCode: c.gbCode,
      name: c.name,
      regionId: c.regionId,
      gridId: c.gridId,
      address: c.address,
      location: c.location,
      endpoint: {
        host: c.endpoint.host,
        rtspPort: c.endpoint.rtspPort,
        rtspPath: c.endpoint.rtspPath,
        ...(c.endpoint.httpPort !== null ? { httpPort: c.endpoint.httpPort } : {}),
        ...(c.endpoint.onvifPort !== null ? { onvifPort: c.endpoint.onvifPort } : {}),
      },
      probe: c.probe,
      vendor: c.vendor,
      model: c.model,
      ownerUnit: c.ownerUnit,
      maintainer: c.maintainer,
      sharing: c.sharing,
      upstreamId: c.upstreamId,
      tags: c.tags,
      enabled: c.enabled,
      installedAt: c.installedAt,
      note: c.note,
    };
  }

  private merge(cur: Camera, patch: CameraPatch): CameraInput {
    const raw = this.asInput(cur);
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
    const fields = this.fieldsOf(input);
    if (canonical(fields) === canonical(this.registryFieldsOfDoc(curDoc))) return cur;
    const now = new Date();
    const snap = this.counts;
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
      const now2 = await this.findDoc(id);
      if (!now2) throw AppError.notFound('camera point');
      throw staleError(now2.version);
    }
    this.afterWrite(snap, [[curDoc, res]]);
    const after = toCamera(res);
    await this.audit.record({
      actor: actorOf(principal),
      action: 'update',
      entity: 'camera',
      entityId: id,
      before: auditView(cur),
      after: auditView(after),
      regionIds: [...new Set([cur.regionId, after.regionId])],
    });
    this.feed.emit({ kind: 'upsert', id, regionId: after.regionId, camera: after });
    return after;
  }

  async remove(principal: Principal, id: string, expectedVersion?: number): Promise<void> {
    const curDoc = await this.visibleDoc(principal, id);
    const cur = toCamera(curDoc);
    if (!regionInScope(principal, this.regions, cur.regionId)) throw new AppError('forbidden', 'this point lies outside your write scope');
    if (expectedVersion !== undefined && expectedVersion !== cur.version) throw staleError(cur.version);
    const snap = this.counts;
    const res = await this.coll.deleteOne({ _id: curDoc._id, version: cur.version });
    if (res.deletedCount === 0) {
      const again = await this.findDoc(id);
      if (!again) throw AppError.notFound('camera point');
      throw staleError(again.version);
    }
    this.afterWrite(snap, [[curDoc, null]]);
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
   * Idempotent: a row equal to the stored point is 'unchanged' and not written (no version bump).
   * One `$in` read and one unordered bulkWrite per call; call with batches of ~1,000.
   */
  async upsertManyValidated(rows: CameraInput[], actor: AuditActor, opts: { principal?: Principal; source?: string; dryRun?: boolean; audit?: boolean } = {}): Promise<UpsertResult> {
    const byCode = new Map<string, CameraInput>();
    for (const r of rows) byCode.set(r.gbCode, r);
    const existing = new Map<string, CameraDoc>();
    const codes = [...byCode.keys()];
    for (let i = 0; i < codes.length; i += 5000) {
      const docs = await this.coll.find<CameraDoc>({ gbCode: { $in: codes.slice(i, i + 5000) } }).toArray();
      for (const d of docs) existing.set(d.gbCode, d);
    }
    const result: UpsertResult = { created: 0, updated: 0, unchanged: 0, conflicts: [], refused: [], outcomes: [] };
    const ops: AnyBulkWriteOperation<CameraDoc>[] = [];
    const pending: Array<{ kind: 'created' | 'updated'; before: CameraDoc | null; after: CameraDoc }> = [];
    const now = new Date();
    for (const [code, row] of byCode) {
      const fields = this.fieldsOf(row);
      const cur = existing.get(code);
      if (!cur) {
        const doc = this.newDoc(fields, now);
        ops.push({ insertOne: { document: doc } });
        pending.push({ kind: 'created', before: null, after: doc });
        continue;
      }
      if (opts.principal && !regionInScope(opts.principal, this.regions, cur.regionId.toHexString())) {
        result.refused.push({ gbCode: code, reason: 'the existing point lies outside your write scope' });
        continue;
      }
      if (canonical(fields) === canonical(this.registryFieldsOfDoc(cur))) {
        result.unchanged += 1;
        result.outcomes.push({ gbCode: code, id: cur._id.toHexString(), outcome: 'unchanged' });
        continue;
      }
      const after: CameraDoc = { ...cur, ...fields, version: cur.version + 1, updatedAt: now };
      ops.push({ updateOne: { filter: { _id: cur._id, version: cur.version }, update: { $set: { ...fields, updatedAt: now }, $inc: { version: 1 } } } });
      pending.push({ kind: 'updated', before: cur, after });
    }
    if (opts.dryRun) {
      for (const p of pending) {
        result[p.kind] += 1;
        result.outcomes.push({ gbCode: p.after.gbCode, id: p.after._id.toHexString(), outcome: p.kind });
      }
      return result;
    }
    const failed = new Set<number>();
    const snap = this.counts;
    if (ops.length) {
      try {
        const res = await this.coll.bulkWrite(ops as Parameters<typeof this.coll.bulkWrite>[0], { ordered: false });
        void res;
      } catch (err) {
        const writeErrors = (err as { writeErrors?: Array<{ index: number }> | { index: number } }).writeErrors;
        const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : null;
        if (!list) {
          this.afterWrite(null, []);
          throw err;
        }
        for (const w of list) failed.add(w.index);
      }
    }
    // an update whose version moved meanwhile matched nothing: find those by reading the versions back
    const updatedIds = pending.filter((p) => p.kind === 'updated').map((p) => p.after._id);
    const versions = new Map<string, number>();
    if (updatedIds.length) {
      const docs = await this.coll.find<CameraDoc>({ _id: { $in: updatedIds } }, { projection: { version: 1, updatedAt: 1 } }).toArray();
      for (const d of docs) versions.set(d._id.toHexString(), d.updatedAt.getTime() === now.getTime() ? d.version : -1);
    }
    const auditEntries: AuditRecordInput[] = [];
    const written: Array<[CameraDoc | null, CameraDoc]> = [];
    pending.forEach((p, i) => {
      const id = p.after._id.toHexString();
      const ok = !failed.has(i) && (p.kind === 'created' || versions.get(id) === p.after.version);
      if (!ok) {
        result.conflicts.push(p.after.gbCode);
        return;
      }
      result[p.kind] += 1;
      result.outcomes.push({ gbCode: p.after.gbCode, id, outcome: p.kind });
      written.push([p.before, p.after]);
      const after = toCamera(p.after);
      if (opts.audit !== false) {
        auditEntries.push({
          actor,
          action: p.kind === 'created' ? 'create' : 'update',
          entity: 'camera',
          entityId: id,
          before: p.before ? auditView(toCamera(p.before)) : null,
          after: auditView(after),
          meta: opts.source ? { source: opts.source } : undefined,
          regionIds: [...new Set([after.regionId, ...(p.before ? [p.before.regionId.toHexString()] : [])])],
        });
      }
      this.feed.emit({ kind: 'upsert', id, regionId: after.regionId, camera: after });
    });
    if (ops.length) this.afterWrite(snap, written);
    for (let i = 0; i < auditEntries.length; i += 5000) await this.audit.recordMany(auditEntries.slice(i, i + 5000));
    return result;
  }

  // ---- RegionPoints (used by the region service) ----

  private inRegions(regionIds: string[]): Filter {
    const ids = regionIds.map(oid);
    return { $or: [{ regionId: { $in: ids } }, { gridId: { $in: ids } }] };
  }

  async countIn(regionIds: string[]): Promise<number> {
    if (regionIds.length === 0) return 0;
    return this.coll.countDocuments(this.inRegions(regionIds));
  }

  async countCodeMismatch(regionIds: string[], prefix: string): Promise<number> {
    if (regionIds.length === 0) return 0;
    const next = nextPrefix(prefix);
    const outside: Filter[] = [{ gbCode: { $lt: prefix } }];
    if (next) outside.push({ gbCode: { $gte: next } });
    return this.coll.countDocuments({ $and: [this.inRegions(regionIds), { $or: outside }] });
  }

  async rehome(regionIds: string[], target: { regionId: string; gridId: string | null }, actor: AuditActor): Promise<number> {
    const docs = await this.coll.find<CameraDoc>(this.inRegions(regionIds)).toArray();
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
    this.afterWrite(null, []);
    await this.audit.recordMany(entries);
    for (const a of afters) this.feed.emit({ kind: 'upsert', id: a.id, regionId: a.regionId, camera: a });
    return docs.length;
  }

  async announce(regionIds: string[]): Promise<void> {
    const docs = await this.coll.find<CameraDoc>(this.inRegions(regionIds), { projection: { searchText: 0, searchTokens: 0 } }).toArray();
    for (const d of docs) {
      const c = toCamera(d);
      this.feed.emit({ kind: 'upsert', id: c.id, regionId: c.regionId, camera: c });
    }
  }

  private async announceIds(ids: Types.ObjectId[]): Promise<void> {
    const docs = await this.coll.find<CameraDoc>({ _id: { $in: ids } }, { projection: { searchText: 0, searchTokens: 0 } }).toArray();
    for (const d of docs) {
      const c = toCamera(d);
      this.feed.emit({ kind: 'upsert', id: c.id, regionId: c.regionId, camera: c });
    }
  }

  // ---- counts: one aggregation, then kept current in memory ----

  private bucketKey(d: Pick<CameraDoc, 'regionId' | 'gridId' | 'sharing' | 'maintainer' | 'vendor'>): string {
    return [d.regionId.toHexString(), hex(d.gridId) ?? '', d.sharing, d.maintainer?.org ?? '', d.vendor ?? ''].join(SEP);
  }

  /**
   * Keeps the in-memory counts exact after a write: deltas apply only when the counts in memory are the
   * ones that existed before the write (a rebuild in between may or may not include it, so it is
   * dropped and redone). Bumping writeSeq makes a rebuild that is still scanning start over.
   */
  private afterWrite(snap: BucketState | null, pairs: Array<[CameraDoc | null, CameraDoc | null]>): void {
    this.writeSeq += 1;
    const state = this.counts;
    if (!state) return;
    if (state !== snap) {
      this.counts = null;
      return;
    }
    state.rows = null;
    state.coarse = null;
    const apply = (d: CameraDoc, sign: 1 | -1): void => {
      const k = this.bucketKey(d);
      const cur = state.map.get(k) ?? { total: 0, enabled: 0 };
      cur.total += sign;
      if (d.enabled) cur.enabled += sign;
      if (cur.total === 0) state.map.delete(k);
      else state.map.set(k, cur);
    };
    for (const [before, after] of pairs) {
      if (before) apply(before, -1);
      if (after) apply(after, 1);
    }
  }

  private async countState(): Promise<BucketState> {
    if (this.counts) return this.counts;
    this.countsBuilding ??= (async () => {
      try {
        for (;;) {
          const seq = this.writeSeq;
          const rows = await this.coll
            .aggregate<{ _id: { r: Types.ObjectId; g: Types.ObjectId | null; s: string; o: string | null; v: string | null }; n: number; e: number }>([
              { $group: { _id: { r: '$regionId', g: '$gridId', s: '$sharing', o: '$maintainer.org', v: '$vendor' }, n: { $sum: 1 }, e: { $sum: { $cond: ['$enabled', 1, 0] } } } },
            ])
            .toArray();
          const map = new Map<string, { total: number; enabled: number }>();
          for (const r of rows) {
            map.set(this.bucketKey({ regionId: r._id.r, gridId: r._id.g ?? null, sharing: r._id.s as CameraDoc['sharing'], maintainer: { org: r._id.o ?? '', contact: '', phone: '' }, vendor: r._id.v ?? '' }), { total: r.n, enabled: r.e });
          }
          if (seq === this.writeSeq) {
            this.counts = { map, rows: null, coarse: null };
            return this.counts;
          }
          // a write landed during the scan: its delta is not in these rows, scan again
        }
      } finally {
        this.countsBuilding = null;
      }
    })();
    return this.countsBuilding;
  }

  /**
   * Whether `principal` sees the points of a count row; null when it sees every point. Visibility depends
   * on region, sharing and org only, so each combination (the row's `vk`) is decided once.
   */
  private bucketVisibility(principal: Principal): ((row: Pick<BucketRow, 'regionId' | 'sharing' | 'org' | 'vk'>) => boolean) | null {
    const viewer = viewerOf(principal);
    if (pointVisibility(viewer, this.regions) === null) return null;
    const sees = pointPredicate(viewer, this.regions);
    const seen = new Map<string, boolean>();
    return ({ regionId, sharing, org, vk }) => {
      let ok = seen.get(vk);
      if (ok === undefined) {
        ok = sees({ regionId, sharing: sharing as Camera['sharing'], org });
        seen.set(vk, ok);
      }
      return ok;
    };
  }

  async buckets(principal: Principal): Promise<PointBucket[]> {
    const state = await this.countState();
    const byRegion = new Map<string, PointBucket>();
    const sees = this.bucketVisibility(principal);
    for (const row of bucketRows(state)) {
      const { regionId, gridId, n: v } = row;
      if (sees && !sees(row)) continue;
      const bk = `${regionId}${SEP}${gridId}`;
      const b = byRegion.get(bk) ?? { regionId, gridId: gridId || null, total: 0, enabled: 0 };
      b.total += v.total;
      b.enabled += v.enabled;
      byRegion.set(bk, b);
    }
    return [...byRegion.values()];
  }
}

