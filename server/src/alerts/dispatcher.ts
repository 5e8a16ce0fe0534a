import { Types } from 'mongoose';
import { alertMessageSchema, type AlertMessage, type Delivery } from '../contracts/alerts';
import type { Logger } from '../lib/logger';
import { limitsOf, sendVia, type Outgoing, type SendContext, type SendResult } from './channels';
import type { ChannelService } from './channel-service';
import { NO_LEASE, type OutboxDoc } from './model';
import { toDelivery, type Outbox } from './outbox';
import type { SlidingWindows } from './rate-limit';

export interface DispatcherOptions {
  outbox: Outbox;
  channels: ChannelService;
  windows: SlidingWindows;
  sendContext: Omit<SendContext, 'proxyUrl'>;
  logger: Logger;
  leaseMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  deadAfterMs: number;
  deadAfterAttempts: number;
  /** Most due rows looked at per pass. */
  batch?: number;
}

/** A disabled channel's rows wait this long before they are looked at again (no attempt counted). */
const DISABLED_RECHECK_MS = 60_000;

/**
 * Sends the outbox's due rows. Per pass and channel: claim a row with a lease (findOneAndUpdate), send,
 * write the outcome right after the answer. A process killed mid-send leaves a leased row; when the lease
 * expires it is sent again under the same idempotency key (at-least-once; receivers deduplicate on the key),
 * and a row whose outcome was written is never sent again.
 *
 * Rate limits are sliding windows per channel (limits of its kind). When more rows are due than the window
 * allows, all but one of the free slots go to the oldest rows and the rest are merged into one digest row
 * (its own key; its members take its outcome). A window with no free slot leaves the rows waiting.
 *
 * Retries back off exponentially (retryBaseMs · 2^(attempts-1), at most retryMaxMs, at least the receiver's
 * Retry-After); rows older than deadAfterMs or with deadAfterAttempts attempts become dead letters.
 */
export class Dispatcher {
  private readonly owner = `${process.pid}-${new Types.ObjectId().toHexString()}`;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private seeded = false;
  private readonly listeners = new Set<(d: Delivery) => void>();

  constructor(private readonly o: DispatcherOptions) {}

