import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import {
  channelCreateSchema,
  channelListSchema,
  channelPatchSchema,
  channelSchema,
  channelTestResultSchema,
  deliveryListSchema,
  deliveryQuerySchema,
} from '../contracts/alerts';
import { defineRoute, parseIfMatch } from '../lib/http';
import type { ChannelService } from './channel-service';
import type { Outbox } from './outbox';

const idParams = z.object({ id: z.string().max(64) });

/** /channels: admin-only configuration of where alerts go, their test send, health and queue. */
export function channelsRouter(ctx: AppContext, channels: ChannelService, outbox: Outbox): Router {
  const router = Router();
  const tags = ['alerts'];

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/channels',
    summary: 'List alert channels with health and queue (secrets are never returned)',
    tags,
    permission: 'alert:manage',
    responses: { 200: { description: 'channels', schema: channelListSchema } },
    handler: async () => ({ items: await channels.list() }),
  });

  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/channels',
    summary: 'Create a channel (WeCom, DingTalk, Feishu robot, e-mail, SMS gateway, webhook); secrets are write-only',
    tags,
    permission: 'alert:manage',
    body: channelCreateSchema,
    status: 201,
    responses: { 201: { description: 'the channel', schema: channelSchema }, 409: { description: 'name in use' }, 422: { description: 'invalid fields' } },
    handler: async ({ principal, body, res }) => {
      const c = await channels.create(principal, body);
      res.setHeader('Location', `/api/v1/channels/${c.id}`);
      return c;
    },
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/channels/:id',
    summary: 'Read one channel',
    tags,
    permission: 'alert:manage',
    params: idParams,
    responses: { 200: { description: 'the channel', schema: channelSchema }, 404: { description: 'unknown channel' } },
    handler: async ({ params, res }) => {
      const c = await channels.get(params.id);
      res.setHeader('ETag', `"v${c.version}"`);
      return c;
    },
  });

  defineRoute(router, ctx.openapi, {
    method: 'patch',
    path: '/channels/:id',
    summary: 'Change a channel: settings replace the settings; secrets change only the fields named (null clears one)',
    tags,
    permission: 'alert:manage',
    params: idParams,
    body: channelPatchSchema,
    responses: { 200: { description: 'the channel after the change', schema: channelSchema }, 409: { description: 'stale version / name in use' }, 422: { description: 'invalid fields' } },
    handler: ({ principal, params, body, req }) => {
      const ifMatch = parseIfMatch(req.get('If-Match'));
      return channels.update(principal, params.id, { ...body, ...(body.version === undefined && ifMatch !== undefined ? { version: ifMatch } : {}) });
    },
  });

  defineRoute(router, ctx.openapi, {
    method: 'delete',
    path: '/channels/:id',
    summary: 'Delete a channel (its queued messages fail as "channel deleted"); refused while an alert policy names it',
    tags,
    permission: 'alert:manage',
    params: idParams,
    status: 204,
    responses: { 204: { description: 'deleted' }, 404: { description: 'unknown channel' }, 409: { description: 'an alert policy still names the channel' } },
    handler: ({ principal, params }) => channels.remove(principal, params.id),
  });

  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/channels/:id/test',
    summary: 'Send a test message now and answer the outcome (within the channel rate limit; updates its health)',
    tags,
    permission: 'alert:manage',
    params: idParams,
    responses: { 200: { description: 'what the receiver answered', schema: channelTestResultSchema }, 404: { description: 'unknown channel' }, 429: { description: 'the channel is at its rate limit' } },
    handler: ({ principal, params }) => channels.test(principal, params.id),
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/channels/:id/deliveries',
    summary: "The channel's outbox rows, newest first (state=dead lists its dead letters)",
    tags,
    permission: 'alert:manage',
    params: idParams,
    query: deliveryQuerySchema,
    responses: { 200: { description: 'deliveries', schema: deliveryListSchema }, 404: { description: 'unknown channel' } },
    handler: async ({ params, query }) => {
      await channels.get(params.id);
      return { items: await outbox.deliveries({ channelId: params.id, ...(query.state ? { state: query.state } : {}), limit: query.limit }) };
    },
  });

  return router;
}
