import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from './logger';

declare module 'express-serve-static-core' {
  interface Request {
    /** Id of this request in the log (`X-Request-Id`), set by `requestContext`. */
    requestId?: string;
    /** The app logger bound to this request's id. */
    log?: Logger;
  }
}

export const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * A caller's (or a proxy's) id is kept when it is sane: short, and only characters that cannot forge log
 * lines or headers. Anything else is replaced by a generated one.
 */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:=+-]{1,128}$/;

export function requestIdOf(incoming: string | undefined): string {
  return incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * First middleware of the app: gives every HTTP request an id (echoed in `X-Request-Id`), a logger bound
 * to it (`req.log`, used by the error handler), and one debug line when it ends (headers included — the
 * logger redacts cookies and Authorization). Refusals (4xx) are logged at info, failures (5xx) at warn;
 * the error handler has already logged a 5xx's cause at error with the same id.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const id = requestIdOf(req.get(REQUEST_ID_HEADER));
    req.requestId = id;
    req.log = logger.child({ reqId: id });
    res.setHeader(REQUEST_ID_HEADER, id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const fields = { method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(ms * 10) / 10, ip: req.ip };
      const log = req.log ?? logger;
      if (res.statusCode >= 500) log.warn('request failed', fields);
      else if (res.statusCode >= 400) log.info('request refused', fields);
      else log.debug('request', { ...fields, headers: req.headers });
    });
    next();
  };
}
