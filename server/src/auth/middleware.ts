import type { Request, RequestHandler } from 'express';
import type { AppContext } from '../context';
import { AppError } from '../lib/errors';
import { CSRF_HEADER, parseCookies, SESSION_COOKIE, setSessionCookies } from './cookies';
import { safeEqualText } from './crypto';
import { authOf } from './instance';
import { devPrincipal } from '../contracts/access';
import { assertNotCrossSite, SAFE_METHODS } from './security';
import type { RequestMeta } from './service';

/** Public writes that never use the session (paths relative to /api/v1). */
const ANONYMOUS_WRITES = new Set(['/auth/login', '/auth/setup']);

export function requestMeta(req: Request): RequestMeta {
  const ua = req.headers['user-agent'];
  return { ip: req.ip ?? req.socket.remoteAddress ?? null, userAgent: typeof ua === 'string' ? ua : null };
}

/** `Authorization: Bearer <token>` → the token, else undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m ? m[1] : undefined;
}

/**
 * Resolves the caller once per request and sets req.principal: a bearer API token when the request
 * carries `Authorization`, else the `vigil_session` cookie. Unknown, expired or revoked credentials leave
 * the request anonymous (routes then answer 401).
 *
 * CSRF (cookie-authenticated writes only; bearer requests cannot be forged by a browser): a session-bound
 * double submit. The CSRF token is an HMAC of the secret session cookie value, handed to the console in
 * the readable `vigil_csrf` cookie (and the login response); every unsafe request must echo it in
 * `X-CSRF-Token`. A cookie planted by a sibling subdomain does not help an attacker, since the token must
 * match the session. Independently, any unsafe request whose Origin / Sec-Fetch-Site says "another site"
 * (not in CORS_ORIGINS) is refused, which also covers login CSRF.
 */
export function authenticate(ctx: AppContext): RequestHandler {
  return async (req, res, next) => {
    if (ctx.config.AUTH_MODE === 'open') {
      // everyone is the dev admin here, so a foreign page must not be able to write through a developer's browser
      assertNotCrossSite(req, ctx.config);
      req.principal = devPrincipal;
      next();
      return;
    }
    const auth = authOf(ctx);
    const bearer = bearerOf(req.headers.authorization);
    if (bearer !== undefined) {
      const p = await auth.resolveBearer(bearer, requestMeta(req));
      if (p) req.principal = p;
      next();
      return;
    }
    assertNotCrossSite(req, ctx.config);
    const cookie = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    if (cookie) {
      const s = await auth.resolveSession(cookie);
      if (s) {
        if (!SAFE_METHODS.has(req.method)) {
          const header = req.headers[CSRF_HEADER];
          const value = typeof header === 'string' ? header : '';
          if (!value || value.length > 200 || !safeEqualText(value, s.csrfToken)) {
            // Logging in (again) from a browser that still holds a session needs no CSRF token: it acts anonymously.
            if (ANONYMOUS_WRITES.has(req.path)) {
              next();
              return;
            }
            throw new AppError('forbidden', 'CSRF token missing or invalid (send the vigil_csrf cookie value in X-CSRF-Token)');
          }
        }
        req.principal = s.principal;
        if (s.renewedUntil) setSessionCookies(res, ctx.config, { sessionToken: cookie, csrfToken: s.csrfToken, expiresAt: s.renewedUntil });
      }
    }
    next();
  };
}
