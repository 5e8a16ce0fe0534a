import { Types, type Connection, type Model } from 'mongoose';
import { z } from 'zod';
import type { AuditService } from '../audit/service';
import { actorOf, type Principal } from '../contracts/access';
import {
  channelSecretsSchemas,
  channelSettingsSchemas,
  type AlertMessage,
  type Channel,
  type ChannelCreate,
  type ChannelHealth,
  type ChannelPatch,
  type ChannelTestResult,
} from '../contracts/alerts';
import { isObjectId } from '../contracts/vocabulary';
import { AppError } from '../lib/errors';
import { isDuplicateKey } from '../lib/store-errors';
import { limitsOf, sendVia, targetOf, type ResolvedChannel, type SendContext, type SendResult } from './channels';
import { channelModel, outboxModel, type ChannelDoc, type OutboxDoc } from './model';
import type { SlidingWindows } from './rate-limit';
import type { SecretBox } from './secrets';

/** What is sealed per channel: the kind's secrets and the full proxy URL (it may carry credentials). */
interface Sealed {
  secrets: Record<string, unknown>;
  proxyUrl: string | null;
}

function proxyDisplay(proxyUrl: string | null): string | null {
  if (!proxyUrl) return null;
  const u = new URL(proxyUrl);
  u.username = '';
  u.password = '';
  return u.toString().replace(/\/$/, '');
}

function secretFieldsOf(secrets: Record<string, unknown>): string[] {
  return Object.entries(secrets)
    .filter(([, v]) => typeof v === 'string' && v !== '')
    .map(([k]) => k)
    .sort();
}

function healthOf(d: ChannelDoc['health'] | undefined): ChannelHealth {
  return {
    healthy: d?.healthy ?? true,
    lastSuccessAt: d?.lastSuccessAt ? d.lastSuccessAt.toISOString() : null,
    lastFailureAt: d?.lastFailureAt ? d.lastFailureAt.toISOString() : null,
    lastError: d?.lastError ?? null,
    consecutiveFailures: d?.consecutiveFailures ?? 0,
  };
}

type QueueCounts = Channel['queue'];
const emptyQueue: QueueCounts = { pending: 0, dead: 0, failed: 0 };

/** The public view (never a secret), also what audit entries hold. */
function toChannel(d: ChannelDoc, queue: QueueCounts = emptyQueue): Channel {
  return {
    id: d._id.toHexString(),
    name: d.name,
    kind: d.kind,
    enabled: d.enabled,
    proxyUrl: d.proxyDisplay,
    settings: d.settings,
    target: d.target,
    hasSecret: d.secretFields.length > 0,
    secretFields: d.secretFields,
    health: healthOf(d.health),
    queue,
    version: d.version,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
  };
}

function auditView(c: Channel): Record<string, unknown> {
  const { health: _h, queue: _q, ...rest } = c;
  return rest;
}

function prefixIssues(err: z.ZodError, prefix: string): AppError {
  const details = err.issues.map((i) => ({ field: [prefix, ...i.path.map(String)].join('.'), message: i.message }));
  return new AppError('validation_failed', `invalid body: ${details[0]?.field ?? prefix}: ${details[0]?.message ?? 'invalid'}`, details);
}

/** The message `POST /channels/:id/test` sends. */
export function testMessage(now: number, link: string | null): AlertMessage {
  return {
    title: '【测试】Vigil 告警通道连通性测试 / test message',
    state: 'firing',
    points: [{ name: '测试点位（非真实告警）', code: '21030200001320000001', regionPath: ['示例区', '示例街道'], maintainer: '示例维保单位', since: new Date(now).toISOString() }],
    suppressed: 0,
    link,
    at: new Date(now).toISOString(),
  };
}

export interface ChannelServiceDeps {
  conn: Connection;
  box: SecretBox;
  audit: AuditService;
  windows: SlidingWindows;
  sendContext: Omit<SendContext, 'proxyUrl'>;
  publicUrl: string | null;
  /** The names of the alert policies that still name a channel (a channel in use is not deleted). */
  policiesNaming(channelId: string): string[];
}

/**
 * Channels: configuration (secrets sealed, never returned), health (last success/failure, consecutive
 * failures, unhealthy after a permanent failure) and the test send. Admin-only at the routes.
 */
export class ChannelService {
  readonly model: Model<ChannelDoc>;
  private readonly outbox: Model<OutboxDoc>;

  constructor(private readonly deps: ChannelServiceDeps) {
    this.model = channelModel(deps.conn);
    this.outbox = outboxModel(deps.conn);
  }

  async init(): Promise<void> {
    await this.model.init();
  }

  async list(): Promise<Channel[]> {
    const docs = await this.model.collection.find<ChannelDoc>({}).sort({ name: 1 }).toArray();
    const queues = await this.queueCounts();
    return docs.map((d) => toChannel(d, queues.get(d._id.toHexString())));
  }

