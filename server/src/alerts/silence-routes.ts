import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import { incidentIdParamsSchema, silenceInputSchema, silenceListSchema, silenceSchema } from '../contracts/incidents';
import { defineRoute } from '../lib/http';
import type { SilenceService } from './silences';

/** /silences: mute messages about some points for a while (states and online rates are untouched). */
export function silencesRouter(ctx: AppContext, silences: SilenceService): Router {
  const router = Router();
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/silences',
    summary: 'Silences you can see, newest first (active=true: only those not yet ended)',
    tags: ['alerts'],
    permission: 'alert:read',
    query: z.strictObject({ active: z.enum(['true', 'false']).default('true') }),
    responses: { 200: { description: 'the silences', schema: silenceListSchema } },
    handler: ({ principal, query }) => silences.list(principal, query.active === 'true'),
  });
  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/silences',
    summary: 'Mute messages about the matched points until endsAt (audited; only points you can see)',
    tags: ['alerts'],
    permission: 'alert:ack',
    body: silenceInputSchema,
    status: 201,
    responses: { 201: { description: 'the silence', schema: silenceSchema } },
    handler: ({ principal, body }) => silences.create(principal, body),
  });
  defineRoute(router, ctx.openapi, {
    method: 'delete',
    path: '/silences/:id',
    summary: 'End a silence now (its creator, an operator or an admin)',
    tags: ['alerts'],
    permission: 'alert:ack',
    params: incidentIdParamsSchema,
    responses: { 200: { description: 'the silence, ended', schema: silenceSchema } },
    handler: ({ principal, params }) => silences.expire(principal, params.id),
  });
  return router;
}
