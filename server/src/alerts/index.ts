import type { Router } from 'express';
import type { Server } from 'socket.io';
import type { AuditService } from '../audit/service';
import { authModels } from '../auth/model';
import { viewerKey, viewerOf } from '../auth/scope';
import { can } from '../contracts/access';
import type { IncidentView } from '../contracts/incidents';
import { LIVE_NAMESPACE } from '../contracts/live';
import type { AppContext } from '../context';
import type { LiveNamespace } from '../live/socket';
import type { MonitoringService } from '../monitoring/service';
import type { Registry } from '../registry';
import { ChannelService } from './channel-service';
import { Dispatcher } from './dispatcher';
import type { AlertPoint } from './incidents/engine';
import { outboxEntriesOf } from './incidents/messages';
import { incidentsRouter } from './incidents/routes';
import { IncidentService, type IncidentDeps } from './incidents/service';
import { Outbox } from './outbox';
import { SlidingWindows } from './rate-limit';
import { channelsRouter } from './routes';
import { SecretBox } from './secrets';
import { silencesRouter } from './silence-routes';
import { SilenceService } from './silences';
import { maintenanceRouter } from './maintenance/routes';
import { MaintenanceService } from './maintenance/service';
import { Calendar } from '../lib/calendar';

export { idempotencyKey, type OutboxEntry } from './outbox';
export type { Outbox, ChannelService, Dispatcher };

/**
 * The alerting capability: incidents from monitoring's change feed (grouping, suppression behind upstream
 * devices, silences, acknowledgement, escalation — alerts/incidents/), and their delivery through channels
 * and the durable outbox (alerts/channels/, outbox.ts, dispatcher.ts). The engine's notices become outbox
 * rows (incidents/messages.ts); everything a caller reads goes through the one visibility rule.
 */
export interface Alerts {
  incidents: IncidentService;
  silences: SilenceService;
  maintenance: MaintenanceService;
  channels: ChannelService;
  outbox: Outbox;
  dispatcher: Dispatcher;
  router: Router;
  /**
   * Starts silences and incidents (after monitoring restored its states), then maintenance windows (their first
   * run puts monitoring's MAINTENANCE states right, and incidents hear the transitions), and the dispatcher
   * (unless ALERTS_DISPATCH_ENABLED is off).
   */
  start(): Promise<void>;
  /** Pushes incident events to the /live sockets allowed to read alerts, each as its user may see it. */
  attach(io: Server): void;
}

const instances = new WeakMap<AppContext, Alerts>();

/** The alerts capability of this app (keyed by context, not a process global). */
export function alertsOf(ctx: AppContext): Alerts {
  const a = instances.get(ctx);
  if (!a) throw new Error('alerts are not set up for this app');
  return a;
}

export interface AlertsOptions {
  registry: Registry;
  monitoring: MonitoringService;
  audit?: AuditService;
  /** Milliseconds since the epoch; injected by tests (rate windows, backoff, signatures). */
  clock?: () => number;
  /** When maintenance windows open and close (epoch ms; default Date.now): tests move it instead of waiting. */
  maintenanceClock?: () => number;
}

