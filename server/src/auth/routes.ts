import express, { type Response, type Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import { AppError } from '../lib/errors';
import { defineRoute, type RouteInput } from '../lib/http';
import type { Principal } from '../contracts/access';
import { clearSessionCookies, setSessionCookies } from './cookies';
import { authOf } from './instance';
import { requestMeta } from './middleware';
import {
  changePasswordSchema,
  createdTokenSchema,
  createTokenSchema,
  createUserSchema,
  loginSchema,
  meSchema,
  sessionResponseSchema,
  setupSchema,
  setupStatusSchema,
  tokenListSchema,
  unlockResultSchema,
  updateUserSchema,
  userListSchema,
  userSchema,
} from '../contracts/auth';
import { idParamSchema, userListQuerySchema } from './schema';

/** Public routes: the union in defineRoute's signature leaves their handler input uninferred. */
type PublicInput<B extends z.ZodType> = RouteInput<undefined, undefined, z.infer<B>> & { principal: Principal | undefined };

async function withRetryAfter<T>(res: Response, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError && err.code === 'rate_limited') {
      const secs = (err.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds ?? 1;
      res.setHeader('Retry-After', String(secs));
    }
    throw err;
  }
}

/** /auth (login, logout, setup, me, password), /users (admin) and /tokens. */
export function authRouter(ctx: AppContext): Router {
  const r = express.Router();
  const oa = ctx.openapi;
  const auth = authOf(ctx);

  defineRoute(r, oa, {
    method: 'post',
    path: '/auth/login',
    summary: 'Log in with username and password; sets the vigil_session (httpOnly) and vigil_csrf cookies',
    tags: ['auth'],
    permission: null,
    body: loginSchema,
    responses: {
      200: { description: 'logged in', schema: sessionResponseSchema },
      401: { description: 'invalid username or password' },
      429: { description: 'too many failures; see Retry-After', headers: ['Retry-After'] },
    },
    handler: async ({ body, req, res }: PublicInput<typeof loginSchema>) => {
      const issued = await withRetryAfter(res, () => auth.login(body.username, body.password, requestMeta(req)));
      setSessionCookies(res, ctx.config, issued);
      return { user: await auth.me(issued.principal), csrfToken: issued.csrfToken, expiresAt: issued.expiresAt.toISOString() };
    },
  });

  defineRoute(r, oa, {
    method: 'post',
    path: '/auth/logout',
    summary: 'Revoke the current console session and clear its cookies',
    tags: ['auth'],
    permission: 'account:self',
    responses: { 204: { description: 'logged out' }, 400: { description: 'an API token cannot log out (revoke it instead)' } },
    handler: async ({ principal, req, res }) => {
      await auth.logout(principal, requestMeta(req));
      clearSessionCookies(res, ctx.config);
      return undefined;
    },
  });

  defineRoute(r, oa, {
    method: 'get',
    path: '/auth/me',
    summary: 'Who am I: role, scope and permissions of the caller',
    tags: ['auth'],
    permission: 'account:self',
    responses: { 200: { description: 'the caller', schema: meSchema } },
    handler: ({ principal }) => auth.me(principal),
  });

  defineRoute(r, oa, {
    method: 'post',
    path: '/auth/password',
    summary: 'Change the own password (other sessions of the user are revoked)',
    tags: ['auth'],
    permission: 'account:self',
    body: changePasswordSchema,
    responses: { 204: { description: 'changed' }, 403: { description: 'only signed-in users change their password (not an API token)' }, 422: { description: 'wrong current password, or the new one breaks the password policy' } },
    handler: async ({ principal, body, req }) => {
      await auth.changeOwnPassword(principal, body.currentPassword, body.newPassword, requestMeta(req));
      return undefined;
    },
  });

  defineRoute(r, oa, {
    method: 'get',
    path: '/auth/setup',
    summary: 'Whether first-run setup is pending (no user exists yet)',
    tags: ['auth'],
    permission: null,
    responses: { 200: { description: 'setup status', schema: setupStatusSchema } },
    handler: () => Promise.resolve({ setupRequired: auth.setupPending() }),
  });

  defineRoute(r, oa, {
    method: 'post',
    path: '/auth/setup',
    summary: 'Create the first (global) admin with the one-time token printed at start-up; logs in',
    tags: ['auth'],
    permission: null,
    body: setupSchema,
    status: 201,
    responses: {
      201: { description: 'admin created and logged in', schema: sessionResponseSchema },
      403: { description: 'wrong setup token' },
      404: { description: 'no setup pending' },
    },
    handler: async ({ body, req, res }: PublicInput<typeof setupSchema>) => {
      const issued = await auth.completeSetup(body, requestMeta(req));
      setSessionCookies(res, ctx.config, issued);
      return { user: await auth.me(issued.principal), csrfToken: issued.csrfToken, expiresAt: issued.expiresAt.toISOString() };
    },
  });

  defineRoute(r, oa, {
    method: 'get',
    path: '/users',
    summary: 'List users within the caller\'s scope',
    tags: ['users'],
    permission: 'user:manage',
    query: userListQuerySchema,
    responses: { 200: { description: 'users', schema: userListSchema } },
    handler: async ({ principal, query }) => ({ items: await auth.listUsers(principal, query) }),
  });

  defineRoute(r, oa, {
    method: 'post',
    path: '/users',
    summary: 'Create a user bound to a region within the caller\'s scope',
    tags: ['users'],
    permission: 'user:manage',
    body: createUserSchema,
    status: 201,
    responses: { 201: { description: 'created', schema: userSchema }, 404: { description: 'scope region unknown (or outside your scope)' }, 409: { description: 'username taken' } },
    handler: ({ principal, body, req }) => auth.createUser(principal, body, requestMeta(req)),
  });

  defineRoute(r, oa, {
    method: 'get',
    path: '/users/:id',
    summary: 'One user (404 when outside the caller\'s scope)',
    tags: ['users'],
    permission: 'user:manage',
    params: idParamSchema,
    responses: { 200: { description: 'the user', schema: userSchema } },
    handler: ({ principal, params }) => auth.getUser(principal, params.id),
  });

  defineRoute(r, oa, {
    method: 'patch',
    path: '/users/:id',
    summary: 'Change a user: name, role, scope, organisation, disabled, password reset',
    tags: ['users'],
    permission: 'user:manage',
    params: idParamSchema,
    body: updateUserSchema,
    responses: { 200: { description: 'updated', schema: userSchema }, 409: { description: 'the last enabled global admin cannot be demoted or disabled' } },
    handler: ({ principal, params, body, req }) => auth.updateUser(principal, params.id, body, requestMeta(req)),
  });

  defineRoute(r, oa, {
    method: 'post',
    path: '/users/:id/unlock',
    summary: 'Lift the login locks on a user at every address (after a flood of wrong passwords) and reset his failure count; audited',
    tags: ['users'],
    permission: 'user:manage',
    params: idParamSchema,
    responses: { 200: { description: 'locks lifted', schema: unlockResultSchema } },
    handler: ({ principal, params, req }) => auth.unlockUser(principal, params.id, requestMeta(req)),
  });

  defineRoute(r, oa, {
    method: 'delete',
    path: '/users/:id',
    summary: 'Delete a user; their sessions end and their API tokens are revoked',
    tags: ['users'],
    permission: 'user:manage',
    params: idParamSchema,
    responses: { 204: { description: 'deleted' }, 409: { description: 'your own account, the last enabled global admin, or a receiver alert policies still name' } },
    handler: async ({ principal, params, req }) => {
      await auth.deleteUser(principal, params.id, requestMeta(req));
      return undefined;
    },
  });

  defineRoute(r, oa, {
    method: 'get',
    path: '/tokens',
    summary: 'API tokens: the caller\'s own; admins also see those bound within their scope (never the secrets)',
    tags: ['tokens'],
    permission: 'token:manage',
    responses: { 200: { description: 'tokens', schema: tokenListSchema } },
    handler: async ({ principal }) => ({ items: await auth.listTokens(principal) }),
  });

  defineRoute(r, oa, {
    method: 'post',
    path: '/tokens',
    summary: 'Create an API token (role ≤ yours, scope within yours, expiring within a year); the secret is shown once',
    tags: ['tokens'],
    permission: 'token:manage',
    body: createTokenSchema,
    status: 201,
    responses: { 201: { description: 'created; `secret` is not retrievable later', schema: createdTokenSchema }, 404: { description: 'scope region unknown (or outside your scope)' } },
    handler: ({ principal, body, req }) => auth.createToken(principal, body, requestMeta(req)),
  });

  defineRoute(r, oa, {
    method: 'delete',
    path: '/tokens/:id',
    summary: 'Revoke an API token; refused from the next request on',
    tags: ['tokens'],
    permission: 'token:manage',
    params: idParamSchema,
    responses: { 204: { description: 'revoked' } },
    handler: async ({ principal, params, req }) => {
      await auth.revokeToken(principal, params.id, requestMeta(req));
      return undefined;
    },
  });

  return r;
}
