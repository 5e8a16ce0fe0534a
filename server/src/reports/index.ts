import type { Router } from 'express';
import type { CameraChange } from '../cameras/events';
import type { AppContext } from '../context';
import type { HistoryRead } from '../monitoring';
import { PointIndex } from './point-index';
import { reportsRouter } from './routes';
import { ReportService, type RegionSource } from './service';
import { SumsStore } from './sums';

export { ReportService } from './service';

export interface Reports {
  service: ReportService;
  router: Router;
  /** Brings the per-group sums up to date with the history now (also runs every REPORT_SUMS_REFRESH_SEC). */
  refreshSums(): Promise<void>;
  /** Resolves once the point index is loaded and the stored sums are opened. */
  ready: Promise<void>;
}

const instances = new WeakMap<AppContext, Reports>();

/** The reports capability of this app (keyed by context, not a process global). */
export function reportsOf(ctx: AppContext): Reports {
  const r = instances.get(ctx);
  if (!r) throw new Error('reports are not set up for this app');
  return r;
}

/**
 * Builds the reports capability over the region tree, the registry's change events and monitoring's typed
 * history read. The point index loads and the sums refresh in the background: until they are ready, reports read
 * per point (the same figures, slower).
 */
export function createReports(
  ctx: AppContext,
  deps: { regions: RegionSource; history: HistoryRead; cameras: { onChange(listener: (e: CameraChange) => void): () => void } },
): Reports {
  const c = ctx.config;
  const index = new PointIndex(c.REPORT_KEY_PUBLIC_INDUSTRIES);
  const unsubscribe = deps.cameras.onChange((e) => index.apply(e));
  const store = new SumsStore({
    conn: ctx.store.conn,
    history: deps.history,
    index,
    snapshotTimes: c.REPORT_SNAPSHOT_TIMES,
    months: c.HISTORY_MONTHS,
    quietMs: c.REPORT_SUMS_QUIET_SEC * 1000,
    logger: ctx.logger,
  });
  const service = new ReportService({
    conn: ctx.store.conn,
    regions: deps.regions,
    history: deps.history,
    snapshotTimes: c.REPORT_SNAPSHOT_TIMES,
    timeZone: c.REPORT_TZ,
    targets: c.REPORT_TARGETS,
    keyPublicIndustries: c.REPORT_KEY_PUBLIC_INDUSTRIES,
    sums: { store, index },
  });
  let stopped = false;
  const ready = (async () => {
    await index.load(ctx.store.conn);
    await store.open();
  })();
  const refresh = async (): Promise<void> => {
    await ready;
    if (!stopped) await store.refresh();
  };
  void ready.then(
    () => refresh().catch((err: unknown) => ctx.logger.warn('online-rate sums refresh failed', { err })),
    (err: unknown) => ctx.logger.warn('online-rate sums unavailable (reports read per point)', { err }),
  );
  const timer = setInterval(() => {
    if (store.refreshing) return;
    refresh().catch((err: unknown) => ctx.logger.warn('online-rate sums refresh failed', { err }));
  }, c.REPORT_SUMS_REFRESH_SEC * 1000);
  timer.unref();
  ctx.onStop(async () => {
    stopped = true;
    clearInterval(timer);
    unsubscribe();
    await ready.catch(() => undefined);
    await store.idle();
  });
  const reports: Reports = { service, router: reportsRouter(ctx, service), refreshSums: refresh, ready };
  instances.set(ctx, reports);
  return reports;
}
