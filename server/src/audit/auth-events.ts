import type { AuthAuditAction, AuthAuditEntry } from '../auth/audit';
import type { AuditEntity } from '../contracts/audit';
import type { AuditRecordInput } from './schema';

const actionNames: Record<AuthAuditAction, { action: string; entity: AuditEntity }> = {
  'auth:login': { action: 'login', entity: 'auth' },
  'auth:login_failed': { action: 'login.failed', entity: 'auth' },
  'auth:locked': { action: 'login.locked', entity: 'auth' },
  'auth:unlocked': { action: 'login.unlocked', entity: 'user' },
  'auth:logout': { action: 'logout', entity: 'auth' },
  'auth:setup': { action: 'setup', entity: 'auth' },
  'auth:password_changed': { action: 'password.change', entity: 'user' },
  'token:create': { action: 'token.create', entity: 'token' },
  'token:use': { action: 'token.use', entity: 'token' },
  'token:revoke': { action: 'token.revoke', entity: 'token' },
  'user:create': { action: 'create', entity: 'user' },
  'user:update': { action: 'update', entity: 'user' },
  'user:delete': { action: 'delete', entity: 'user' },
};

/** Maps an auth event onto the registry's audit trail (`AuditService.record`); never carries secrets. */
export function toAuditRecord(e: AuthAuditEntry): AuditRecordInput {
  const { action, entity } = actionNames[e.action];
  const roleChanged = e.action === 'user:update' && e.details !== undefined && 'role' in e.details;
  return {
    actor: e.actor ? { userId: e.actor.userId, username: e.actor.username } : { userId: '', username: typeof e.details?.username === 'string' ? e.details.username : '' },
    action: roleChanged ? 'role.change' : action,
    entity,
    entityId: e.target?.id ?? null,
    ...(e.details ? { after: e.details } : {}),
    meta: { ...(e.ip ? { ip: e.ip } : {}), ...(e.target?.label ? { label: e.target.label } : {}), ...(e.actor ? { via: e.actor.kind } : {}) },
    ...(e.regionId ? { regionIds: [e.regionId] } : {}),
  };
}
