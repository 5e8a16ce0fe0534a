import type { RequestHandler } from 'express';
import type { AppContext } from '../context';
import { devPrincipal } from './principal';

/**
 * Resolves the caller once per request and sets req.principal. PLACEHOLDER until the auth capability
 * lands: in AUTH_MODE=open every request is the development admin; otherwise nobody is authenticated.
 */
export function authenticate(ctx: AppContext): RequestHandler {
  return (req, _res, next) => {
    if (ctx.config.AUTH_MODE === 'open') req.principal = devPrincipal;
    next();
  };
}
