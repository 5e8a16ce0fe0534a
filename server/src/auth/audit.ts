import type { Principal } from '../contracts/access';

export type AuthAuditAction =
  | 'auth:login'
  | 'auth:login_failed'
  | 'auth:locked'
  | 'auth:unlocked'
  | 'auth:logout'
  | 'auth:setup'
  | 'auth:password_changed'
  | 'token:create'
  | 'token:use'
  | 'token:revoke'
  | 'user:create'
  | 'user:update'
  | 'user:delete';

/** One security-relevant event; the wiring in server.ts maps it onto the registry's audit service. */
export interface AuthAuditEntry {
  action: AuthAuditAction;
  /** Who acted; null when nobody is authenticated (a failed login). */
  actor: Pick<Principal, 'kind' | 'userId' | 'username'> | null;
  target?: { type: 'user' | 'token' | 'session'; id: string; label?: string };
  /** Region the target is bound to, so scoped auditors see entries about their subtree. */
  regionId?: string | null;
  ip?: string | null;
  details?: Record<string, unknown>;
}

export type AuditSink = (entry: AuthAuditEntry) => Promise<void> | void;
