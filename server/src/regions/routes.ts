import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import { defineRoute, etagOf, parseIfMatch } from '../lib/http';
import {
  regionDeleteResultSchema,
  regionInputSchema,
  regionListSchema,
  regionPatchSchema,
  regionSchema,
  regionTreeSchema,
  tierCountsSchema,
} from '../contracts/regions';
import { regionDeleteQuerySchema, regionListQuerySchema, regionTreeQuerySchema } from './schema';
import type { RegionService } from './service';

const idParams = z.object({ id: z.string().max(64) });

export function regionsRouter(ctx: AppContext, regions: RegionService): Router {
  const router = Router();

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/regions',
    summary: 'List regions visible to the caller (flat; filter by tier, parent, subtree, name/code)',
    tags: ['regions'],
    permission: 'region:read',
    query: regionListQuerySchema,
    responses: { 200: { description: 'regions', schema: regionListSchema }, 404: { description: 'a region named in the query is unknown (or outside your scope)' } },
    handler: ({ principal, query }) => Promise.resolve({ items: regions.list(principal, query) }),
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/regions/tree',
    summary: 'The region tree with counts of visible points per node and per tier',
    tags: ['regions'],
    permission: 'region:read',
    query: regionTreeQuerySchema,
    responses: { 200: { description: 'tree and counts', schema: regionTreeSchema }, 404: { description: 'a region named in the query is unknown (or outside your scope)' } },
    handler: ({ principal, query }) => regions.tree(principal, query),
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/regions/counts',
    summary: 'Counts of visible points per tier (optionally within one region), grids with and without points',
    tags: ['regions'],
    permission: 'region:read',
    query: z.strictObject({ regionId: z.string().max(64).optional() }),
    responses: { 200: { description: 'counts', schema: tierCountsSchema }, 404: { description: 'a region named in the query is unknown (or outside your scope)' } },
    handler: async ({ principal, query }) => (await regions.tree(principal, { rootId: query.regionId, depth: 0 })).counts,
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/regions/:id',
    summary: 'Read one region',
    tags: ['regions'],
    permission: 'region:read',
    params: idParams,
    responses: { 200: { description: 'the region', schema: regionSchema, headers: ['ETag'] }, 404: { description: 'unknown region (or outside your scope)' } },
    handler: ({ principal, params, res }) => {
      const r = regions.getOne(principal, params.id);
      res.setHeader('ETag', etagOf(r.version));
      return Promise.resolve(r);
    },
  });

  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/regions',
    summary: 'Create a region (district root; street under district; community under street; grid under community)',
    tags: ['regions'],
    permission: 'region:write',
    body: regionInputSchema,
    status: 201,
    responses: {
      201: { description: 'the created region', schema: regionSchema, headers: ['Location'] },
      404: { description: 'unknown parent (or outside your scope)' },
      409: { description: 'duplicate code or sibling name' },
      422: { description: 'invalid fields' },
    },
    handler: async ({ principal, body, res }) => {
      const r = await regions.create(principal, body);
      res.setHeader('Location', `/api/v1/regions/${r.id}`);
      return r;
    },
  });

  defineRoute(router, ctx.openapi, {
    method: 'patch',
    path: '/regions/:id',
    summary: 'Rename, re-code or move a region. Moving a node that holds points needs withPoints=true or movePointsTo',
    tags: ['regions'],
    permission: 'region:write',
    params: idParams,
    body: regionPatchSchema,
    ifMatch: true,
    responses: {
      200: { description: 'the region after the change', schema: regionSchema },
      404: { description: 'unknown region, parent or movePointsTo (or outside your scope)' },
      409: { description: 'holds points / stale version / duplicate' },
      422: { description: 'invalid fields' },
    },
    handler: ({ principal, params, body, req }) => regions.update(principal, params.id, body, parseIfMatch(req.get('If-Match'))),
  });

  defineRoute(router, ctx.openapi, {
    method: 'delete',
    path: '/regions/:id',
    summary: 'Delete a region; refused while it holds points unless movePointsTo is given, and while it has children unless cascade=true',
    tags: ['regions'],
    permission: 'region:write',
    params: idParams,
    query: regionDeleteQuerySchema,
    ifMatch: true,
    responses: { 200: { description: 'what was deleted', schema: regionDeleteResultSchema }, 404: { description: 'unknown region or movePointsTo (or outside your scope)' }, 409: { description: 'holds points or children, or stale version' } },
    handler: ({ principal, params, query, req }) => regions.remove(principal, params.id, { ...query, ifMatch: parseIfMatch(req.get('If-Match')) }),
  });

  return router;
}