  /** Each outcome written (delivered, retry scheduled, failed, dead), for the incident engine's timeline. */
  onOutcome(listener: (d: Delivery) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs passes every tickMs, and soon after each enqueue. */
  start(tickMs: number): void {
    this.stopped = false;
    const loop = (): void => {
      if (this.stopped) return;
      this.runOnce()
        .catch((err: unknown) => this.o.logger.warn('outbox pass failed', { err }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, tickMs);
        });
    };
    this.o.outbox.onEnqueue(() => {
      if (!this.stopped) setImmediate(() => void this.runOnce().catch((err: unknown) => this.o.logger.warn('outbox pass failed', { err })));
    });
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over the due rows; concurrent calls share the pass in flight and run one more after it. */
  runOnce(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private now(): number {
    return this.o.sendContext.now();
  }

  private get coll() {
    return this.o.outbox.model.collection;
  }

  private async pass(): Promise<void> {
    const now = this.now();
    if (!this.seeded) await this.seedWindows(now);
    await this.repairOrphans(now);
    const due = await this.coll
      .find<Pick<OutboxDoc, '_id' | 'key' | 'type' | 'channelId' | 'createdAt' | 'attempts'>>(
        { state: { $in: ['pending', 'sending'] }, nextAttemptAt: { $lte: new Date(now) }, leaseUntil: { $lte: new Date(now) } },
        { projection: { _id: 1, key: 1, type: 1, channelId: 1, createdAt: 1, attempts: 1 } },
      )
      .sort({ nextAttemptAt: 1, _id: 1 })
      .limit(this.o.batch ?? 2000)
      .toArray();
    const byChannel = new Map<string, typeof due>();
    for (const r of due) {
      const list = byChannel.get(r.channelId) ?? [];
      list.push(r);
      byChannel.set(r.channelId, list);
    }
    await Promise.all([...byChannel].map(([channelId, rows]) => this.channelPass(channelId, rows)));
  }

  private async channelPass(channelId: string, rows: Array<Pick<OutboxDoc, '_id' | 'key' | 'type' | 'createdAt' | 'attempts'>>): Promise<void> {
    const now = this.now();
    const resolved = await this.o.channels.resolve(channelId);
    if (!resolved) {
      await this.finish(rows.map((r) => r._id), { outcome: 'failed', detail: 'channel deleted' });
      return;
    }
    if (!resolved.enabled) {
      await this.coll.updateMany({ _id: { $in: rows.map((r) => r._id) }, state: 'pending' }, { $set: { nextAttemptAt: new Date(now + DISABLED_RECHECK_MS), lastError: 'channel disabled', updatedAt: new Date(now) } });
      return;
    }
    const limits = limitsOf(resolved.channel.kind);
    // digests already formed are sent as they are, before anything new
    const ordered = [...rows.filter((r) => r.type === 'digest'), ...rows.filter((r) => r.type !== 'digest')];
    const free = this.o.windows.available(channelId, limits, now);
    if (free < 1) return;
    // more due than free slots: the oldest take all slots but one, the rest share the last; a digest already
    // formed takes that slot as it is, and the rest wait for the window
    const fits = ordered.length <= free;
    const singles = fits ? ordered : ordered.slice(0, free - 1);
    const rest = fits ? [] : ordered.slice(free - 1);
    const merge = rest.length && rest[0].type === 'digest' ? [] : rest;
    if (rest.length && rest[0].type === 'digest') singles.push(rest[0]);
    for (const r of singles) {
      if (this.stopped) return;
      await this.sendRow(r._id, resolved.channel);
    }
    if (merge.length === 1) await this.sendRow(merge[0]._id, resolved.channel);
    else if (merge.length > 1) await this.sendDigest(channelId, merge.map((r) => r._id), resolved.channel);
  }

  /** Claims a due row (lease), sends it, writes the outcome. Skips it when another pass holds it. */
  private async sendRow(id: Types.ObjectId, channel: Parameters<typeof sendVia>[0]): Promise<void> {
    const now = this.now();
    const row = (await this.coll.findOneAndUpdate(
      { _id: id, state: { $in: ['pending', 'sending'] }, nextAttemptAt: { $lte: new Date(now) }, leaseUntil: { $lte: new Date(now) } },
      { $set: { state: 'sending', leaseUntil: new Date(now + this.o.leaseMs), leaseOwner: this.owner, lastAttemptAt: new Date(now), updatedAt: new Date(now) }, $inc: { attempts: 1 } },
      { returnDocument: 'after' },
    )) as OutboxDoc | null;
    if (!row) return;
    if (await this.deadByAge(row, now)) return;
    let messages: AlertMessage[];
    if (row.type === 'digest') {
      const members = await this.coll.find<OutboxDoc>({ mergedInto: row.key }).sort({ createdAt: 1, _id: 1 }).toArray();
      messages = members.map((m) => alertMessageSchema.parse(m.message));
      if (messages.length === 0) {
        await this.writeOutcome(row, { outcome: 'failed', detail: 'digest without members' });
        return;
      }
    } else {
      messages = [alertMessageSchema.parse(row.message)];
    }
    const out: Outgoing = { key: row.key, kind: row.type === 'digest' ? 'digest' : 'alert', incidentId: row.incidentId, revision: row.revision, messages };
    this.o.windows.record(row.channelId, now);
    const result = await sendVia(channel, out, { ...this.o.sendContext, proxyUrl: channel.proxyUrl });
    await this.writeOutcome(row, result);
  }

  /**
   * Merges rows into one digest row and sends it. The members are marked first (state merged, the digest's
   * key); a crash before the digest row exists leaves members pointing at nothing, which repairOrphans
   * returns to pending after a lease.
   */
  private async sendDigest(channelId: string, ids: Types.ObjectId[], channel: Parameters<typeof sendVia>[0]): Promise<void> {
    const now = this.now();
    const key = `vgl-digest-${new Types.ObjectId().toHexString()}`;
    await this.coll.updateMany(
      { _id: { $in: ids }, state: { $in: ['pending', 'sending'] }, leaseUntil: { $lte: new Date(now) } },
      { $set: { state: 'merged', mergedInto: key, leaseUntil: NO_LEASE, leaseOwner: null, updatedAt: new Date(now) } },
    );
    const n = await this.coll.countDocuments({ mergedInto: key });
    if (n === 0) return;
    const _id = new Types.ObjectId();
    const at = new Date(now);
    await this.coll.insertOne({
      _id, key, type: 'digest', incidentId: null, revision: null, channelId, receiver: null, message: null, digestOf: n,
      state: 'pending', attempts: 0, nextAttemptAt: at, leaseUntil: NO_LEASE, leaseOwner: null, lastAttemptAt: null,
      lastError: null, deliveredAt: null, mergedInto: null, createdAt: at, updatedAt: at,
    } satisfies OutboxDoc);
    this.o.logger.info('outbox rows merged into a digest (channel at its rate limit)', { channelId, key, rows: n });
    await this.sendRow(_id, channel);
  }

  private backoff(attempts: number): number {
    return Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  }

  private async deadByAge(row: OutboxDoc, now: number): Promise<boolean> {
    if (now - row.createdAt.getTime() < this.o.deadAfterMs) return false;
    await this.writeOutcome(row, { outcome: 'retry', detail: row.lastError ?? 'too old', retryAfterMs: null }, true);
    return true;
  }

  /** The outcome of one attempt, written right after the answer; members of a digest take it too. */
  private async writeOutcome(row: OutboxDoc, result: SendResult, forceDead = false): Promise<void> {
    const now = this.now();
    const at = new Date(now);
    let set: Partial<OutboxDoc>;
    if (result.outcome === 'delivered') {
      set = { state: 'delivered', deliveredAt: at, lastError: null };
    } else if (result.outcome === 'failed') {
      set = { state: 'failed', lastError: result.detail };
    } else {
      const dead = forceDead || row.attempts >= this.o.deadAfterAttempts || now - row.createdAt.getTime() >= this.o.deadAfterMs;
      const wait = Math.max(this.backoff(row.attempts), result.retryAfterMs ?? 0);
      set = dead ? { state: 'dead', lastError: result.detail } : { state: 'pending', nextAttemptAt: new Date(now + wait), lastError: result.detail };
      if (result.retryAfterMs !== null) this.o.windows.block(row.channelId, now + result.retryAfterMs);
    }
    await this.coll.updateOne({ _id: row._id }, { $set: { ...set, leaseUntil: NO_LEASE, leaseOwner: null, updatedAt: at } });
    if (row.type === 'digest' && set.state !== 'pending') {
      await this.coll.updateMany({ mergedInto: row.key, state: 'merged' }, { $set: { state: set.state, lastError: set.lastError ?? null, deliveredAt: set.deliveredAt ?? null, updatedAt: at } });
    }
    if (!forceDead) await this.o.channels.recordOutcome(row.channelId, result).catch((err: unknown) => this.o.logger.warn('channel health not recorded', { err }));
    const level = result.outcome === 'delivered' ? 'debug' : 'warn';
    this.o.logger[level]('outbox send', { key: row.key, channelId: row.channelId, outcome: set.state, detail: result.detail, attempts: row.attempts });
    if (this.listeners.size) {
      const d = toDelivery({ ...row, ...set, leaseUntil: NO_LEASE, leaseOwner: null, updatedAt: at });
      for (const l of this.listeners) l(d);
    }
  }

  private async finish(ids: Types.ObjectId[], result: SendResult & { outcome: 'failed' }): Promise<void> {
    const at = new Date(this.now());
    await this.coll.updateMany({ _id: { $in: ids }, state: { $in: ['pending', 'sending'] } }, { $set: { state: 'failed', lastError: result.detail, leaseUntil: NO_LEASE, updatedAt: at } });
    await this.coll.updateMany({ mergedInto: { $in: (await this.coll.find<OutboxDoc>({ _id: { $in: ids }, type: 'digest' }).toArray()).map((d) => d.key) }, state: 'merged' }, { $set: { state: 'failed', lastError: result.detail, updatedAt: at } });
  }

  /** Members marked for a digest row that was never written (a crash in between) go back to pending. */
  private async repairOrphans(now: number): Promise<void> {
    const stale = await this.coll.distinct('mergedInto', { state: 'merged', updatedAt: { $lte: new Date(now - this.o.leaseMs) } });
    for (const key of stale) {
      if (typeof key !== 'string') continue;
      if (await this.coll.countDocuments({ key }, { limit: 1 })) continue;
      await this.coll.updateMany({ mergedInto: key, state: 'merged' }, { $set: { state: 'pending', mergedInto: null, updatedAt: new Date(now) } });
      this.o.logger.warn('outbox rows of a digest that was never written returned to pending', { key });
    }
  }

  /** The sends of the last minute, from the outbox, so a restart keeps to the robots' limits. */
  private async seedWindows(now: number): Promise<void> {
    const recent = await this.coll
      .find<Pick<OutboxDoc, 'channelId' | 'lastAttemptAt'>>({ lastAttemptAt: { $gt: new Date(now - 60_000) } }, { projection: { channelId: 1, lastAttemptAt: 1 } })
      .toArray();
    for (const r of recent) if (r.lastAttemptAt) this.o.windows.record(r.channelId, r.lastAttemptAt.getTime());
    this.seeded = true;
  }
}
