import { z } from 'zod';

/** The audit log as `GET /api/v1/audit` answers it. Browser-safe (shared with the console). */

export const auditEntities = ['camera', 'region', 'user', 'auth', 'token', 'settings', 'alert', 'channel', 'import', 'system', 'report'] as const;
export const auditEntitySchema = z.enum(auditEntities);
export type AuditEntity = z.infer<typeof auditEntitySchema>;

export const auditEntrySchema = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.object({ userId: z.string(), username: z.string() }),
  action: z.string(),
  entity: auditEntitySchema,
  entityId: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  meta: z.record(z.string(), z.unknown()),
  regionIds: z.array(z.string()),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const auditQuerySchema = z.strictObject({
  entity: auditEntitySchema.optional(),
  entityId: z.string().min(1).max(64).optional(),
  /** userId or username of the actor. */
  actor: z.string().min(1).max(64).optional(),
  action: z.string().min(1).max(64).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(256).optional(),
});
export type AuditQuery = z.infer<typeof auditQuerySchema>;

export const auditPageSchema = z.object({ items: z.array(auditEntrySchema), nextCursor: z.string().nullable() });
export type AuditPage = z.infer<typeof auditPageSchema>;
