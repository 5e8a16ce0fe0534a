import { Router } from 'express';
import type { AppContext } from '../context';
import { onlineRateQuerySchema, onlineRateSchema, onlineRateTrendQuerySchema, onlineRateTrendSchema } from '../contracts/reports';
import { defineRoute } from '../lib/http';
import type { ReportService } from './service';

export function reportsRouter(ctx: AppContext, reports: ReportService): Router {
  const router = Router();
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/reports/online-rate',
    summary: 'Online rate (在线率) of a region over any range (a day, a week, a month: `from`/`to`), exact to the second; rows per child node, maintainer organisation or point (worst-N: sort=rate&limit=N); regions pool their points’ seconds (Σup ÷ Σ(up+down)); snapshot mode beside it; rows below their classification’s target flagged',
    tags: ['reports'],
    permission: 'report:read',
    query: onlineRateQuerySchema,
    responses: { 200: { description: 'online rate', schema: onlineRateSchema } },
    handler: async ({ query, principal }) => reports.onlineRate(principal, query),
  });
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/reports/online-rate/trend',
    summary: 'Online rate (在线率) of a region month by month (REPORT_TZ calendar months, the current one so far), with rows per child node or maintainer organisation and targets per classification',
    tags: ['reports'],
    permission: 'report:read',
    query: onlineRateTrendQuerySchema,
    responses: { 200: { description: 'monthly online rate', schema: onlineRateTrendSchema } },
    handler: async ({ query, principal }) => reports.onlineRateTrend(principal, query),
  });
  return router;
}
