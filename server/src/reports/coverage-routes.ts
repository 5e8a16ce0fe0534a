import { Router } from 'express';
import type { AppContext } from '../context';
import { coverageAreaInputSchema, coverageAreaSchema, coverageCountsSchema, coverageGapsSchema, coverageQuerySchema } from '../contracts/coverage';
import { defineRoute } from '../lib/http';
import type { CoverageService } from './coverage';

/** /coverage: counts per tier node, coverage gaps, points in a planned site — over the points the caller may see. */
export function coverageRouter(ctx: AppContext, coverage: CoverageService): Router {
  const router = Router();
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/coverage/counts',
    summary:
      'Point counts of a region node and of each child node (drill-down district → street → community → grid) by GB/T 28181 type and industry, maintainer organisation, sharing, connected / not connected, enabled; total = Σ child rows + the points registered at the node itself, in every figure',
    tags: ['coverage'],
    permission: 'report:read',
    query: coverageQuerySchema,
    responses: { 200: { description: 'counts', schema: coverageCountsSchema }, 404: { description: 'unknown region (or outside your scope)' } },
    handler: ({ principal, query }) => coverage.counts(principal, query),
  });
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/coverage/gaps',
    summary: 'Coverage gaps of a region: every grid with its points per 1,000 households (the heat map), grids and communities with no point, grids without a households figure',
    tags: ['coverage'],
    permission: 'report:read',
    query: coverageQuerySchema,
    responses: { 200: { description: 'gaps', schema: coverageGapsSchema }, 404: { description: 'unknown region (or outside your scope)' } },
    handler: ({ principal, query }) => coverage.gaps(principal, query),
  });
  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/coverage/area',
    summary: 'Points of a region inside a circle (centre, radius in metres) or a polygon — a planned site: counts and the points, nearest first (a read; POST carries the polygon)',
    tags: ['coverage'],
    permission: 'report:read',
    body: coverageAreaInputSchema,
    responses: { 200: { description: 'points in the area', schema: coverageAreaSchema }, 404: { description: 'unknown region (or outside your scope)' } },
    handler: ({ principal, body }) => coverage.area(principal, body),
  });
  return router;
}
