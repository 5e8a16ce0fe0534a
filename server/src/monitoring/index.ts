import type { RequestHandler, Router } from 'express';
import type { AppContext } from '../context';
import type { Probe, ProbeKind } from '../probes/types';
import { safeEqualText } from '../auth/crypto';
import { bearerOf } from '../auth/middleware';
import { monitoringRouter, type CameraVisibility } from './routes';
import { MonitoringService, type RegistryFeed } from './service';

export { type Transition, type TransitionListener, type ConfirmedState } from './events';
export { states, type State } from './state-machine';
export type { MonitoringService, PointStatus, CheckOutcome } from './service';
export { HistoryRead, categoryOfState, historyFields, monthDays, CAT_UP, CAT_DOWN, type StateChange, type MonthDoc, type MonthDays, type MonthSum, type HistoryField } from './history-read';

const instances = new WeakMap<AppContext, MonitoringService>();

/** The polling engine of this app (keyed by context, not a process global). */
export function monitoringOf(ctx: AppContext): MonitoringService {
  const m = instances.get(ctx);
  if (!m) throw new Error('monitoring is not set up for this app');
  return m;
}

export interface Monitoring {
  service: MonitoringService;
  router: Router;
  /** GET /metrics (Prometheus text) from this app's own registry. */
  metricsHandler: RequestHandler;
  /** Loads points, restores state and starts polling; registers stop and the 'scheduler' readiness check. */
  start(): Promise<void>;
}

/**
 * Builds the monitoring capability. `cameras` is the registry's CameraService: its change events feed
 * the scheduler and its scoped `get` guards the status routes.
 */
export function createMonitoring(ctx: AppContext, deps: { cameras: RegistryFeed & CameraVisibility; probes?: Readonly<Record<ProbeKind, Probe>> }): Monitoring {
  const service = new MonitoringService({ config: ctx.config, logger: ctx.logger, conn: ctx.store.conn, registry: deps.cameras, probes: deps.probes });
  instances.set(ctx, service);
  const token = ctx.config.METRICS_TOKEN;
  // In production /metrics is closed unless METRICS_TOKEN is set; the token is compared in constant time.
  const closed = !token && ctx.config.NODE_ENV === 'production';
  const metricsHandler: RequestHandler = (req, res, next) => {
    if (closed) {
      res.status(403).type('text').send('metrics are closed in production until METRICS_TOKEN is set\n');
      return;
    }
    if (token && !safeEqualText(bearerOf(req.headers.authorization) ?? '', token)) {
      res.status(401).type('text').send('metrics need "Authorization: Bearer <METRICS_TOKEN>"\n');
      return;
    }
    service.metrics.registry.metrics().then((text) => {
      res.type(service.metrics.registry.contentType).send(text);
    }, next);
  };
  return {
    service,
    router: monitoringRouter(ctx, service, deps.cameras),
    metricsHandler,
    async start() {
      ctx.onStop(() => service.stop());
      ctx.addReadinessCheck('scheduler', () => service.running);
      await service.start();
    },
  };
}
