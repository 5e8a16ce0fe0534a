import { Router } from 'express';
import type { AppContext } from '../context';
import { defineRoute } from '../lib/http';
import { auditPageSchema, auditQuerySchema } from '../contracts/audit';
import type { AuditService } from './service';

export function auditRouter(ctx: AppContext, audit: AuditService): Router {
  const router = Router();
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/audit',
    summary: 'Who changed what and when (newest first; filter by entity, entityId, actor, action, time range)',
    tags: ['audit'],
    permission: 'audit:read',
    query: auditQuerySchema,
    responses: { 200: { description: 'a page of audit entries', schema: auditPageSchema } },
    handler: ({ principal, query }) => audit.list(principal, query),
  });
  return router;
}
