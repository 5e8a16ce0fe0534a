import { Types, type Connection, type Model } from 'mongoose';
import { can, type Principal } from '../contracts/access';
import { pointFilter, pointPredicate, viewerOf, type PointRef, type RegionIndex } from '../auth/scope';
import { AppError } from '../lib/errors';
import { auditModel, type AuditDoc } from './model';
import type { AuditEntry, AuditPage, AuditQuery } from '../contracts/audit';
import type { AuditRecordInput } from './schema';
import { OBJECT_ID_PATTERN } from '../contracts/vocabulary';

/** Plain JSON copy (drops undefined, Dates become ISO strings) so entries never hold live objects. */
function toJson(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  return JSON.parse(JSON.stringify(value)) as unknown;
}

function encodeCursor(at: Date, id: Types.ObjectId): string {
  return Buffer.from(`${at.getTime()}:${id.toHexString()}`).toString('base64url');
}

const CURSOR = new RegExp(`^(\\d{1,16}):(${OBJECT_ID_PATTERN.source.slice(1, -1)})$`);

function decodeCursor(cursor: string): { at: Date; id: Types.ObjectId } {
  const m = CURSOR.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new AppError('bad_request', 'invalid cursor', [{ field: 'cursor', message: 'not a cursor returned by this endpoint' }]);
  return { at: new Date(Number(m[1])), id: new Types.ObjectId(m[2]) };
}

/**
 * Who changed what and when. Capabilities call `record` after a successful change; the auth capability
 * records logins, failures, token use and permission changes. Entries are append-only.
 */
export class AuditService {
  private readonly model: Model<AuditDoc>;

  constructor(
    conn: Connection,
    private readonly regions: RegionIndex,
  ) {
    this.model = auditModel(conn);
  }

  async record(entry: AuditRecordInput): Promise<void> {
    await this.recordMany([entry]);
  }

  /** One round trip for many entries (imports, bulk moves). */
  async recordMany(entries: AuditRecordInput[]): Promise<void> {
    if (entries.length === 0) return;
    const now = new Date();
    const docs = entries.map((e) => ({
      _id: new Types.ObjectId(),
      at: e.at ?? now,
      actor: { userId: e.actor.userId, username: e.actor.username },
      action: e.action,
      entity: e.entity,
      entityId: e.entityId,
      before: toJson(e.before),
      after: toJson(e.after),
      meta: (toJson(e.meta) as Record<string, unknown> | null) ?? {},
      regionIds: [...new Set(e.regionIds ?? [])],
    }));
    await this.model.collection.insertMany(docs, { ordered: false });
  }

  /** Newest first, keyset-paginated; scoped callers see entries about regions inside their subtree only. */
  async list(principal: Principal, query: AuditQuery): Promise<AuditPage> {
    const and: Record<string, unknown>[] = [];
    if (query.entity) and.push({ entity: query.entity });
    if (query.entityId) and.push({ entityId: query.entityId });
    if (query.action) and.push({ action: query.action });
    if (query.actor) and.push({ $or: [{ 'actor.userId': query.actor }, { 'actor.username': query.actor }] });
    if (query.from) and.push({ at: { $gte: new Date(query.from) } });
    if (query.to) and.push({ at: { $lt: new Date(query.to) } });
    const scoped = this.scopeFilter(principal);
    if (scoped) and.push(scoped);
    // logins, failed logins and locks name client addresses and who is being guessed at: admins only
    const admin = can(principal, 'user:manage');
    if (!admin) and.push({ entity: { $ne: 'auth' } });
    if (query.cursor) {
      const c = decodeCursor(query.cursor);
      and.push({ $or: [{ at: { $lt: c.at } }, { at: c.at, _id: { $lt: c.id } }] });
    }
    const docs = await this.model.collection
      .find<AuditDoc>(and.length ? { $and: and } : {})
      .sort({ at: -1, _id: -1 })
      .limit(query.limit + 1)
      .toArray();
    const more = docs.length > query.limit;
    const page = more ? docs.slice(0, query.limit) : docs;
    const last = page[page.length - 1];
    const redact = this.redaction(principal);
    const withoutAddress = (e: AuditEntry): AuditEntry => {
      if (admin || !('ip' in e.meta)) return e;
      const { ip: _ip, ...meta } = e.meta;
      return { ...e, meta };
    };
    return { items: page.map((d) => withoutAddress(redact(toEntry(d)))), nextCursor: more && last ? encodeCursor(last.at, last._id) : null };
  }

  /**
   * What a scoped caller may read. A camera entry keeps the point's before/after views, so it follows the
   * point's own visibility rule (auth/scope.ts: region × sharing × a technician's organisation) on either
   * side: an entry about a point the caller cannot see is not listed at all. Other entries: their regions
   * must lie inside the caller's subtree.
   */
  private scopeFilter(principal: Principal): Record<string, unknown> | null {
    const viewer = viewerOf(principal);
    const sides = (['before', 'after'] as const)
      .map((side) => pointFilter(viewer, this.regions, { regionId: `${side}.regionId`, sharing: `${side}.sharing`, org: `${side}.maintainer.org` }))
      .filter((f): f is Record<string, unknown> => f !== null);
    if (principal.scopeRegionId === null && sides.length === 0) return null;
    const others = principal.scopeRegionId === null ? {} : { regionIds: { $in: this.regions.subtree(principal.scopeRegionId) } };
    return {
      $or: [
        { entity: { $ne: 'camera' }, ...others },
        { entity: 'camera', ...(sides.length ? { $or: sides } : {}) },
      ],
    };
  }

  /** The side of a camera entry the caller cannot see (moved out of scope, re-shared, re-assigned) reads as null. */
  private redaction(principal: Principal): (e: AuditEntry) => AuditEntry {
    const sees = pointPredicate(viewerOf(principal), this.regions);
    const visible = (v: unknown): boolean => {
      const ref = pointRefOfView(v);
      return ref !== null && sees(ref);
    };
    return (e) => {
      if (e.entity !== 'camera') return e;
      const before = e.before !== null && !visible(e.before) ? null : e.before;
      const after = e.after !== null && !visible(e.after) ? null : e.after;
      if (before === e.before && after === e.after) return e;
      return { ...e, before, after, meta: { ...e.meta, redacted: true } };
    };
  }
}

/** The visibility inputs of a point as its audit view holds them (a JSON copy of the public Camera). */
function pointRefOfView(v: unknown): PointRef | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as { regionId?: unknown; sharing?: unknown; maintainer?: { org?: unknown } | null };
  if (typeof o.regionId !== 'string' || (o.sharing !== 'own' && o.sharing !== 'up' && o.sharing !== 'all')) return null;
  return { regionId: o.regionId, sharing: o.sharing, org: typeof o.maintainer?.org === 'string' ? o.maintainer.org : '' };
}

function toEntry(d: AuditDoc): AuditEntry {
  return {
    id: d._id.toHexString(),
    at: d.at.toISOString(),
    actor: { userId: d.actor.userId, username: d.actor.username },
    action: d.action,
    entity: d.entity as AuditEntry['entity'],
    entityId: d.entityId ?? null,
    before: d.before ?? null,
    after: d.after ?? null,
    meta: d.meta ?? {},
    regionIds: d.regionIds ?? [],
  };
}

