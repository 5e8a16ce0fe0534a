import type { mongo, Connection } from 'mongoose';
import { pointsCollection, statusUpdate, storeId, type StoredPoint, type StoredStatus } from '../cameras/read-model';
import type { Logger } from '../lib/logger';
import type { Transition } from './events';
import type { FlushTarget, MonitoringMetrics } from './metrics';
import { isDuplicateKey } from '../lib/store-errors';
import type { Calendar } from '../lib/calendar';
import { dayOp, HistoryStore, monthOp, type UpdateStatement } from './history-store';

/** What one store flush writes, each in its own batches (the `what` of vigil_store_flush_failures_total). */

interface TransitionDoc {
  _id: string;
  cameraId: mongo.ObjectId | string;
  regionId: mongo.ObjectId | string;
  seq: number;
  from: string;
  to: string;
  at: Date;
  reason: string | null;
  rttMs: number | null;
  flapping: boolean;
  failingSince: Date | null;
}

export function transitionDoc(t: Transition): TransitionDoc {
  return {
    _id: t.id,
    cameraId: storeId(t.cameraId),
    regionId: storeId(t.regionId),
    seq: t.seq,
    from: t.from,
    to: t.to,
    at: t.at,
    reason: t.reason,
    rttMs: t.rttMs,
    flapping: t.flapping,
    failingSince: t.failingSince,
  };
}

export function transitionFromDoc(d: TransitionDoc): Transition {
  return {
    id: d._id,
    cameraId: String(d.cameraId),
    regionId: String(d.regionId),
    seq: d.seq,
    from: d.from as Transition['from'],
    to: d.to as Transition['to'],
    at: d.at,
    reason: d.reason,
    rttMs: d.rttMs,
    flapping: d.flapping,
    failingSince: d.failingSince,
  };
}

/** A bulk `updateOne` as a statement of the `update` command. */
function statementOf<D extends mongo.Document>(op: mongo.AnyBulkWriteOperation<D>): UpdateStatement {
  if (!('updateOne' in op)) throw new Error('only updateOne operations are written as statements');
  const o = op.updateOne;
  return o.upsert ? { q: o.filter, u: o.update, upsert: true } : { q: o.filter, u: o.update };
}

/**
 * Status and history writes go out in commands of this many operations, one after the other: the embedded
 * store applies a command in one go on the event loop it shares with polling, so small commands keep each
 * stall short (probe answers are handled in between).
 */
const WRITE_CHUNK = 250;

/** Removes and returns the first `n` entries of a map (insertion order: the oldest buffered first). */
function takeFirst<K, V>(m: Map<K, V>, n: number): Map<K, V> {
  if (m.size <= n) {
    const all = new Map(m);
    m.clear();
    return all;
  }
  const out = new Map<K, V>();
  for (const [k, v] of m) {
    if (out.size >= n) break;
    out.set(k, v);
  }
  for (const k of out.keys()) m.delete(k);
  return out;
}

/**
 * Batched writes of the hot path through the native driver (never mongoose documents, never one write
 * per probe): point statuses (one bulkWrite of updateOne per flush), transitions (insertMany, ordered:
 * false, `_id` = cameraId:seq so a retry after an unknown outcome cannot duplicate) and the compact
 * history (history-store.ts: $inc upserts of day and month documents). Everything not acknowledged stays buffered and is retried on the next flush, so a
 * store outage loses nothing as long as the transition buffer does not overflow (bounded; the oldest are
 * dropped and counted in vigil_transitions_dropped_total).
 */
export class MonitoringStore {
  private pendingTransitions: Transition[] = [];
  private dirtyStatus = new Map<string, StoredStatus>();
  /** The compact history (day and month documents) and its write buffers. */
  readonly history: HistoryStore;
  private flushing: Promise<void> | null = null;
  private writingTransitions = 0;

