import type { Types } from 'mongoose';
import type { Principal } from '../contracts/access';
import { canSeeRegion, viewerOf } from '../auth/scope';
import { AppError } from '../lib/errors';
import { isObjectId } from '../contracts/vocabulary';
import type { RegionService } from '../regions/service';
import type { PointCounts } from './counts';
import { inRegions, oid, publicProjection, toCamera, type CameraCollection, type Filter } from './documents';
import type { CameraDoc } from './model';
import { searchPlan } from './search';
import { TEXT_COUNT_CAP, type CameraPage } from '../contracts/cameras';
import type { CameraListQuery } from './schema';
import { pointVisibilityFilter } from './visibility';

export type ListFilters = Omit<CameraListQuery, 'sort' | 'limit' | 'cursor' | 'count'>;

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

/** The smallest code greater than every code starting with `prefix` (null: none). */
function nextPrefix(prefix: string): string | null {
  const n = (BigInt(prefix) + 1n).toString().padStart(prefix.length, '0');
  return n.length > prefix.length ? null : n;
}

function readPath(doc: CameraDoc, field: string): unknown {
  return field.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), doc);
}

/** Lists of points: filters (visibility included), keyset pages and their totals. */
export class CameraQueries {
  constructor(
    private readonly coll: CameraCollection,
    private readonly regions: RegionService,
    private readonly counts: PointCounts,
  ) {}

  /** The store filter for a list query (visibility included). Throws 404 for a region the caller cannot see. */
  listFilter(principal: Principal, q: ListFilters): Filter {
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
  private listConditions(principal: Principal, q: ListFilters): { and: Filter[]; regionIds: string[] | null } {
    const and: Filter[] = [];
    const vis = pointVisibilityFilter(viewerOf(principal), this.regions);
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
      regionIds && regionIds.length === 0 ? [] : await this.coll.find<CameraDoc>(filter, { projection: publicProjection }).sort(sort).limit(q.limit + 1).toArray();
    const more = docs.length > q.limit;
    const items = more ? docs.slice(0, q.limit) : docs;
    const last = items[items.length - 1];
    const { total, totalCapped } = q.count ? await this.total(principal, q) : { total: null, totalCapped: false };
    return { items: items.map(toCamera), nextCursor: more && last ? encodeCursor(s, readPath(last, s.field), last._id) : null, total, totalCapped };
  }

  /** The list's total: from the in-memory counts where they suffice, else a count (capped for free text). */
  private async total(principal: Principal, q: CameraListQuery): Promise<{ total: number; totalCapped: boolean }> {
    const fromCounts = await this.counts.totalOf(principal, q);
    if (fromCounts !== null) return { total: fromCounts, totalCapped: false };
    const filter = this.listFilter(principal, q);
    if (q.q && searchPlan(q.q)?.exact === false) {
      const n = await this.coll.countDocuments(filter, { limit: TEXT_COUNT_CAP + 1 });
      return { total: Math.min(n, TEXT_COUNT_CAP), totalCapped: n > TEXT_COUNT_CAP };
    }
    return { total: await this.coll.countDocuments(filter), totalCapped: false };
  }

  async countIn(regionIds: string[]): Promise<number> {
    if (regionIds.length === 0) return 0;
    return this.coll.countDocuments(inRegions(regionIds));
  }

  async countCodeMismatch(regionIds: string[], prefix: string): Promise<number> {
    if (regionIds.length === 0) return 0;
    const next = nextPrefix(prefix);
    const outside: Filter[] = [{ gbCode: { $lt: prefix } }];
    if (next) outside.push({ gbCode: { $gte: next } });
    return this.coll.countDocuments({ $and: [inRegions(regionIds), { $or: outside }] });
  }
}
