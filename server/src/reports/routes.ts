import { Router } from 'express';
import type { AppContext } from '../context';
import { onlineRateQuerySchema, onlineRateSchema } from '../contracts/reports';
import { defineRoute } from '../lib/http';
import type { ReportService } from './service';

export function reportsRouter(ctx: AppContext, reports: ReportService): Router {
  const router = Router();
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/reports/online-rate',
    summary: 'Online rate (在线率) of a region over any range, exact to the second; rows per child node, maintainer organisation or point; regions pool their points’ seconds (Σup ÷ Σ(up+down)); snapshot mode beside it',
    tags: ['reports'],
    permission: 'report:read',
    query: onlineRateQuerySchema,
    responses: { 200: { description: 'online rate', schema: onlineRateSchema } },
    handler: async ({ query, principal }) => reports.onlineRate(principal, query),
  });
  return router;
}
