import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { AlertPolicyInput, Incident } from '../../contracts/incidents';
import type { IncidentBook, Notice } from './engine';

export interface AlertPolicyDoc extends AlertPolicyInput {
  _id: Types.ObjectId;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const policySchema = new Schema<AlertPolicyDoc>(
  {
    name: { type: String, required: true },
    enabled: { type: Boolean, required: true },
    priority: { type: Number, required: true },
    match: { type: Schema.Types.Mixed, required: true },
    groupBy: { type: String, required: true },
    groupWaitSec: { type: Number, required: true },
    groupIntervalSec: { type: Number, required: true },
    repeatIntervalSec: { type: Number, required: true },
    receivers: { type: Schema.Types.Mixed, default: [] },
    escalation: { type: Schema.Types.Mixed, required: true },
    version: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'alert_policies', versionKey: false, minimize: false },
);
policySchema.index({ name: 1 }, { unique: true });

export function alertPolicyModel(conn: Connection): Model<AlertPolicyDoc> {
  return (conn.models.AlertPolicy as Model<AlertPolicyDoc> | undefined) ?? conn.model<AlertPolicyDoc>('AlertPolicy', policySchema);
}

/** What the visibility rule reads of one member point, kept with the incident so lists filter in the store. */
export interface MemberRef {
  p: string;
  r: string;
  s: string;
  o: string;
}

export interface IncidentDoc extends Omit<Incident, 'id'> {
  _id: Types.ObjectId;
  refs: MemberRef[];
  book: IncidentBook;
  /**
   * Notices written with this state of the incident and not yet known to be in the outbox (the transactional
   * outbox: the incident that says "announced" and the message that announces it are one document write).
   * Absent once the outbox holds them; a restart enqueues what is left, under the same idempotency keys.
   */
  pending?: Notice[];
  /** When `pending` was written (epoch ms); absent with it, so the sparse index holds only such incidents. */
  pendingSince?: number;
}

const incidentSchema = new Schema<IncidentDoc>(
  {
    policyId: { type: String, required: true },
    groupBy: { type: String, required: true },
    groupKey: { type: String, required: true },
    state: { type: String, required: true },
    openedAt: { type: String, required: true },
    resolvedAt: { type: String, default: null },
    revision: { type: Number, required: true },
    announced: { type: Boolean, required: true },
    ackedAt: { type: String, default: null },
    ackedBy: { type: String, default: null },
    assignee: { type: String, default: null },
    members: { type: Schema.Types.Mixed, default: [] },
    timeline: { type: Schema.Types.Mixed, default: [] },
    refs: { type: Schema.Types.Mixed, default: [] },
    book: { type: Schema.Types.Mixed, required: true },
    pending: { type: Schema.Types.Mixed },
    pendingSince: { type: Number },
  },
  { collection: 'incidents', versionKey: false, minimize: false },
);
incidentSchema.index({ state: 1, _id: -1 });
incidentSchema.index({ 'refs.p': 1 });
incidentSchema.index({ pendingSince: 1 }, { sparse: true });

export function incidentModel(conn: Connection): Model<IncidentDoc> {
  return (conn.models.Incident as Model<IncidentDoc> | undefined) ?? conn.model<IncidentDoc>('Incident', incidentSchema);
}
