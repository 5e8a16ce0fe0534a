import { Router } from 'express';
import type { AppContext } from '../../context';
import {
  alertPolicyInputSchema,
  alertPolicyListSchema,
  alertPolicySchema,
  assignBodySchema,
  commentBodySchema,
  incidentAssigneeListSchema,
  incidentIdParamsSchema,
  incidentListQuerySchema,
  incidentPageSchema,
  incidentViewSchema,
} from '../../contracts/incidents';
import { defineRoute, parseIfMatch } from '../../lib/http';
import type { IncidentService } from './service';

/** /incidents (technicians and operators: list, read, acknowledge, assign, comment, close) and /alert-policies (admins). */
export function incidentsRouter(ctx: AppContext, incidents: IncidentService): Router {
  const router = Router();
  const one = { 200: { description: 'the incident as you may see it (only the member points you can see)', schema: incidentViewSchema } };
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/incidents',
    summary: 'Outage incidents you can see, newest first (filters: state, region subtree, organisation, mine, acked)',
    tags: ['alerts'],
    permission: 'alert:read',
    query: incidentListQuerySchema,
    responses: { 200: { description: 'a page of incidents', schema: incidentPageSchema } },
    handler: ({ principal, query }) => incidents.list(principal, query),
  });
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/incidents/:id',
    summary: 'One incident with its members and timeline',
    tags: ['alerts'],
    permission: 'alert:read',
    params: incidentIdParamsSchema,
    responses: one,
    handler: ({ principal, params }) => incidents.get(principal, params.id),
  });
  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/incidents/:id/ack',
    summary: 'Acknowledge: stops escalation and reminders',
    tags: ['alerts'],
    permission: 'alert:ack',
    params: incidentIdParamsSchema,
    responses: one,
    handler: ({ principal, params }) => incidents.acknowledge(principal, params.id),
  });
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/incidents/:id/assignees',
    summary: "Who the incident may be assigned to: technicians of its points' maintainer organisations who can see it",
    tags: ['alerts'],
    permission: 'alert:ack',
    params: incidentIdParamsSchema,
    responses: { 200: { description: 'the candidates', schema: incidentAssigneeListSchema } },
    handler: ({ principal, params }) => incidents.assignees(principal, params.id),
  });
  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/incidents/:id/assign',
    summary: "Assign to a technician of the points' maintainer organisation",
    tags: ['alerts'],
    permission: 'alert:ack',
    params: incidentIdParamsSchema,
    body: assignBodySchema,
    responses: one,
    handler: ({ principal, params, body }) => incidents.assign(principal, params.id, body.userId),
  });
  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/incidents/:id/comments',
    summary: 'Add a comment to the timeline',
    tags: ['alerts'],
    permission: 'alert:ack',
    params: incidentIdParamsSchema,
    body: commentBodySchema,
    responses: one,
    handler: ({ principal, params, body }) => incidents.comment(principal, params.id, body.text),
  });
  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/incidents/:id/close',
    summary: 'Close by hand (a known-offline point): its DOWN points stay quiet until they come back',
    tags: ['alerts'],
    permission: 'alert:ack',
    params: incidentIdParamsSchema,
    responses: one,
    handler: ({ principal, params }) => incidents.close(principal, params.id),
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/alert-policies',
    summary: 'Alert policies, in the order they are matched',
    tags: ['alerts'],
    permission: 'alert:read',
    responses: { 200: { description: 'the policies', schema: alertPolicyListSchema } },
    handler: ({ principal }) => incidents.listPolicies(principal),
  });
  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/alert-policies',
    summary: 'Create an alert policy (match, grouping, timings, receivers, escalation)',
    tags: ['alerts'],
    permission: 'settings:manage',
    body: alertPolicyInputSchema,
    status: 201,
    responses: {
      201: { description: 'the policy', schema: alertPolicySchema },
      404: { description: 'a region, channel or user the policy names does not exist (or is outside the caller\'s scope); details name the field' },
      409: { description: 'a policy with this name exists' },
    },
    handler: ({ principal, body }) => incidents.createPolicy(principal, body),
  });
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/alert-policies/:id',
    summary: 'One alert policy',
    tags: ['alerts'],
    permission: 'alert:read',
    params: incidentIdParamsSchema,
    responses: { 200: { description: 'the policy', schema: alertPolicySchema } },
    handler: ({ principal, params }) => incidents.getPolicy(principal, params.id),
  });
  defineRoute(router, ctx.openapi, {
    method: 'put',
    path: '/alert-policies/:id',
    summary: 'Replace an alert policy (If-Match: "v<version>" makes it conditional)',
    tags: ['alerts'],
    permission: 'settings:manage',
    params: incidentIdParamsSchema,
    body: alertPolicyInputSchema,
    responses: {
      200: { description: 'the policy', schema: alertPolicySchema },
      404: { description: 'unknown policy, or a region, channel or user it names does not exist; details name the field' },
      409: { description: 'stale version, or a policy with this name exists' },
    },
    handler: ({ principal, params, body, req }) => incidents.updatePolicy(principal, params.id, body, parseIfMatch(req.get('If-Match'))),
  });
  defineRoute(router, ctx.openapi, {
    method: 'delete',
    path: '/alert-policies/:id',
    summary: 'Delete an alert policy without open incidents',
    tags: ['alerts'],
    permission: 'settings:manage',
    params: incidentIdParamsSchema,
    status: 204,
    responses: { 204: { description: 'deleted' } },
    handler: async ({ principal, params }) => {
      await incidents.deletePolicy(principal, params.id);
      return undefined;
    },
  });
  return router;
}
