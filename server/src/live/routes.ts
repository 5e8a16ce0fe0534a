import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Router } from 'express';
import { canSeeRegion, viewerOf } from '../auth/scope';
import type { Principal } from '../contracts/access';
import type { AppContext } from '../context';
import { boundariesSchema, consoleConfigSchema, liveRegionsSchema, pointCatalogQuerySchema, pointCatalogSchema, type PointCatalog } from '../contracts/live';
import { defineRoute, RESPONDED } from '../lib/http';
import type { LiveHub } from './hub';
import type { RegionTree } from '../regions/tree';
import type { LiveSource } from './source';

const gzip = promisify(zlib.gzip);

/** REST side of live push: what the console loads once, beside the socket snapshot. */
export interface LiveRouteDeps {
  ready(): Promise<LiveHub>;
  source: LiveSource;
  catalog(regionId: string, ids: string[]): PointCatalog;
  /** Same rule as a socket subscribe: throws not_found when the subtree is outside the caller's scope. */
  assertCanWatch(principal: Principal, regionId: string, regions: RegionTree): void;
}

export function liveRoutes(router: Router, ctx: AppContext, deps: LiveRouteDeps): void {
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/live/config',
    summary: 'Console settings from the server environment (map tiles, auth mode)',
    tags: ['live'],
    permission: null,
    responses: { 200: { description: 'console configuration', schema: consoleConfigSchema } },
    handler: () => Promise.resolve({ tileUrl: ctx.config.MAP_TILE_URL ?? null, authMode: ctx.config.AUTH_MODE }),
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/live/regions',
    summary: 'The region tree nodes the caller may see (flat list), for the status board',
    tags: ['live'],
    permission: 'status:read',
    responses: { 200: { description: 'visible regions', schema: liveRegionsSchema } },
    handler: async ({ principal }) => {
      const hub = await deps.ready();
      const tree = hub.regions;
      const regions = tree
        .all()
        .filter((r) => canSeeRegion(principal, tree, r.id))
        .map((r) => ({ id: r.id, parentId: r.parentId, name: r.name, tier: r.tier }));
      return { scopeRegionId: principal.scopeRegionId, regions };
    },
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/live/points',
    summary: 'Attributes of every visible point of a region subtree, column-wise (joins the socket snapshot by id)',
    tags: ['live'],
    permission: 'status:read',
    query: pointCatalogQuerySchema,
    responses: { 200: { description: 'point catalog', schema: pointCatalogSchema }, 404: { description: 'unknown region (or outside your scope)' } },
    handler: async ({ principal, query, req, res }) => {
      const hub = await deps.ready();
      deps.assertCanWatch(principal, query.regionId, hub.regions);
      const ids = hub.visibleIds(query.regionId, viewerOf(principal));
      const catalog = deps.catalog(query.regionId, ids);
      if (ids.length < 2000 || !/\bgzip\b/.test(req.get('Accept-Encoding') ?? '')) return catalog;
      // 100,000 points are ~15 MB of JSON: compress off the event loop (zlib runs on the thread pool)
      const body = await gzip(JSON.stringify(catalog), { level: 1 });
      res.status(200).set({ 'Content-Type': 'application/json; charset=utf-8', 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' }).end(body);
      return RESPONDED;
    },
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/live/boundaries',
    summary: 'Region boundaries (GeoJSON) of a subtree for the offline map basemap',
    tags: ['live'],
    permission: 'status:read',
    query: pointCatalogQuerySchema,
    responses: { 200: { description: 'GeoJSON FeatureCollection', schema: boundariesSchema }, 404: { description: 'unknown region (or outside your scope)' } },
    handler: async ({ principal, query }) => {
      const hub = await deps.ready();
      const tree = hub.regions;
      deps.assertCanWatch(principal, query.regionId, tree);
      const ids = new Set(tree.subtree(query.regionId));
      const features = [];
      for (const b of await deps.source.boundaries([...ids])) {
        const r = tree.get(b.id);
        if (r) features.push({ type: 'Feature' as const, properties: { id: r.id, name: r.name, tier: r.tier }, geometry: b.geometry });
      }
      return { type: 'FeatureCollection' as const, features };
    },
  });
}
