import { Types, type Connection, type Model } from 'mongoose';
import type { Principal } from '../auth/principal';
import type { RegionIndex } from '../auth/scope';
import { AppError } from '../lib/errors';
import { auditModel, type AuditDoc } from './model';
import type { AuditEntry, AuditPage, AuditQuery, AuditRecordInput } from './schema';

/** Plain JSON copy (drops undefined, Dates become ISO strings) so entries never hold live objects. */
function toJson(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  return JSON.parse(JSON.stringify(value)) as unknown;
}

function encodeCursor(at: Date, id: Types.ObjectId): string {
  return Buffer.from(`${at.getTime()}:${id.toHexString()}`).toString('base64url');
}

function decodeCursor(cursor: string): { at: Date; id: Types.ObjectId } {
  const m = /^(\d{1,16}):([0-9a-f]{24})$/.exec(Buffer.from(cursor, 'base64url').toString());
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
    if (principal.scopeRegionId !== null) and.push({ regionIds: { $in: this.regions.subtree(principal.scopeRegionId) } });
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
    return { items: page.map(toEntry), nextCursor: more && last ? encodeCursor(last.at, last._id) : null };
  }
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

export function actorOf(principal: Principal): { userId: string; username: string } {
  return { userId: principal.userId, username: principal.username };
}