  constructor(
    private readonly conn: Connection,
    private readonly opts: {
      transitionBufferMax: number;
      transitionsRetentionDays: number;
      /** Calendar days and months of the history (REPORT_TZ). */
      calendar: Calendar;
      /**
       * Most writes of each kind per periodic flush (default 5,000; the app passes MONITOR_FLUSH_MAX_OPS). With the embedded store in the same
       * process a write batch holds the event loop while it is applied: a mass outage or an hour turning
       * over on 300,000 points is written over several flushes instead of in one long stall.
       */
      maxOpsPerFlush?: number;
    },
    private readonly metrics: MonitoringMetrics,
    private readonly logger: Logger,
  ) {
    this.history = new HistoryStore(conn, opts.calendar);
  }

  private col<T extends mongo.Document>(name: string): mongo.Collection<T> {
    const db = this.conn.db;
    if (!db) throw new Error('store not connected');
    return db.collection<T>(name);
  }

  /** The points' collection (cameras/read-model.ts), where statuses are written. */
  get cameras(): mongo.Collection<StoredPoint> {
    return pointsCollection(this.conn);
  }

  get transitions(): mongo.Collection<TransitionDoc> {
    return this.col<TransitionDoc>('transitions');
  }

  async ensureIndexes(): Promise<void> {
    const day = 86_400;
    await this.transitions.createIndex({ cameraId: 1, at: -1 });
    await this.transitions.createIndex({ at: 1 }, { expireAfterSeconds: this.opts.transitionsRetentionDays * day, name: 'ttl_at' });
  }

  /** Not yet acknowledged by the store, including a batch being written right now. */
  get bufferedTransitions(): number {
    return this.pendingTransitions.length + this.writingTransitions;
  }

  get bufferedStatus(): number {
    return this.dirtyStatus.size;
  }

  addTransition(t: Transition): void {
    this.pendingTransitions.push(t);
    const over = this.pendingTransitions.length - this.opts.transitionBufferMax;
    if (over > 0) {
      this.pendingTransitions.splice(0, over);
      this.metrics.transitionsDropped.inc(over);
      this.logger.error('transition buffer full: oldest dropped', { dropped: over });
    }
  }

  setStatus(cameraId: string, s: StoredStatus): void {
    this.dirtyStatus.set(cameraId, s);
  }

  get isFlushing(): boolean {
    return this.flushing !== null;
  }

  /** Hour slots of the history not yet written. */
  get bufferedRollups(): number {
    return this.history.buffered;
  }

