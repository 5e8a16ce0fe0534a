import { Router } from 'express';
import type { CameraChange } from '../cameras/events';
import type { AppContext } from '../context';
import type { AuditRecordInput } from '../audit/schema';
import type { HistoryRead } from '../monitoring';
import { assessmentRouter } from './assessment-routes';
import { AssessmentService } from './assessment-service';
import { coverageRouter } from './coverage-routes';
import { CoverageService } from './coverage';
import { exclusionsRouter } from './exclusion-routes';
import { ExclusionService } from './exclusions';
import { MonthlyReport, type ReportDelivery } from './monthly-report';
import { PointIndex } from './point-index';
import { reportsRouter } from './routes';
import { ReportService, type RegionSource } from './service';
import { SumsStore } from './sums';

export { ReportService } from './service';
export { CoverageService } from './coverage';
export { ExclusionService, type ExclusionLookup, type ExclusionWindow } from './exclusions';
export { AssessmentService } from './assessment-service';
export { MonthlyReport, type ReportDelivery } from './monthly-report';

/** What the reports read of the registry: the region tree, change events (sums' point index, coverage recounts), the audit trail. */
export interface ReportRegistry {
  regions: RegionSource & { onChange(listener: () => void): () => void };
  points: { onChange(listener: (e: CameraChange) => void): () => void };
  audit: { record(entry: AuditRecordInput): Promise<void> };
}

export interface Reports {
  service: ReportService;
  coverage: CoverageService;
  exclusions: ExclusionService;
  assessment: AssessmentService;
  router: Router;
  /** Month-close storage (indexes, leftovers of an interrupted close). */
  init(): Promise<void>;
  /** The scheduled monthly close and delivery (REPORT_CLOSE_CRON) through the alerts' outbox; unless REPORT_MONTHLY_ENABLED is off. */
  startMonthly(delivery: ReportDelivery, consoleUrl: () => string | null): MonthlyReport | null;
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
 * per point (the same figures, slower). Approved exclusions leave the online rate on both paths.
 */
export function createReports(ctx: AppContext, deps: { registry: ReportRegistry; history: HistoryRead }): Reports {
  const c = ctx.config;
  const { registry } = deps;
  const exclusions = new ExclusionService({
    conn: ctx.store.conn,
    regions: registry.regions,
    audit: (e) => registry.audit.record({ ...e, entity: 'report' }),
  });
  exclusions.start().catch((err: unknown) => ctx.logger.warn('exclusion indexes not created', { err }));
  const index = new PointIndex(c.REPORT_KEY_PUBLIC_INDUSTRIES);
  const unsubscribe = registry.points.onChange((e) => index.apply(e));
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
    regions: registry.regions,
    history: deps.history,
    snapshotTimes: c.REPORT_SNAPSHOT_TIMES,
    timeZone: c.REPORT_TZ,
    targets: c.REPORT_TARGETS,
    keyPublicIndustries: c.REPORT_KEY_PUBLIC_INDUSTRIES,
    sums: { store, index },
    exclusions: exclusions.lookup,
  });
  const coverage = new CoverageService({
    conn: ctx.store.conn,
    regions: registry.regions,
    onRegistryChange: (listener) => {
      const offPoints = registry.points.onChange(() => listener());
      const offRegions = registry.regions.onChange(listener);
      return () => {
        offPoints();
        offRegions();
      };
    },
  });
  const logger = ctx.logger.child({ component: 'reports' });
  const assessment = new AssessmentService({
    conn: ctx.store.conn,
    regions: registry.regions,
    history: deps.history,
    audit: (entry) => registry.audit.record(entry),
    rule: { fullScore: c.ASSESSMENT_FULL_SCORE, deductions: c.ASSESSMENT_DEDUCTIONS, passScore: c.ASSESSMENT_PASS_SCORE, fairScore: c.ASSESSMENT_FAIR_SCORE },
    graceMs: c.REPORT_CLOSE_GRACE_HOURS * 3_600_000,
    timeZone: c.REPORT_TZ,
    logger,
    // the assessment counts what the online rate counts: approved exclusions leave its fault time too
    engine: { exclusions: exclusions.lookup },
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
  const router = Router();
  router.use(reportsRouter(ctx, service));
  router.use(exclusionsRouter(ctx, exclusions));
  router.use(coverageRouter(ctx, coverage));
  router.use(assessmentRouter(ctx, assessment));
  const reports: Reports = {
    service,
    coverage,
    exclusions,
    assessment,
    router,
    refreshSums: refresh,
    ready,
    init: () => assessment.init(),
    startMonthly(delivery, consoleUrl) {
      if (!(c.REPORT_MONTHLY_ENABLED ?? c.NODE_ENV !== 'test')) return null;
      const monthly = new MonthlyReport({
        service: assessment,
        delivery,
        channelNames: c.REPORT_MONTHLY_CHANNELS,
        cron: c.REPORT_CLOSE_CRON,
        timeZone: c.REPORT_TZ,
        consoleUrl,
        logger,
      });
      monthly.start();
      ctx.onStop(() => monthly.stop());
      return monthly;
    },
  };
  instances.set(ctx, reports);
  return reports;
}
