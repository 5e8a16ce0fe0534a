import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import { can, type Principal } from '../contracts/access';
import { AppError } from './errors';
import type { OpenApiRegistry, OperationSpec } from './openapi';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the auth middleware when the request carries a valid session or token. */
    principal?: Principal;
  }
}

type Infer<T> = T extends z.ZodType ? z.infer<T> : undefined;

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  req: Request;
  res: Response;
}

export interface RouteDef<
  PS extends z.ZodType | undefined,
  QS extends z.ZodType | undefined,
  BS extends z.ZodType | undefined,
> extends Omit<OperationSpec, 'params' | 'query' | 'body'> {
  params?: PS;
  query?: QS;
  body?: BS;
  /** Status code for a successful response (default 200). */
  status?: number;
  /**
   * Returns the JSON body; `undefined` with status 204 sends no body. A handler that writes the response
   * itself (a download) returns `RESPONDED`.
   */
  handler: (input: RouteInput<Infer<PS>, Infer<QS>, Infer<BS>> & { principal: Principal }) => Promise<unknown>;
}

export type PublicRouteDef<
  PS extends z.ZodType | undefined,
  QS extends z.ZodType | undefined,
  BS extends z.ZodType | undefined,
> = Omit<RouteDef<PS, QS, BS>, 'permission' | 'handler'> & {
  permission: null;
  handler: (input: RouteInput<Infer<PS>, Infer<QS>, Infer<BS>> & { principal: Principal | undefined }) => Promise<unknown>;
};

export const RESPONDED = Symbol('responded');

function parsePart(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const r = schema.safeParse(value);
  if (!r.success) throw AppError.fromZod(r.error, where, where === 'body' ? 'validation_failed' : 'bad_request');
  return r.data;
}

/**
 * Declares one REST operation: registers it in the OpenAPI document, checks authentication and the
 * permission, parses params/query/body with zod, and sends what the handler returns. Routes stay thin.
 */
export function defineRoute<
  PS extends z.ZodType | undefined = undefined,
  QS extends z.ZodType | undefined = undefined,
  BS extends z.ZodType | undefined = undefined,
>(router: Router, openapi: OpenApiRegistry, def: RouteDef<PS, QS, BS> | PublicRouteDef<PS, QS, BS>): void {
  const { handler, status = 200, params, query, body, ...spec } = def;
  openapi.add({ ...spec, params, query, body });
  router[def.method](def.path, async (req: Request, res: Response) => {
    const principal = req.principal;
    if (def.permission !== null) {
      if (!principal) throw new AppError('unauthenticated', 'authentication required');
      if (!can(principal, def.permission)) throw new AppError('forbidden', `role ${principal.role} may not ${def.permission}`);
    }
    if (body && !def.bodyContentType && req.method !== 'GET' && !req.is('application/json')) {
      throw new AppError('unsupported_media_type', 'Content-Type must be application/json');
    }
    const input = {
      params: parsePart(params, req.params, 'path'),
      query: parsePart(query, req.query, 'query'),
      body: parsePart(body, req.body, 'body'),
      req,
      res,
      principal,
    };
    const result = await (handler as (i: typeof input) => Promise<unknown>)(input);
    if (result === RESPONDED || res.headersSent) return;
    if (result === undefined) res.status(status === 200 ? 204 : status).end();
    else res.status(status).json(result);
  });
}

export function etagOf(version: number): string {
  return `"v${version}"`;
}

/** If-Match: `"v3"`, `W/"v3"`, `"3"` or `3` → 3; absent or `*` → undefined. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*' || header.trim() === '') return undefined;
  const m = /^\s*(?:W\/)?"?v?(\d{1,12})"?\s*$/.exec(header);
  if (!m) throw new AppError('bad_request', 'If-Match must be an ETag returned by this API, e.g. "v3"', [{ field: 'If-Match', message: 'not an ETag of this API' }]);
  return Number(m[1]);
}
