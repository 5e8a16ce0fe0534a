import type { Router } from 'express';
import type { AuditService } from '../audit/service';
import type { AppContext } from '../context';
import { ChannelService } from './channel-service';
import { Dispatcher } from './dispatcher';
import { Outbox } from './outbox';
import { SlidingWindows } from './rate-limit';
import { channelsRouter } from './routes';
import { SecretBox } from './secrets';

export { idempotencyKey, type OutboxEntry } from './outbox';
export type { Outbox, ChannelService, Dispatcher };

/**
 * The alerts capability's delivery half: channels, the durable outbox and its dispatcher. An incident
 * engine enqueues `outbox.enqueue([{ incidentId, revision, channelId, receiver?, message }])` and reads
 * outcomes with `outbox.deliveries({ incidentId })` or `dispatcher.onOutcome(listener)`.
 */
export interface Alerts {
  channels: ChannelService;
  outbox: Outbox;
  dispatcher: Dispatcher;
  router: Router;
  /** Starts the dispatcher (unless ALERTS_DISPATCH_ENABLED is off) and registers its stop. */
  start(): void;
}

const instances = new WeakMap<AppContext, Alerts>();

/** The alerts capability of this app (keyed by context, not a process global). */
export function alertsOf(ctx: AppContext): Alerts {
  const a = instances.get(ctx);
  if (!a) throw new Error('alerts are not set up for this app');
  return a;
}

export interface AlertsOptions {
  audit: AuditService;
  /** Milliseconds since the epoch; injected by tests (rate windows, backoff, signatures). */
  clock?: () => number;
}

export async function createAlerts(ctx: AppContext, opts: AlertsOptions): Promise<Alerts> {
  const { config } = ctx;
  const logger = ctx.logger.child({ component: 'alerts' });
  const now = opts.clock ?? Date.now;
  const box = SecretBox.open({ configuredKey: config.ALERTS_SECRET_KEY, dataDir: config.DATA_DIR, sharedStore: Boolean(config.MONGODB_URI), logger });
  const windows = new SlidingWindows();
  const sendContext = { timeoutMs: config.ALERTS_SEND_TIMEOUT_MS, timeZone: config.ALERTS_TIME_ZONE, now };
  const channels = new ChannelService({ conn: ctx.store.conn, box, audit: opts.audit, windows, sendContext, publicUrl: config.PUBLIC_URL ?? null });
  const outbox = new Outbox(ctx.store.conn, now);
  await Promise.all([channels.init(), outbox.init()]);
  const dispatcher = new Dispatcher({
    outbox,
    channels,
    windows,
    sendContext,
    logger,
    leaseMs: config.ALERTS_LEASE_MS,
    retryBaseMs: config.ALERTS_RETRY_BASE_MS,
    retryMaxMs: config.ALERTS_RETRY_MAX_MS,
    deadAfterMs: config.ALERTS_DEAD_AFTER_SEC * 1000,
    deadAfterAttempts: config.ALERTS_DEAD_AFTER_ATTEMPTS,
  });
  const alerts: Alerts = {
    channels,
    outbox,
    dispatcher,
    router: channelsRouter(ctx, channels, outbox),
    start() {
      const enabled = config.ALERTS_DISPATCH_ENABLED ?? config.NODE_ENV !== 'test';
      if (!enabled) return;
      dispatcher.start(config.ALERTS_DISPATCH_TICK_MS);
      ctx.onStop(() => dispatcher.stop());
    },
  };
  instances.set(ctx, alerts);
  return alerts;
}
