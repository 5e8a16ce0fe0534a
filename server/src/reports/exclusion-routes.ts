import { Router } from 'express';
import type { AppContext } from '../context';
import {
  exclusionDecisionSchema,
  exclusionIdParamsSchema,
  exclusionInputSchema,
  exclusionListQuerySchema,
  exclusionListSchema,
  exclusionSchema,
} from '../contracts/exclusions';
import { defineRoute } from '../lib/http';
import type { ExclusionService } from './exclusions';

/** /reports/exclusions: request (停电, 施工, 不可抗力), approve or reject; approved periods leave the online-rate denominator. */
export function exclusionsRouter(ctx: AppContext, exclusions: ExclusionService): Router {
  const router = Router();
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/reports/exclusions',
    summary: 'Exclusion requests you made or whose region lies in your scope, newest first',
    tags: ['reports'],
    permission: 'report:read',
    query: exclusionListQuerySchema,
    responses: { 200: { description: 'the requests', schema: exclusionListSchema } },
    handler: ({ principal, query }) => exclusions.list(principal, query),
  });
  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/reports/exclusions',
    summary: 'Request an exclusion for points or a region over a period, with a reason and evidence (audited)',
    tags: ['reports'],
    permission: 'report:exclude',
    body: exclusionInputSchema,
    status: 201,
    responses: { 201: { description: 'the request, pending', schema: exclusionSchema }, 404: { description: 'a point or region unknown or outside your scope' } },
    handler: ({ principal, body }) => exclusions.create(principal, body),
  });
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/reports/exclusions/:id',
    summary: 'One exclusion request',
    tags: ['reports'],
    permission: 'report:read',
    params: exclusionIdParamsSchema,
    responses: { 200: { description: 'the request', schema: exclusionSchema }, 404: { description: 'unknown (or outside your scope)' } },
    handler: ({ principal, params }) => exclusions.get(principal, params.id),
  });
  for (const [verb, approve] of [
    ['approve', true],
    ['reject', false],
  ] as const) {
    defineRoute(router, ctx.openapi, {
      method: 'post',
      path: `/reports/exclusions/:id/${verb}`,
      summary: `${approve ? 'Approve' : 'Reject'} a pending request: an admin, or a planner of a wider scope than the requester; never the requester himself (audited)`,
      tags: ['reports'],
      permission: 'report:approve',
      params: exclusionIdParamsSchema,
      body: exclusionDecisionSchema,
      responses: {
        200: { description: `the request, ${approve ? 'approved' : 'rejected'}`, schema: exclusionSchema },
        403: { description: 'not an approver of this request' },
        404: { description: 'unknown (or outside your scope)' },
        409: { description: 'already decided' },
      },
      handler: ({ principal, params, body }) => exclusions.decide(principal, params.id, approve, body),
    });
  }
  return router;
}
