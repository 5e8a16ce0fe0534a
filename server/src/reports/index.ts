import type { Router } from 'express';
import type { AppContext } from '../context';
import type { HistoryRead } from '../monitoring';
import { reportsRouter } from './routes';
import { ReportService, type RegionSource } from './service';

export { ReportService } from './service';

/** Builds the reports capability over the region tree and monitoring's typed history read. */
export function createReports(ctx: AppContext, deps: { regions: RegionSource; history: HistoryRead }): { service: ReportService; router: Router } {
  const service = new ReportService({
    conn: ctx.store.conn,
    regions: deps.regions,
    history: deps.history,
    snapshotTimes: ctx.config.REPORT_SNAPSHOT_TIMES,
    timeZone: ctx.config.REPORT_TZ,
  });
  return { service, router: reportsRouter(ctx, service) };
}