  /**
   * One flush at a time; a caller arriving during a flush waits for it and then flushes again.
   * - default (the periodic flush): at most `maxOpsPerFlush` writes of each kind; the rest waits for the
   *   next one. History slots buffered so far are written too (they arrive spread out: see the service's spill).
   * - `{ all: true }`: everything buffered, in as many batches as it takes (stop, tests, the hourly close).
   */
  async flush(what: { all?: boolean } = {}): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => undefined);
    const all = Boolean(what.all);
    this.flushing = (async () => {
      do await this.doFlush(all ? 5000 : (this.opts.maxOpsPerFlush ?? 5000));
      while (all && (this.pendingTransitions.length > 0 || this.dirtyStatus.size > 0 || this.history.buffered > 0));
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async doFlush(maxOps: number): Promise<void> {
    // Transitions before statuses: a crash in between leaves a status one step behind, and the
    // transition re-derived after restart has the same _id, so it is not written twice.
    if (this.pendingTransitions.length) {
      const batch = this.pendingTransitions.splice(0, maxOps);
      this.writingTransitions = batch.length;
      try {
        await this.transitions.insertMany(batch.map(transitionDoc), { ordered: false });
        this.metrics.transitionsWritten.inc(batch.length);
      } catch (err) {
        // Done only when every document is accounted for: inserted now, or a duplicate of one inserted by
        // an earlier attempt whose answer was lost. Anything else (a network error reports no or only some
        // writeErrors) puts the whole batch back: re-inserting is safe, duplicates are refused by _id.
        const e = err as { writeErrors?: unknown; insertedCount?: number; result?: { insertedCount?: number } };
        const writeErrors = Array.isArray(e.writeErrors) ? (e.writeErrors as Array<{ code?: number }>) : [];
        const inserted = e.insertedCount ?? e.result?.insertedCount ?? 0;
        const allAccounted = writeErrors.length > 0 && writeErrors.every((w) => w.code === 11000) && inserted + writeErrors.length === batch.length;
        if (allAccounted) {
          this.metrics.transitionsWritten.inc(inserted);
        } else if (isDuplicateKey(err) && batch.length === 1) {
          // already there: an earlier attempt succeeded without our knowing
        } else {
          this.pendingTransitions.unshift(...batch);
          this.metrics.flushFailures.labels('transitions').inc();
          throw err;
        }
      } finally {
        this.writingTransitions = 0;
      }
    }
    if (this.dirtyStatus.size) {
      await this.writeInChunks(
        [...takeFirst(this.dirtyStatus, maxOps)],
        this.cameras.collectionName,
        ([id, status]) => statementOf(statusUpdate(id, status)),
        // newer statuses set meanwhile win over the ones put back
        ([id, s]) => {
          if (!this.dirtyStatus.has(id)) this.dirtyStatus.set(id, s);
        },
        'status',
      );
    }
    const history = this.history;
    const { days, months } = history.take(maxOps);
    try {
      await this.writeInChunks(days, HistoryStore.DAYS, dayOp, (d) => history.putBackDay(d), 'history-days');
    } catch (err) {
      // the month writes not tried yet go back whole
      for (const d of months) history.putBackMonth(d);
      throw err;
    }
    if (months.length) {
      try {
        await history.mark(new Set(months.map((d) => d.day)), Date.now());
      } catch (err) {
        for (const d of months) history.putBackMonth(d);
        this.metrics.flushFailures.labels('history-months').inc();
        throw err;
      }
    }
    await this.writeInChunks(months, HistoryStore.MONTHS, monthOp, (d) => history.putBackMonth(d), 'history-months');
  }

  /**
   * Writes entries as `update` commands of WRITE_CHUNK statements, one after the other. When a command fails
   * (or applies only some of its statements), its entries and all later ones are handed back to the buffer
   * (`putBack`) and the error is thrown.
   *
   * The command is sent as it is, not through `bulkWrite`: the driver's bulk path serializes every operation
   * into a buffer of its own (to measure it), rebuilds each as a statement and merges the replies, work
   * that these few-field statements, far under any size limit, do not need.
   */
  private async writeInChunks<E>(entries: E[], collection: string, toStatement: (e: E) => UpdateStatement, putBack: (e: E) => void, what: FlushTarget): Promise<void> {
    const db = this.conn.db;
    for (let i = 0; i < entries.length; i += WRITE_CHUNK) {
      try {
        if (!db) throw new Error('store not connected');
        const updates = new Array<UpdateStatement>(Math.min(WRITE_CHUNK, entries.length - i));
        for (let j = 0; j < updates.length; j++) updates[j] = toStatement(entries[i + j]);
        const reply = await db.command({ update: collection, updates, ordered: false });
        const failed = (reply.writeErrors as Array<{ index: number; code: number; errmsg: string }> | undefined) ?? [];
        if (failed.length || reply.writeConcernError) {
          throw Object.assign(new Error(`${what} write: ${failed.length} of ${updates.length} not applied (${failed[0]?.errmsg ?? 'write concern'})`), {
            code: failed[0]?.code,
            writeErrors: failed,
          });
        }
      } catch (err) {
        for (let j = i; j < entries.length; j++) putBack(entries[j]);
        this.metrics.flushFailures.labels(what).inc();
        throw err;
      }
    }
  }

  /** Latest seq and state per camera among stored transitions (restart reconciliation). */
  async latestTransitions(): Promise<Map<string, Transition>> {
    const out = new Map<string, Transition>();
    const cursor = this.transitions.aggregate<{ _id: unknown; doc: TransitionDoc }>([
      { $sort: { cameraId: 1, seq: -1 } },
      { $group: { _id: '$cameraId', doc: { $first: '$$ROOT' } } },
    ]);
    for await (const row of cursor) out.set(String(row._id), transitionFromDoc(row.doc));
    return out;
  }
}
