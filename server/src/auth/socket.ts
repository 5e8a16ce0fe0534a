import type { IncomingHttpHeaders } from 'node:http';
import type { AppContext } from '../context';
import { AppError } from '../lib/errors';
import { parseCookies, SESSION_COOKIE } from './cookies';
import { authOf } from './instance';
import { can, devPrincipal, type Principal } from '../contracts/access';
import { regionInScope, type RegionIndex } from './scope';

/** The part of a socket.io Socket the middleware needs; any `Socket<…, SocketData>` fits. */
export interface AuthSocketLike {
  handshake: { headers: IncomingHttpHeaders; auth: Record<string, unknown>; address: string };
  data: { principal?: Principal };
}

function sameOriginOrAllowed(headers: IncomingHttpHeaders, allowed: string[]): boolean {
  const origin = headers.origin;
  if (!origin) return true;
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === headers.host;
  } catch {
    return false;
  }
}

/**
 * `io.of('/live').use(socketAuth(ctx))`: authenticates once at connection, from `auth.token` (an API
 * token, `vgl_…`) or else the vigil_session cookie of the handshake, and sets `socket.data.principal`.
 * A cookie handshake from a foreign Origin is refused (cross-site WebSocket hijacking). Rejects with
 * `Error('unauthenticated')`; the client sees it as `connect_error` with that message.
 */
export function socketAuth(ctx: AppContext): (socket: AuthSocketLike, next: (err?: Error) => void) => void {
  return (socket, next) => {
    if (ctx.config.AUTH_MODE === 'open') {
      socket.data.principal = devPrincipal;
      next();
      return;
    }
    const run = async (): Promise<Principal | null> => {
      const auth = authOf(ctx);
      const meta = { ip: socket.handshake.address || null, userAgent: socket.handshake.headers['user-agent'] ?? null };
      const token = socket.handshake.auth.token;
      if (typeof token === 'string' && token) return auth.resolveBearer(token.replace(/^Bearer\s+/i, ''), meta);
      if (!sameOriginOrAllowed(socket.handshake.headers, ctx.config.CORS_ORIGINS)) return null;
      const cookie = parseCookies(socket.handshake.headers.cookie)[SESSION_COOKIE];
      if (!cookie) return null;
      return (await auth.resolveSession(cookie))?.principal ?? null;
    };
    run().then(
      (principal) => {
        if (!principal) return next(new Error('unauthenticated'));
        socket.data.principal = principal;
        next();
      },
      (err: unknown) => {
        ctx.logger.warn('socket authentication failed', { err });
        next(new Error('unauthenticated'));
      },
    );
  };
}

/**
 * May this caller subscribe to the live room of `regionId` (its subtree)? Only regions inside the caller's
 * own subtree: an ancestor's room would carry other subtrees' unshared points. Throws AppError
 * `not_found` (out of scope or unknown: existence not revealed) or `forbidden` (role lacks status:read).
 */
export function assertCanSubscribe(principal: Principal | undefined, regionId: string, regions: RegionIndex): void {
  if (!principal) throw new AppError('unauthenticated', 'authentication required');
  if (regions.ancestorsOrSelf(regionId).length === 0 || !regionInScope(principal, regions, regionId)) {
    throw AppError.notFound('region');
  }
  if (!can(principal, 'status:read')) throw new AppError('forbidden', `role ${principal.role} may not status:read`);
}
