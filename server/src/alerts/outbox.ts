import crypto from 'node:crypto';
import { Types, type Connection, type Model } from 'mongoose';
import { alertMessageSchema, type AlertMessageInput, type Delivery, type DeliveryState } from '../contracts/alerts';
import { NO_LEASE, outboxModel, type OutboxDoc } from './model';

/** One notification an incident engine wants delivered: a revision of an incident to one receiver. */
export interface OutboxEntry {
  incidentId: string;
  /** Grows with each change of the incident that is worth a message (fired, grew, resolved …). */
  revision: number;
  channelId: string;
  /** A person or address behind the channel when the engine distinguishes them (escalation targets). */
  receiver?: string | null;
  message: AlertMessageInput;
}

/** The idempotency key of (incident, revision, channel, receiver): stable across retries and restarts. */
export function idempotencyKey(e: Pick<OutboxEntry, 'incidentId' | 'revision' | 'channelId' | 'receiver'>): string {
  const h = crypto.createHash('sha256').update([e.incidentId, e.revision, e.channelId, e.receiver ?? ''].join('\n')).digest('hex');
  return `vgl-${h.slice(0, 40)}`;
}

export function toDelivery(d: OutboxDoc): Delivery {
  const title = d.message && typeof d.message.title === 'string' ? d.message.title : d.type === 'digest' ? `digest of ${d.digestOf}` : '';
  return {
    key: d.key,
    incidentId: d.incidentId,
    revision: d.revision,
    channelId: d.channelId,
    receiver: d.receiver,
    digestOf: d.digestOf,
    state: d.state,
    attempts: d.attempts,
    nextAttemptAt: d.state === 'pending' || d.state === 'sending' ? d.nextAttemptAt.toISOString() : null,
    lastError: d.lastError,
    deliveredAt: d.deliveredAt ? d.deliveredAt.toISOString() : null,
    mergedInto: d.mergedInto,
    title,
    createdAt: d.createdAt.toISOString(),
  };
}

/**
 * The durable outbox's write side and queries: one row per (incident, revision, channel, receiver) under a
 * unique idempotency key. Enqueueing the same entry again (an engine replaying after a crash) changes
 * nothing. The Dispatcher sends the rows.
 */
export class Outbox {
  readonly model: Model<OutboxDoc>;
  private readonly listeners = new Set<() => void>();

  constructor(
    conn: Connection,
    private readonly now: () => number,
  ) {
    this.model = outboxModel(conn);
  }

  async init(): Promise<void> {
    await this.model.init();
  }

  /** Adds the entries (validated); returns each one's key and whether it was new. */
  async enqueue(entries: OutboxEntry[]): Promise<Array<{ key: string; created: boolean }>> {
    if (entries.length === 0) return [];
    const at = new Date(this.now());
    const rows = entries.map((e) => ({ key: idempotencyKey(e), e, message: alertMessageSchema.parse(e.message) }));
    const res = await this.model.collection.bulkWrite(
      rows.map(({ key, e, message }) => ({
        updateOne: {
          filter: { key },
          update: {
            $setOnInsert: {
              _id: new Types.ObjectId(),
              key,
              type: 'alert',
              incidentId: e.incidentId,
              revision: e.revision,
              channelId: e.channelId,
              receiver: e.receiver ?? null,
              message,
              digestOf: 0,
              state: 'pending',
              attempts: 0,
              nextAttemptAt: at,
              leaseUntil: NO_LEASE,
              leaseOwner: null,
              lastAttemptAt: null,
              lastError: null,
              deliveredAt: null,
              mergedInto: null,
              createdAt: at,
              updatedAt: at,
            },
          },
          upsert: true,
        },
      })),
      { ordered: false },
    );
    const created = new Set(Object.keys(res.upsertedIds).map(Number));
    for (const l of this.listeners) l();
    return rows.map((r, i) => ({ key: r.key, created: created.has(i) }));
  }

  /** Called after each enqueue (the dispatcher wakes up instead of waiting for its next tick). */
  onEnqueue(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Delivery rows, newest first, by incident (and revision), channel or state. */
  async deliveries(q: { incidentId?: string; revision?: number; channelId?: string; state?: DeliveryState; limit?: number }): Promise<Delivery[]> {
    const filter: Record<string, unknown> = {};
    if (q.incidentId !== undefined) filter.incidentId = q.incidentId;
    if (q.revision !== undefined) filter.revision = q.revision;
    if (q.channelId !== undefined) filter.channelId = q.channelId;
    if (q.state !== undefined) filter.state = q.state;
    const docs = await this.model.collection.find<OutboxDoc>(filter).sort({ createdAt: -1, _id: -1 }).limit(q.limit ?? 100).toArray();
    return docs.map(toDelivery);
  }
}
