import { z } from 'zod';
import { objectIdSchema } from '../contracts/vocabulary';
import { roleSchema } from '../contracts/access';

/** The server-side rules and query schemas of auth; the shapes the API answers and takes live in contracts/auth.ts. */

export const TOKEN_MAX_LIFETIME_MS = 366 * 24 * 3600 * 1000;

export const userListQuerySchema = z.object({
  role: roleSchema.optional(),
  q: z.string().trim().max(64).optional(),
});

export const idParamSchema = z.object({ id: objectIdSchema });
