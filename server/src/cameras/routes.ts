import { Router, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import { defineRoute, etagOf, parseIfMatch } from '../lib/http';
import { cameraPageSchema, cameraSchema, type Camera } from '../contracts/cameras';
import { cameraInputSchema, cameraListQuerySchema, cameraPatchSchema, stripEcho } from './schema';
import type { CameraService } from './service';

const idParams = z.object({ id: z.string().max(64) });

function withEtag(res: Response, c: Camera): Camera {
  res.setHeader('ETag', etagOf(c.version));
  return c;
}

const errors = {
  400: { description: 'malformed request' },
  404: { description: 'unknown point, region or upstream point (or outside your scope)' },
  409: { description: 'duplicate gbCode or stale version' },
  422: { description: 'invalid fields (details name each field)' },
};

export function camerasRouter(ctx: AppContext, cameras: CameraService): Router {
  const router = Router();

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/cameras',
    summary: 'List camera points visible to the caller (filters combine with AND; keyset pagination via cursor)',
    tags: ['cameras'],
    permission: 'camera:read',
    query: cameraListQuerySchema,
    responses: { 200: { description: 'a page of points', schema: cameraPageSchema }, 400: { description: 'bad query or cursor' }, 404: { description: 'the region of the filter is unknown (or outside your scope)' } },
    handler: ({ principal, query }) => cameras.list(principal, query),
  });

  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/cameras',
    summary: 'Register a camera point',
    tags: ['cameras'],
    permission: 'camera:write',
    body: cameraInputSchema,
    status: 201,
    responses: { 201: { description: 'the created point (ETag header carries its version)', schema: cameraSchema, headers: ['ETag', 'Location'] }, ...errors },
    handler: async ({ principal, body, res }) => {
      const cam = await cameras.create(principal, stripEcho(body));
      res.setHeader('Location', `/api/v1/cameras/${cam.id}`);
      return withEtag(res, cam);
    },
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/cameras/:id',
    summary: 'Read one camera point',
    tags: ['cameras'],
    permission: 'camera:read',
    params: idParams,
    responses: { 200: { description: 'the point (ETag header carries its version)', schema: cameraSchema, headers: ['ETag'] }, 404: errors[404] },
    handler: async ({ principal, params, res }) => withEtag(res, await cameras.get(principal, params.id)),
  });

  defineRoute(router, ctx.openapi, {
    method: 'patch',
    path: '/cameras/:id',
    summary: 'Change fields of a point. Send If-Match: <ETag> (or body.version): a stale version gets 409 and nothing is written',
    tags: ['cameras'],
    permission: 'camera:write',
    params: idParams,
    body: cameraPatchSchema,
    ifMatch: true,
    responses: { 200: { description: 'the point after the change', schema: cameraSchema, headers: ['ETag'] }, ...errors },
    handler: async ({ principal, params, body, req, res }) =>
      withEtag(res, await cameras.update(principal, params.id, body, parseIfMatch(req.get('If-Match')))),
  });

  defineRoute(router, ctx.openapi, {
    method: 'delete',
    path: '/cameras/:id',
    summary: 'Delete a point (optionally conditional with If-Match)',
    tags: ['cameras'],
    permission: 'camera:write',
    params: idParams,
    status: 204,
    ifMatch: true,
    responses: { 204: { description: 'deleted' }, 404: errors[404], 409: errors[409] },
    handler: async ({ principal, params, req }) => {
      await cameras.remove(principal, params.id, parseIfMatch(req.get('If-Match')));
      return undefined;
    },
  });

  return router;
}
