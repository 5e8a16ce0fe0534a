import { Router } from 'express';
import { z } from 'zod';
import { DEMO_DISTRICT_CODE, loadDemoDistrict } from '../../../scripts/demo-district';
import type { AppContext } from '../context';
import { defineRoute } from '../lib/http';
import type { Registry } from './registry';

const demoResultSchema = z.object({ regions: z.number().int(), points: z.number().int(), tookMs: z.number() });

/** First-run helper for the console: loads the synthetic demo district into an empty registry. */
export function demoRouter(ctx: AppContext, registry: Registry): Router {
  const router = Router();
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/demo',
    summary: 'Whether the registry is empty (the console then offers the demo district) and whether the demo district is loaded',
    tags: ['demo'],
    permission: 'region:read',
    responses: { 200: { description: 'registry state', schema: z.object({ empty: z.boolean(), demoLoaded: z.boolean() }) } },
    handler: async () => {
      const empty = registry.regions.size() === 0 && (await registry.cameras.isEmpty());
      const demoLoaded = registry.regions.listAll().some((r) => r.tier === 'district' && r.code === DEMO_DISTRICT_CODE && registry.regions.isSynthetic(r.id));
      return { empty, demoLoaded };
    },
  });
  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/demo/load',
    summary: 'Load the synthetic demo district (铁东区, 536 grids, 5,400 points); refused unless the registry is empty',
    tags: ['demo'],
    permission: 'settings:manage',
    status: 201,
    responses: { 201: { description: 'loaded', schema: demoResultSchema }, 409: { description: 'the registry is not empty' } },
    handler: ({ principal }) => loadDemoDistrict(registry, { userId: principal.userId, username: principal.username }),
  });
  return router;
}
