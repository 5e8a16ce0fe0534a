import type { IncomingHttpHeaders } from 'node:http';
import type { AppContext } from '../context';
import { AppError } from '../lib/errors';
import { parseCookies, SESSION_COOKIE } from './cookies';
import { authOf } from './instance';
import { can, devPrincipal, type Principal } from '../contracts/access';
import { regionInScope, type RegionIndex } from './scope';
import type { AuthService } from './service';

/** The part of a socket.io Socket the middleware needs; any `Socket<…, SocketData>` fits. */
export interface AuthSocketLike {
  handshake: { headers: IncomingHttpHeaders; auth: Record<string, unknown>; address: string };
  data: { principal?: Principal };
  readonly connected: boolean;
  disconnect(close?: boolean): unknown;
  once(event: 'disconnect', listener: () => void): unknown;
}

/** How often sockets whose credential's known expiry has passed are looked at (the 1 s promise of the README). */
const EXPIRY_SWEEP_MS = 500;

interface Tracked {
  socket: AuthSocketLike;
  principal: Principal;
  /** The credential's expiry as last read; past it the store is asked again (a used session slides). */
  expiresAt: number;
  checking: boolean;
  admittedAt: number;
}

function sameAccess(a: Principal, b: Principal): boolean {
  return a.userId === b.userId && a.role === b.role && a.scopeRegionId === b.scopeRegionId && (a.maintainerOrg ?? null) === (b.maintainerOrg ?? null);
}

/**
 * The open sockets of each user, following their session or token: the auth service's access changes
 * (logout, password change or reset, disable, role/scope change, deletion, token revocation) re-check that
 * user's sockets at once; an expiry sweep re-checks sockets whose credential's known end has passed; every
 * LIVE_SOCKET_RECHECK_SEC all of them are re-read (changes made through another instance). A socket whose
 * credential ended, or now grants other access, is disconnected: the console reconnects and is authenticated
 * afresh (new role and scope, or refused). Its rooms are left by the namespace's own disconnect handling.
 */
class SocketSessions {
  private readonly byUser = new Map<string, Set<Tracked>>();
  private readonly timer: NodeJS.Timeout;
  private lastFullRecheck = Date.now();

  constructor(
    private readonly ctx: AppContext,
    private readonly auth: AuthService,
  ) {
    const unsubscribe = auth.accessChanges.subscribe((c) => this.recheckUser(c.userId));
    this.timer = setInterval(() => this.sweep(), EXPIRY_SWEEP_MS);
    this.timer.unref();
    ctx.onStop(() => {
      unsubscribe();
      clearInterval(this.timer);
    });
  }

  /** Registers an authenticated socket; false when its user already holds LIVE_SOCKETS_PER_USER sockets. */
  admit(socket: AuthSocketLike, principal: Principal, expiresAt: Date): boolean {
    let set = this.byUser.get(principal.userId);
    if (set && set.size >= this.ctx.config.LIVE_SOCKETS_PER_USER) return false;
    if (!set) {
      set = new Set();
      this.byUser.set(principal.userId, set);
    }
    const tracked: Tracked = { socket, principal, expiresAt: expiresAt.getTime(), checking: false, admittedAt: Date.now() };
    set.add(tracked);
    socket.once('disconnect', () => this.forget(tracked));
    return true;
  }

  private forget(t: Tracked): void {
    const set = this.byUser.get(t.principal.userId);
    if (!set) return;
    set.delete(t);
    if (set.size === 0) this.byUser.delete(t.principal.userId);
  }

  private recheckUser(userId: string): void {
    for (const t of this.byUser.get(userId) ?? []) this.recheck(t);
  }

  private sweep(): void {
    const now = Date.now();
    const full = now - this.lastFullRecheck >= this.ctx.config.LIVE_SOCKET_RECHECK_SEC * 1000;
    if (full) this.lastFullRecheck = now;
    for (const set of [...this.byUser.values()]) {
      for (const t of set) {
        // a handshake whose client went away before the connection completed never reports 'disconnect'
        if (!t.socket.connected && now - t.admittedAt > 5000) this.forget(t);
        else if (full || t.expiresAt <= now) this.recheck(t);
      }
    }
  }

  private recheck(t: Tracked): void {
    if (t.checking) {
      // a change arrived while a check is in flight: that check may have read the old state
      t.expiresAt = 0;
      return;
    }
    t.checking = true;
    this.auth
      .currentAccess(t.principal)
      .then(
        (access) => {
          if (access && sameAccess(access.principal, t.principal)) {
            if (t.expiresAt !== 0) t.expiresAt = access.expiresAt.getTime();
            return;
          }
          this.forget(t);
          if (t.socket.connected) t.socket.disconnect();
        },
        (err: unknown) => this.ctx.logger.warn('socket credential re-check failed; retried by the sweep', { err }),
      )
      .finally(() => {
        t.checking = false;
      });
  }
}

const watchers = new WeakMap<AppContext, SocketSessions>();

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
    const auth = authOf(ctx);
    let sessions = watchers.get(ctx);
    if (!sessions) {
      sessions = new SocketSessions(ctx, auth);
      watchers.set(ctx, sessions);
    }
    const tracker = sessions;
    const run = async (): Promise<{ principal: Principal; expiresAt: Date } | null> => {
      const meta = { ip: socket.handshake.address || null, userAgent: socket.handshake.headers['user-agent'] ?? null };
      const token = socket.handshake.auth.token;
      if (typeof token === 'string' && token) {
        const principal = await auth.resolveBearer(token.replace(/^Bearer\s+/i, ''), meta);
        return principal ? auth.currentAccess(principal) : null;
      }
      if (!sameOriginOrAllowed(socket.handshake.headers, ctx.config.CORS_ORIGINS)) return null;
      const cookie = parseCookies(socket.handshake.headers.cookie)[SESSION_COOKIE];
      if (!cookie) return null;
      const s = await auth.resolveSession(cookie);
      return s ? { principal: s.principal, expiresAt: s.expiresAt } : null;
    };
    run().then(
      (access) => {
        if (!access) return next(new Error('unauthenticated'));
        if (!tracker.admit(socket, access.principal, access.expiresAt)) {
          return next(new Error(`too many connections: at most ${ctx.config.LIVE_SOCKETS_PER_USER} per user`));
        }
        socket.data.principal = access.principal;
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
