import { z } from 'zod';

export const roles = ['admin', 'operator', 'technician', 'planner', 'viewer'] as const;
export const roleSchema = z.enum(roles);
export type Role = z.infer<typeof roleSchema>;

/** Everything a route may do is one of these; a role grants a fixed set of them (see `grants`). */
export const permissions = [
  'region:read',
  'region:write',
  'camera:read',
  'camera:write',
  'camera:import',
  'camera:export',
  'audit:read',
  'status:read',
  'status:check',
  'alert:read',
  'alert:ack',
  // channels, policies and other alerting configuration (admins)
  'alert:manage',
  'report:read',
  // request an exclusion (停电, 施工, 不可抗力) from the online-rate denominator
  'report:exclude',
  // approve or reject another user's exclusion request (admins; planners of a wider scope than the requester)
  'report:approve',
  'user:manage',
  'settings:manage',
  // every signed-in caller: read /auth/me, log out, change the own password
  'account:self',
  // create, list and revoke API tokens (a token never exceeds its creator's role or scope)
  'token:manage',
] as const;
export type Permission = (typeof permissions)[number];

export const grants: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(permissions),
  operator: new Set<Permission>([
    'region:read', 'camera:read', 'camera:write', 'camera:import', 'camera:export', 'audit:read',
    'status:read', 'status:check', 'alert:read', 'alert:ack', 'report:read', 'report:exclude', 'account:self', 'token:manage',
  ]),
  technician: new Set<Permission>(['region:read', 'camera:read', 'status:read', 'status:check', 'alert:read', 'alert:ack', 'account:self']),
  planner: new Set<Permission>(['region:read', 'camera:read', 'camera:export', 'status:read', 'report:read', 'report:exclude', 'report:approve', 'account:self', 'token:manage']),
  viewer: new Set<Permission>(['region:read', 'camera:read', 'status:read', 'account:self']),
};

/** Who is calling. Resolved once per request / socket connection by the auth layer. */
export interface Principal {
  kind: 'user' | 'token' | 'dev';
  userId: string;
  username: string;
  role: Role;
  /** Root of the region subtree the caller is bound to; null = global (admins only). */
  scopeRegionId: string | null;
  /** Technicians: the maintainer organisation whose points they handle. */
  maintainerOrg?: string;
  tokenId?: string;
  sessionId?: string;
}

export function can(principal: Principal, permission: Permission): boolean {
  return grants[principal.role].has(permission);
}

/** The principal used when AUTH_MODE=open (development only): a global admin. */
export const devPrincipal: Principal = {
  kind: 'dev',
  userId: '000000000000000000000000',
  username: 'dev',
  role: 'admin',
  scopeRegionId: null,
};

/** True when every permission of `inner` is also granted to `outer` (a token may not exceed its creator). */
export function roleWithin(inner: Role, outer: Role): boolean {
  for (const p of grants[inner]) if (!grants[outer].has(p)) return false;
  return true;
}

/** Who acted, as audit entries and events name the caller. */
export function actorOf(p: Pick<Principal, 'kind' | 'userId' | 'username'>): { kind: Principal['kind']; userId: string; username: string } {
  return { kind: p.kind, userId: p.userId, username: p.username };
}
