import type { Router } from 'express';
import type { Server } from 'socket.io';
import { authModels } from '../auth/model';
import { can } from '../contracts/access';
import { LIVE_NAMESPACE } from '../contracts/live';
import type { LiveNamespace } from '../live/socket';
import type { IncidentView } from '../contracts/incidents';
import type { AppContext } from '../context';
import type { MonitoringService } from '../monitoring/service';
import type { Registry } from '../registry';
import { viewerKey, viewerOf } from '../auth/scope';
import { incidentsRouter } from './incidents/routes';
import type { AlertPoint } from './incidents/engine';
import { IncidentService, type IncidentDeps } from './incidents/service';
import { silencesRouter } from './silence-routes';
import { SilenceService } from './silences';

export interface Alerts {
  incidents: IncidentService;
  silences: SilenceService;
  router: Router;
  start(): Promise<void>;
  /** Pushes incident events to the /live sockets allowed to read alerts, each as its user may see it. */
  attach(io: Server): void;
}

const instances = new WeakMap<AppContext, Alerts>();

/** The alerting capability of this app (tests and the composition root). */
export function alertsOf(ctx: AppContext): Alerts {
  const a = instances.get(ctx);
  if (!a) throw new Error('alerts are not set up for this app');
  return a;
}

/** The alerting capability: incidents from monitoring's change feed, under the one visibility rule. */
export function createAlerts(ctx: AppContext, deps: { registry: Registry; monitoring: MonitoringService }): Alerts {
  const users = authModels(ctx.store.conn).User;
  const audit: IncidentDeps['audit'] = async (e) => {
    await deps.registry.audit.record({ ...e, regionIds: [] });
  };
  const incidents: IncidentService = new IncidentService({
    conn: ctx.store.conn,
    logger: ctx.logger.child({ component: 'alerts' }),
    regions: deps.registry.regions,
    cameras: deps.registry.cameras,
    feed: deps.monitoring.feed,
    status: (id) => deps.monitoring.status(id),
    user: async (id) => {
      const u = await users.findById(id).lean();
      return u ? { id: u._id.toHexString(), username: u.username, role: u.role, maintainerOrg: u.maintainerOrg, disabled: u.disabled } : null;
    },
    audit,
    silenced: (p, at): boolean => silences.silenced(p, at),
    tickMs: ctx.config.ALERTS_TICK_MS,
  });
  const silences: SilenceService = new SilenceService({ conn: ctx.store.conn, regions: deps.registry.regions, point: (id): AlertPoint | undefined => incidents.points.get(id), audit });
  ctx.onStop(() => incidents.stop());
  const alerts: Alerts = {
    incidents,
    silences,
    router: incidentsRouter(ctx, incidents).use(silencesRouter(ctx, silences)),
    start: async () => {
      await silences.start();
      await incidents.start();
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
