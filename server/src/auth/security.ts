import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler } from 'express';
import helmet from 'helmet';
import type { Config } from '../config';
import { AppError } from '../lib/errors';

const SAFE_HOST = /^[A-Za-z0-9.\-:[\]]{1,255}$/;

/**
 * helmet with a CSP the console can live with: scripts and styles from the server itself, data:/blob:
 * images (chart exports, inline icons), WebSocket back to the same host. `style-src-attr 'unsafe-inline'`
 * is there because ECharts writes tooltips as HTML strings with style attributes; it allows no script.
 */
export function securityHeaders(config: Config, extraImgSrc: string[] = []): RequestHandler {
  const wsSelf = (req: IncomingMessage): string => {
    const host = req.headers.host ?? '';
    return SAFE_HOST.test(host) ? `ws://${host} wss://${host}` : "'self'";
  };
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        styleSrcAttr: ["'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:', ...extraImgSrc],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", wsSelf],
        workerSrc: ["'self'", 'blob:'],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(config.COOKIE_SECURE ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    // HSTS only makes sense when the deployment is HTTPS, which COOKIE_SECURE declares.
    strictTransportSecurity: config.COOKIE_SECURE ? { maxAge: 15_552_000, includeSubDomains: false } : false,
    crossOriginEmbedderPolicy: false,
  });
}

const CORS_METHODS = 'GET,HEAD,POST,PUT,PATCH,DELETE';
const CORS_HEADERS = 'Content-Type,Authorization,X-CSRF-Token';

/** CORS allow-list from CORS_ORIGINS (default none: the console is same-origin and needs no CORS). */
export function corsAllowList(config: Config): RequestHandler {
  const allowed = new Set(config.CORS_ORIGINS);
  return (req, res, next) => {
    const origin = req.headers.origin;
    res.vary('Origin');
    if (origin && allowed.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Expose-Headers', 'Retry-After');
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
        res.setHeader('Access-Control-Allow-Methods', CORS_METHODS);
        res.setHeader('Access-Control-Allow-Headers', CORS_HEADERS);
        res.setHeader('Access-Control-Max-Age', '600');
        res.status(204).end();
        return;
      }
    }
    next();
  };
}

function ownOrigin(req: Request): string | null {
  const host = req.headers.host;
  return host ? `${req.protocol}://${host}` : null;
}

/** True when a browser says this request comes from a page that is neither us nor an allowed origin. */
export function isCrossSiteWrite(req: Request, config: Config): boolean {
  const origin = req.headers.origin;
  if (origin && origin !== 'null') {
    if (origin === ownOrigin(req) || config.CORS_ORIGINS.includes(origin)) return false;
    return true;
  }
  if (origin === 'null') return true;
  // No Origin (older browsers on same-origin requests, non-browser clients): Sec-Fetch-Site still tells.
  return req.headers['sec-fetch-site'] === 'cross-site';
}

export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function assertNotCrossSite(req: Request, config: Config): void {
  if (!SAFE_METHODS.has(req.method) && isCrossSiteWrite(req, config)) {
    throw new AppError('forbidden', 'cross-site request refused (Origin not allowed)');
  }
}
