import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import type { ErrorBody, ErrorCode, FieldIssue } from '../contracts/errors';
import type { Logger } from './logger';

// the error envelope is part of the API contract (contracts/errors.ts); the server reads the names here
export type { ErrorBody, ErrorCode, FieldIssue };

const statusOf: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** The one error type of Vigil. Its message and details are safe to show to a client. */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = statusOf[code];
  }

  static notFound(what: string): AppError {
    return new AppError('not_found', `${what} not found`);
  }

  static fromZod(err: z.ZodError, where = 'body', code: ErrorCode = 'validation_failed'): AppError {
    const details: FieldIssue[] = err.issues.map((i) => ({
      field: i.path.length ? i.path.join('.') : where,
      message: i.message,
    }));
    const first = details[0];
    const summary = first ? `${first.field}: ${first.message}` : 'invalid input';
    return new AppError(code, `invalid ${where}: ${summary}`, details);
  }
}

export function errorBody(err: AppError): ErrorBody {
  return { error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) } };
}

interface BodyParserError {
  type?: string;
  status?: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === 'object' && err !== null && 'type' in err && 'status' in err;
}

/** Maps anything thrown into `{ error: { code, message, details? } }`; never leaks raw exception text. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let appErr: AppError;
    if (err instanceof AppError) appErr = err;
    else if (err instanceof z.ZodError) appErr = AppError.fromZod(err);
    else if (isBodyParserError(err) && err.type === 'entity.too.large') appErr = new AppError('payload_too_large', 'request body too large');
    else if (isBodyParserError(err) && err.type === 'entity.parse.failed') appErr = new AppError('bad_request', 'malformed JSON body');
    else if (isBodyParserError(err) && err.type === 'encoding.unsupported') appErr = new AppError('unsupported_media_type', 'unsupported body encoding');
    else if (isBodyParserError(err) && typeof err.status === 'number' && err.status >= 400 && err.status < 500) appErr = new AppError('bad_request', 'bad request');
    else {
      (req.log ?? logger).error('unhandled error', { method: req.method, path: req.path, err });
      appErr = new AppError('internal', 'internal error');
    }
    if (res.headersSent) return;
    res.status(appErr.status).json(errorBody(appErr));
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `no route ${req.method} ${req.path}`));
};
