import { Router } from 'express';
import type { AppContext } from '../../context';
import { maintenanceIdParamsSchema, maintenanceWindowListSchema, maintenanceWindowSchema } from '../../contracts/maintenance';
import { defineRoute, parseIfMatch } from '../../lib/http';
import { maintenanceWindowBodySchema } from './schema';
import type { MaintenanceService } from './service';

/** /maintenance-windows: read by whoever reads alerts (the windows concerning what he sees), written by admins in their subtree. */
export function maintenanceRouter(ctx: AppContext, maintenance: MaintenanceService): Router {
  const router = Router();
  const body = maintenanceWindowBodySchema(ctx.config.REPORT_TZ);
  const one = { description: 'the window (times of day in the configured zone, REPORT_TZ)', schema: maintenanceWindowSchema };
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/maintenance-windows',
    summary: 'Maintenance windows you can see, newest first, with whether each is open and its next occurrences',
    tags: ['alerts'],
    permission: 'alert:read',
    responses: { 200: { description: 'the windows', schema: maintenanceWindowListSchema } },
    handler: ({ principal }) => maintenance.list(principal),
  });
  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/maintenance-windows',
    summary: 'Create a one-off or recurring window (weekly, monthly, cron + duration); its points are in MAINTENANCE while it is open (audited)',
    tags: ['alerts'],
    permission: 'alert:manage',
    body,
    status: 201,
    responses: { 201: one, 404: { description: 'a region or point the matcher names is unknown or hidden from you' } },
    handler: ({ principal, body: input }) => maintenance.create(principal, input),
  });
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/maintenance-windows/:id',
    summary: 'One maintenance window',
    tags: ['alerts'],
    permission: 'alert:read',
    params: maintenanceIdParamsSchema,
    responses: { 200: one },
    handler: ({ principal, params }) => maintenance.get(principal, params.id),
  });
  defineRoute(router, ctx.openapi, {
    method: 'put',
    path: '/maintenance-windows/:id',
    summary: 'Replace a maintenance window (If-Match: "v<version>" makes it conditional; audited)',
    tags: ['alerts'],
    permission: 'alert:manage',
    params: maintenanceIdParamsSchema,
    body,
    ifMatch: true,
    responses: { 200: one },
    handler: ({ principal, params, body: input, req }) => maintenance.update(principal, params.id, input, parseIfMatch(req.get('If-Match'))),
  });
  defineRoute(router, ctx.openapi, {
    method: 'delete',
    path: '/maintenance-windows/:id',
    summary: 'Delete a maintenance window; if it is open, its points leave maintenance at once (audited)',
    tags: ['alerts'],
    permission: 'alert:manage',
    params: maintenanceIdParamsSchema,
    status: 204,
    responses: { 204: { description: 'deleted' } },
    handler: async ({ principal, params }) => {
      await maintenance.remove(principal, params.id);
      return undefined;
    },
  });
  return router;
}
