import { Router } from 'express';
import type { AppContext } from '../context';
import type { AuditRecordInput } from '../audit/schema';
import type { HistoryRead } from '../monitoring';
import { coverageRouter } from './coverage-routes';
import { CoverageService } from './coverage';
import { exclusionsRouter } from './exclusion-routes';
import { ExclusionService } from './exclusions';
import { reportsRouter } from './routes';
import { ReportService, type RegionSource } from './service';

export { ReportService } from './service';
export { CoverageService } from './coverage';
export { ExclusionService, type ExclusionLookup, type ExclusionWindow } from './exclusions';

/** What the reports read of the registry: the region tree, change notices (coverage recounts), the audit trail. */
export interface ReportRegistry {
  regions: RegionSource & { onChange(listener: () => void): () => void };
  points: { onChange(listener: () => void): () => void };
  audit: { record(entry: AuditRecordInput): Promise<void> };
}

/** Builds the reports capability over the region tree and monitoring's typed history read. */
export function createReports(
  ctx: AppContext,
  deps: { registry: ReportRegistry; history: HistoryRead },
): { service: ReportService; coverage: CoverageService; exclusions: ExclusionService; router: Router } {
  const { registry } = deps;
  const exclusions = new ExclusionService({
    conn: ctx.store.conn,
    regions: registry.regions,
    audit: (e) => registry.audit.record({ ...e, entity: 'report' }),
  });
  exclusions.start().catch((err: unknown) => ctx.logger.warn('exclusion indexes not created', { err }));
  const service = new ReportService({
    conn: ctx.store.conn,
    regions: registry.regions,
    history: deps.history,
    snapshotTimes: ctx.config.REPORT_SNAPSHOT_TIMES,
    timeZone: ctx.config.REPORT_TZ,
    exclusions: exclusions.lookup,
  });
  const coverage = new CoverageService({
    conn: ctx.store.conn,
    regions: registry.regions,
    onRegistryChange: (listener) => {
      const offPoints = registry.points.onChange(listener);
      const offRegions = registry.regions.onChange(listener);
      return () => {
        offPoints();
        offRegions();
      };
    },
  });
  const router = Router();
  router.use(reportsRouter(ctx, service));
  router.use(exclusionsRouter(ctx, exclusions));
  router.use(coverageRouter(ctx, coverage));
  return { service, coverage, exclusions, router };
}
