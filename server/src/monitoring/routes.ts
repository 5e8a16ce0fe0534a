import { Router } from 'express';
import type { Principal } from '../contracts/access';
import type { AppContext } from '../context';
import { AppError } from '../lib/errors';
import { defineRoute } from '../lib/http';
import { checkResultSchema, historyQuerySchema, historySchema, pointStatusSchema } from '../contracts/monitoring';
import { cameraIdParams, historyPeriods } from './schema';
import type { MonitoringService } from './service';

/** The registry's scoped read: resolves when the caller may see the point, 404 otherwise. */
export interface CameraVisibility {
  get(principal: Principal, id: string): Promise<unknown>;
}

export function monitoringRouter(ctx: AppContext, monitoring: MonitoringService, cameras: CameraVisibility): Router {
  const router = Router();
  const tags = ['status'];

  const visible = async (principal: Principal, id: string): Promise<void> => {
    await cameras.get(principal, id);
    if (!monitoring.hasPoint(id)) throw new AppError('unavailable', 'the point is not loaded by the polling engine yet; retry shortly');
  };

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/cameras/:id/status',
    summary: 'Current availability state of a point',
    tags,
    permission: 'status:read',
    params: cameraIdParams,
    responses: { 200: { description: 'status', schema: pointStatusSchema }, 503: { description: 'the point is not loaded by the polling engine yet; retry shortly' } },
    handler: async ({ params, principal }) => {
      await visible(principal, params.id);
      return monitoring.status(params.id);
    },
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/cameras/:id/history',
    summary: 'Transitions and uptime of a point over 24 h, 7 d or 30 d',
    tags,
    permission: 'status:read',
    params: cameraIdParams,
    query: historyQuerySchema,
    responses: { 200: { description: 'history', schema: historySchema }, 503: { description: 'the store is unreachable' } },
    handler: async ({ params, query, principal }) => {
      await cameras.get(principal, params.id);
      return monitoring.history(params.id, query.period, historyPeriods[query.period]);
    },
  });

  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/cameras/:id/check',
    summary: 'Probe a point now and return the result (joins a check already running)',
    tags,
    permission: 'status:check',
    params: cameraIdParams,
    responses: {
      200: { description: 'probe result and resulting status', schema: checkResultSchema },
      409: { description: 'the point is not connected yet (no endpoint host): nothing to probe' },
      503: { description: 'the point is not loaded by the polling engine yet, or the check could not start' },
    },
    handler: async ({ params, principal }) => {
      await visible(principal, params.id);
      const out = await monitoring.checkNow(params.id);
      return {
        kind: out.kind,
        result: out.result,
        status: out.status,
        transition: out.transition
          ? { ...out.transition, at: out.transition.at.toISOString(), failingSince: out.transition.failingSince?.toISOString() ?? null }
          : null,
      };
    },
  });

  return router;
}
