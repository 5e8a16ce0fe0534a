import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { channelKinds, deliveryStates, type ChannelKind, type DeliveryState } from '../contracts/alerts';

export interface ChannelDoc {
  _id: Types.ObjectId;
  name: string;
  kind: ChannelKind;
  enabled: boolean;
  settings: Record<string, unknown>;
  /** The kind's secrets and the proxy URL, sealed by SecretBox (bound to the channel id). */
  sealed: string;
  secretFields: string[];
  /** Where messages go, without secrets. */
  target: string;
  /** The proxy URL without credentials (the full one is sealed). */
  proxyDisplay: string | null;
  health: {
    healthy: boolean;
    lastSuccessAt: Date | null;
    lastFailureAt: Date | null;
    lastError: string | null;
    consecutiveFailures: number;
  };
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const channelSchema = new Schema<ChannelDoc>(
  {
    name: { type: String, required: true },
    kind: { type: String, required: true, enum: channelKinds },
    enabled: { type: Boolean, required: true },
    settings: { type: Schema.Types.Mixed, required: true },
    sealed: { type: String, required: true },
    secretFields: { type: [String], default: [] },
    target: { type: String, required: true },
    proxyDisplay: { type: String, default: null },
    health: {
      healthy: { type: Boolean, default: true },
      lastSuccessAt: { type: Date, default: null },
      lastFailureAt: { type: Date, default: null },
      lastError: { type: String, default: null },
      consecutiveFailures: { type: Number, default: 0 },
    },
    version: { type: Number, required: true, default: 1 },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'alert_channels', versionKey: false, minimize: false },
);
channelSchema.index({ name: 1 }, { unique: true });

export function channelModel(conn: Connection): Model<ChannelDoc> {
  return (conn.models.AlertChannel as Model<ChannelDoc> | undefined) ?? conn.model<ChannelDoc>('AlertChannel', channelSchema);
}

/** The epoch: a lease that has never been taken (every row carries a Date, so "due" is one range query). */
export const NO_LEASE = new Date(0);

export interface OutboxDoc {
  _id: Types.ObjectId;
  /** Idempotency key, unique: the same for every attempt; receivers deduplicate on it. */
  key: string;
  type: 'alert' | 'digest';
  incidentId: string | null;
  revision: number | null;
  channelId: string;
  receiver: string | null;
  /** The AlertMessage (null on a digest row: it sends its members' messages). */
  message: Record<string, unknown> | null;
  /** Digest rows: how many rows they merged. */
  digestOf: number;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: Date;
  leaseUntil: Date;
  leaseOwner: string | null;
  lastAttemptAt: Date | null;
  lastError: string | null;
  deliveredAt: Date | null;
  /** A merged row: the key of the digest row that carries it. */
  mergedInto: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const outboxSchema = new Schema<OutboxDoc>(
  {
    key: { type: String, required: true },
    type: { type: String, required: true, enum: ['alert', 'digest'] },
    incidentId: { type: String, default: null },
    revision: { type: Number, default: null },
    channelId: { type: String, required: true },
    receiver: { type: String, default: null },
    message: { type: Schema.Types.Mixed, default: null },
    digestOf: { type: Number, default: 0 },
    state: { type: String, required: true, enum: deliveryStates },
    attempts: { type: Number, default: 0 },
    nextAttemptAt: { type: Date, required: true },
    leaseUntil: { type: Date, required: true },
    leaseOwner: { type: String, default: null },
    lastAttemptAt: { type: Date, default: null },
    lastError: { type: String, default: null },
    deliveredAt: { type: Date, default: null },
    mergedInto: { type: String, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'alert_outbox', versionKey: false, minimize: false },
);
outboxSchema.index({ key: 1 }, { unique: true });
// due rows, oldest first; a channel's queue; an incident's outcomes; a digest's members
outboxSchema.index({ state: 1, nextAttemptAt: 1 });
outboxSchema.index({ channelId: 1, state: 1 });
outboxSchema.index({ incidentId: 1, revision: 1 });
outboxSchema.index({ mergedInto: 1 }, { partialFilterExpression: { mergedInto: { $type: 'string' } } });
outboxSchema.index({ lastAttemptAt: 1 }, { partialFilterExpression: { lastAttemptAt: { $type: 'date' } } });

export function outboxModel(conn: Connection): Model<OutboxDoc> {
  return (conn.models.AlertOutbox as Model<OutboxDoc> | undefined) ?? conn.model<OutboxDoc>('AlertOutbox', outboxSchema);
}
