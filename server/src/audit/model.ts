import { Schema, type Connection, type Model, type Types } from 'mongoose';

export interface AuditDoc {
  _id: Types.ObjectId;
  at: Date;
  actor: { userId: string; username: string };
  action: string;
  entity: string;
  entityId: string | null;
  before: unknown;
  after: unknown;
  meta: Record<string, unknown>;
  regionIds: string[];
}

const auditSchema = new Schema<AuditDoc>(
  {
    at: { type: Date, required: true },
    actor: { userId: { type: String, required: true }, username: { type: String, required: true } },
    action: { type: String, required: true },
    entity: { type: String, required: true },
    entityId: { type: String, default: null },
    before: { type: Schema.Types.Mixed, default: null },
    after: { type: Schema.Types.Mixed, default: null },
    meta: { type: Schema.Types.Mixed, default: {} },
    regionIds: { type: [String], default: [] },
  },
  { collection: 'audit', versionKey: false, minimize: false },
);
// newest-first pages, per entity, per actor and per region (scoped readers)
auditSchema.index({ at: -1, _id: -1 });
auditSchema.index({ entity: 1, entityId: 1, at: -1 });
auditSchema.index({ 'actor.userId': 1, at: -1 });
auditSchema.index({ regionIds: 1, at: -1 });

export function auditModel(conn: Connection): Model<AuditDoc> {
  return (conn.models.Audit as Model<AuditDoc> | undefined) ?? conn.model<AuditDoc>('Audit', auditSchema);
}
