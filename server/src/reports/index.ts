import type { Router } from 'express';
import type { AuditService } from '../audit/service';
import type { AppContext } from '../context';
import type { HistoryRead } from '../monitoring';
import { assessmentRouter } from './assessment-routes';
import { AssessmentService } from './assessment-service';
import { MonthlyReport, type ReportDelivery } from './monthly-report';
import { reportsRouter } from './routes';
import { ReportService, type RegionSource } from './service';

export { ReportService } from './service';
export { AssessmentService } from './assessment-service';
export { MonthlyReport, type ReportDelivery } from './monthly-report';

/** Builds the reports capability over the region tree and monitoring's typed history read. */
export function createReports(
  ctx: AppContext,
  deps: { regions: RegionSource; history: HistoryRead; audit: Pick<AuditService, 'record'> },
): {
  service: ReportService;
  assessment: AssessmentService;
  router: Router;
  /** Month-close storage (indexes, leftovers of an interrupted close). */
  init(): Promise<void>;
  /** The scheduled monthly close and delivery (REPORT_CLOSE_CRON) through the alerts' outbox; unless REPORT_MONTHLY_ENABLED is off. */
  startMonthly(delivery: ReportDelivery, consoleUrl: () => string | null): MonthlyReport | null;
} {
  const { config } = ctx;
  const service = new ReportService({
    conn: ctx.store.conn,
    regions: deps.regions,
    history: deps.history,
    snapshotTimes: config.REPORT_SNAPSHOT_TIMES,
    timeZone: config.REPORT_TZ,
  });
  const logger = ctx.logger.child({ component: 'reports' });
  const assessment = new AssessmentService({
    conn: ctx.store.conn,
    regions: deps.regions,
    history: deps.history,
    audit: (entry) => deps.audit.record(entry),
    rule: { fullScore: config.ASSESSMENT_FULL_SCORE, deductions: config.ASSESSMENT_DEDUCTIONS, passScore: config.ASSESSMENT_PASS_SCORE, fairScore: config.ASSESSMENT_FAIR_SCORE },
    graceMs: config.REPORT_CLOSE_GRACE_HOURS * 3_600_000,
    timeZone: config.REPORT_TZ,
    logger,
  });
  return {
    service,
    assessment,
    router: reportsRouter(ctx, service).use(assessmentRouter(ctx, assessment)),
    init: () => assessment.init(),
    startMonthly(delivery, consoleUrl) {
      if (!(config.REPORT_MONTHLY_ENABLED ?? config.NODE_ENV !== 'test')) return null;
      const monthly = new MonthlyReport({
        service: assessment,
        delivery,
        channelNames: config.REPORT_MONTHLY_CHANNELS,
        cron: config.REPORT_CLOSE_CRON,
        timeZone: config.REPORT_TZ,
        consoleUrl,
        logger,
      });
      monthly.start();
      ctx.onStop(() => monthly.stop());
      return monthly;
    },
  };
}