export async function createAlerts(ctx: AppContext, opts: AlertsOptions): Promise<Alerts> {
  const { config } = ctx;
  const logger = ctx.logger.child({ component: 'alerts' });
  const now = opts.clock ?? Date.now;
  const auditService = opts.audit ?? opts.registry.audit;
  const box = SecretBox.open({ configuredKey: config.ALERTS_SECRET_KEY, dataDir: config.DATA_DIR, sharedStore: Boolean(config.MONGODB_URI), logger });
  const windows = new SlidingWindows();
  const sendContext = { timeoutMs: config.ALERTS_SEND_TIMEOUT_MS, timeZone: config.REPORT_TZ, now };
  const channels = new ChannelService({
    conn: ctx.store.conn,
    box,
    audit: auditService,
    windows,
    sendContext,
    publicUrl: config.PUBLIC_URL ?? null,
    // called at request time, when the incident service below exists
    policiesNaming: (id) => incidents.policiesNamingChannel(id),
  });
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

  const users = authModels(ctx.store.conn).User;
  const audit: IncidentDeps['audit'] = async (e) => {
    await auditService.record({ ...e, regionIds: [] });
  };
  const incidents: IncidentService = new IncidentService({
    conn: ctx.store.conn,
    logger,
    regions: opts.registry.regions,
    cameras: opts.registry.cameras,
    feed: opts.monitoring.feed,
    status: (id) => opts.monitoring.status(id),
    user: async (id) => {
      const u = await users.findById(id).lean();
      return u ? { id: u._id.toHexString(), username: u.username, role: u.role, maintainerOrg: u.maintainerOrg, scopeRegionId: u.scopeRegionId, disabled: u.disabled } : null;
    },
    technicians: async (orgs) => {
      const list = await users.find({ role: 'technician', disabled: false, maintainerOrg: { $in: [...orgs] } }).limit(1000).lean();
      return list.map((u) => ({ id: u._id.toHexString(), username: u.username, displayName: u.displayName, maintainerOrg: u.maintainerOrg ?? '', scopeRegionId: u.scopeRegionId }));
    },
    audit,
    silenced: (p, at): boolean => silences.silenced(p, at),
    channelExists: (id) => channels.exists(id),
    tickMs: config.ALERTS_TICK_MS,
  });
  const silences: SilenceService = new SilenceService({ conn: ctx.store.conn, regions: opts.registry.regions, point: (id): AlertPoint | undefined => incidents.points.get(id), audit });
  const maintenance = new MaintenanceService({
    conn: ctx.store.conn,
    logger,
    regions: opts.registry.regions,
    points: incidents.points,
    cameras: opts.registry.cameras,
    target: {
      inMaintenance: (id) => opts.monitoring.inMaintenance(id),
      setMaintenance: (id, on) => void opts.monitoring.setMaintenance(id, on),
    },
    calendar: new Calendar(config.REPORT_TZ),
    clock: opts.maintenanceClock ?? Date.now,
    tickMs: config.MAINTENANCE_TICK_MS,
    audit: (e) => auditService.record(e),
  });
  // the engine's notices → one outbox row per (incident, revision, channel); the dispatcher sends them
  incidents.onNotices(async (notices, byId) => {
    const entries = outboxEntriesOf(notices, byId, {
      point: (id) => incidents.points.get(id),
      tree: opts.registry.regions.current(),
      policyName: (id) => incidents.policyName(id),
      publicUrl: config.PUBLIC_URL ?? null,
    });
    if (entries.length) await outbox.enqueue(entries);
  });
  ctx.onStop(() => incidents.stop());
  ctx.onStop(() => maintenance.stop());

  const alerts: Alerts = {
    incidents,
    silences,
    maintenance,
    channels,
    outbox,
    dispatcher,
    router: incidentsRouter(ctx, incidents)
      .use(silencesRouter(ctx, silences))
      .use(maintenanceRouter(ctx, maintenance))
      .use(channelsRouter(ctx, channels, outbox)),
    async start() {
      await silences.start();
      await incidents.start();
      await maintenance.start();
      const enabled = config.ALERTS_DISPATCH_ENABLED ?? config.NODE_ENV !== 'test';
      if (!enabled) return;
      dispatcher.start(config.ALERTS_DISPATCH_TICK_MS);
      ctx.onStop(() => dispatcher.stop());
    },
    attach(io) {
      const nsp = io.of(LIVE_NAMESPACE) as LiveNamespace;
      incidents.onPush((event, viewFor) => {
        // one view per distinct viewer, however many sockets share it
        const views = new Map<string, IncidentView | null>();
        for (const socket of nsp.sockets.values()) {
          const principal = socket.data.principal;
          if (!principal || !can(principal, 'alert:read')) continue;
          const key = viewerKey(viewerOf(principal));
          if (!views.has(key)) views.set(key, viewFor(principal));
          const view = views.get(key);
          if (view) socket.emit(event, view);
        }
      });
    },
  };
  instances.set(ctx, alerts);
  return alerts;
}