  async get(id: string): Promise<Channel> {
    const d = await this.load(id);
    return toChannel(d, (await this.queueCounts(id)).get(id));
  }

  async create(principal: Principal, input: ChannelCreate): Promise<Channel> {
    const _id = new Types.ObjectId();
    const now = new Date(this.deps.sendContext.now());
    const resolved = { kind: input.kind, settings: input.settings, secrets: input.secrets, proxyUrl: input.proxyUrl } as ResolvedChannel;
    const doc: ChannelDoc = {
      _id,
      name: input.name,
      kind: input.kind,
      enabled: input.enabled,
      settings: input.settings,
      sealed: this.seal(_id, { secrets: input.secrets, proxyUrl: input.proxyUrl }),
      secretFields: secretFieldsOf(input.secrets),
      target: targetOf(resolved),
      proxyDisplay: proxyDisplay(input.proxyUrl),
      health: { healthy: true, lastSuccessAt: null, lastFailureAt: null, lastError: null, consecutiveFailures: 0 },
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.model.collection.insertOne(doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw new AppError('conflict', `a channel named "${input.name}" exists`, [{ field: 'name', message: 'already used' }]);
      throw err;
    }
    const view = toChannel(doc);
    await this.deps.audit.record({ actor: actorOf(principal), action: 'create', entity: 'channel', entityId: view.id, before: null, after: auditView(view) });
    return view;
  }

  async update(principal: Principal, id: string, patch: ChannelPatch): Promise<Channel> {
    const cur = await this.load(id);
    if (patch.version !== undefined && patch.version !== cur.version) throw new AppError('conflict', `stale version ${patch.version} (current ${cur.version})`, [{ field: 'version', message: 'stale' }]);
    const sealed = this.unseal(cur);
    const kind = cur.kind;
    let settings = cur.settings;
    if (patch.settings !== undefined) {
      const r = channelSettingsSchemas[kind].safeParse(patch.settings);
      if (!r.success) throw prefixIssues(r.error, 'settings');
      settings = r.data;
    }
    let secrets = sealed.secrets;
    if (patch.secrets !== undefined) {
      const merged: Record<string, unknown> = { ...secrets };
      for (const [k, v] of Object.entries(patch.secrets)) {
        if (v === null) delete merged[k];
        else merged[k] = v;
      }
      const r = channelSecretsSchemas[kind].safeParse(merged);
      if (!r.success) throw prefixIssues(r.error, 'secrets');
      secrets = r.data;
    }
    const proxyUrl = patch.proxyUrl !== undefined ? patch.proxyUrl : sealed.proxyUrl;
    const resolved = { kind, settings, secrets, proxyUrl } as ResolvedChannel;
    const set: Partial<ChannelDoc> = {
      name: patch.name ?? cur.name,
      enabled: patch.enabled ?? cur.enabled,
      settings,
      sealed: this.seal(cur._id, { secrets, proxyUrl }),
      secretFields: secretFieldsOf(secrets),
      target: targetOf(resolved),
      proxyDisplay: proxyDisplay(proxyUrl),
      updatedAt: new Date(this.deps.sendContext.now()),
    };
    let after: ChannelDoc | null;
    try {
      after = (await this.model.collection.findOneAndUpdate({ _id: cur._id, version: cur.version }, { $set: set, $inc: { version: 1 } }, { returnDocument: 'after' })) as ChannelDoc | null;
    } catch (err) {
      if (isDuplicateKey(err)) throw new AppError('conflict', `a channel named "${set.name}" exists`, [{ field: 'name', message: 'already used' }]);
      throw err;
    }
    if (!after) throw new AppError('conflict', 'the channel changed meanwhile; reload and retry', [{ field: 'version', message: 'stale' }]);
    const view = toChannel(after, (await this.queueCounts(id)).get(id));
    await this.deps.audit.record({
      actor: actorOf(principal),
      action: 'update',
      entity: 'channel',
      entityId: id,
      before: auditView(toChannel(cur)),
      after: auditView(view),
      meta: { secretsChanged: Object.keys(patch.secrets ?? {}).sort(), proxyChanged: patch.proxyUrl !== undefined },
    });
    return view;
  }

  /** Whether a channel with this id exists. */
  async exists(id: string): Promise<boolean> {
    return isObjectId(id) && (await this.model.collection.countDocuments({ _id: new Types.ObjectId(id) }, { limit: 1 })) > 0;
  }

  /**
   * Deletes the channel; its queued rows fail as "channel deleted" when their turn comes. A channel an alert
   * policy still names is refused: the policy would page nobody through it.
   */
  async remove(principal: Principal, id: string): Promise<void> {
    const cur = await this.load(id);
    const users = this.deps.policiesNaming(id);
    if (users.length > 0) {
      throw new AppError('conflict', `the channel is a receiver of alert policies ${users.join(', ')}: remove it from them first`, [{ field: 'id', message: 'in use by alert policies' }]);
    }
    await this.model.collection.deleteOne({ _id: cur._id });
    await this.deps.audit.record({ actor: actorOf(principal), action: 'delete', entity: 'channel', entityId: id, before: auditView(toChannel(cur)), after: null });
  }

  /** Sends a test message now (within the channel's rate limit) and records the outcome in its health. */
  async test(principal: Principal, id: string): Promise<ChannelTestResult> {
    const doc = await this.load(id);
    const ch = this.resolveDoc(doc);
    const now = this.deps.sendContext.now();
    const limits = limitsOf(ch.kind);
    if (this.deps.windows.available(id, limits, now) < 1) {
      const wait = Math.ceil((this.deps.windows.nextFreeAt(id, limits, now) - now) / 1000);
      throw new AppError('rate_limited', `the channel is at its rate limit; try again in ${wait} s`, [{ field: 'id', message: `retry in ${wait} s` }]);
    }
    this.deps.windows.record(id, now);
    const result = await sendVia(ch, { key: `test-${new Types.ObjectId().toHexString()}`, kind: 'test', incidentId: null, revision: null, messages: [testMessage(now, this.deps.publicUrl)] }, { ...this.deps.sendContext, proxyUrl: ch.proxyUrl });
    const health = await this.recordOutcome(id, result);
    await this.deps.audit.record({ actor: actorOf(principal), action: 'test', entity: 'channel', entityId: id, meta: { outcome: result.outcome, detail: result.detail } });
    return { outcome: result.outcome, detail: result.detail, retryAfterMs: result.outcome === 'retry' ? result.retryAfterMs : null, health };
  }

  /** The channel with its secrets, for sending; null when it no longer exists. */
  async resolve(id: string): Promise<{ channel: ResolvedChannel; enabled: boolean } | null> {
    if (!isObjectId(id)) return null;
    const doc = await this.model.collection.findOne<ChannelDoc>({ _id: new Types.ObjectId(id) });
    return doc ? { channel: this.resolveDoc(doc), enabled: doc.enabled } : null;
  }

  /** Health after one send: a success heals, a permanent failure marks the channel unhealthy. */
  async recordOutcome(id: string, result: SendResult): Promise<ChannelHealth> {
    const at = new Date(this.deps.sendContext.now());
    const update =
      result.outcome === 'delivered'
        ? { $set: { 'health.healthy': true, 'health.lastSuccessAt': at, 'health.consecutiveFailures': 0, 'health.lastError': null } }
        : {
            $set: { 'health.lastFailureAt': at, 'health.lastError': result.detail, ...(result.outcome === 'failed' ? { 'health.healthy': false } : {}) },
            $inc: { 'health.consecutiveFailures': 1 },
          };
    const after = isObjectId(id) ? ((await this.model.collection.findOneAndUpdate({ _id: new Types.ObjectId(id) }, update, { returnDocument: 'after' })) as ChannelDoc | null) : null;
    return healthOf(after?.health);
  }

  private resolveDoc(doc: ChannelDoc): ResolvedChannel {
    const sealed = this.unseal(doc);
    return { kind: doc.kind, settings: doc.settings, secrets: sealed.secrets, proxyUrl: sealed.proxyUrl } as ResolvedChannel;
  }

  private async load(id: string): Promise<ChannelDoc> {
    const doc = isObjectId(id) ? await this.model.collection.findOne<ChannelDoc>({ _id: new Types.ObjectId(id) }) : null;
    if (!doc) throw AppError.notFound('channel');
    return doc;
  }

  private seal(id: Types.ObjectId, s: Sealed): string {
    return this.deps.box.seal(JSON.stringify(s), id.toHexString());
  }

  private unseal(doc: ChannelDoc): Sealed {
    try {
      return JSON.parse(this.deps.box.open(doc.sealed, doc._id.toHexString())) as Sealed;
    } catch {
      throw new AppError('internal', 'the channel secrets cannot be decrypted (was ALERTS_SECRET_KEY changed?); set them again');
    }
  }

  private async queueCounts(id?: string): Promise<Map<string, QueueCounts>> {
    const rows = await this.outbox.collection
      .aggregate<{ _id: { c: string; s: string }; n: number }>([
        { $match: { ...(id ? { channelId: id } : {}), state: { $in: ['pending', 'sending', 'merged', 'dead', 'failed'] } } },
        { $group: { _id: { c: '$channelId', s: '$state' }, n: { $sum: 1 } } },
      ])
      .toArray();
    const out = new Map<string, QueueCounts>();
    for (const r of rows) {
      const q = out.get(r._id.c) ?? { ...emptyQueue };
      if (r._id.s === 'dead') q.dead += r.n;
      else if (r._id.s === 'failed') q.failed += r.n;
      else q.pending += r.n;
      out.set(r._id.c, q);
    }
    return out;
  }
}
