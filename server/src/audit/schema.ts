import type { AuditEntity } from '../contracts/audit';

export interface AuditActor {
  userId: string;
  username: string;
}

/** What a capability hands to `AuditService.record`. `before`/`after` are plain JSON objects (or null). */
export interface AuditRecordInput {
  actor: AuditActor;
  /** Verb in `noun.verb` or plain form: 'create', 'update', 'delete', 'move', 'login', 'login.failed', … */
  action: string;
  entity: AuditEntity;
  entityId: string | null;
  before?: unknown;
  after?: unknown;
  /** Defaults to now. */
  at?: Date;
  meta?: Record<string, unknown>;
  /**
   * Regions the entry concerns (a point's region before and after a change). Scoped readers see an entry
   * when one of these lies inside their subtree; entries without regions are visible to global callers only.
   */
  regionIds?: string[];
}
