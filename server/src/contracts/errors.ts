import { z } from 'zod';

/**
 * Every REST error answers `{ error: { code, message, details? } }` with the status of its code; a
 * validation error's details name each field. Browser-safe (shared with the console).
 */

export const errorCodes = [
  'bad_request',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'validation_failed',
  'rate_limited',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

/** One refused field: `field` is the dotted path ('endpoint.host'), or where the problem was ('body', 'query'). */
export interface FieldIssue {
  field: string;
  message: string;
}

/** The error body of every REST error (the OpenAPI document's `Error` component is generated from it). */
export const errorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.enum(errorCodes),
    message: z.string(),
    details: z.unknown().optional().describe('what exactly was refused; a validation error lists { field, message } per field'),
  }),
});

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}
