import { authOf } from '../../server/src/auth/instance';
import type { Principal, Role } from '../../server/src/contracts/access';
import { TEST_PASSWORD, type TestApp } from './app';
import { apiClient, apiUrl, type ApiClient } from './http';

/**
 * Users, the one login and API tokens for tests. Typical use:
 *
 *   const app = await bootAuthApp();                   // app.ts: auth required, first admin bootAdmin
 *   const op = await createUser(app, { role: 'operator', scopeRegionId: streetId });
 *   const client = await loginAs(app, op);             // cookie session + CSRF header handled
 *   const res = await client.post('/cameras', {...});  // http.ts: paths are relative to /api/v1
 *   expect(res.status).to.equal(201);
 *
 *   const token = await tokenFor(app, op);             // API token (Bearer) with op's role and scope
 *   const integration = bearerClient(app, token);
 */

export interface TestUser {
  id: string;
  username: string;
  password: string;
  role: Role;
  scopeRegionId: string | null;
  maintainerOrg: string | null;
}

/** A global admin used by the helpers to create fixtures without going through HTTP. */
const fixturePrincipal: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'test-fixture', role: 'admin', scopeRegionId: null };

let seq = 0;

/** Creates a user directly through the auth service (no HTTP, no audit noise from a fake login). */
export async function createUser(
  app: TestApp,
  opts: { role: Role; scopeRegionId: string | null; maintainerOrg?: string; username?: string; password?: string; displayName?: string },
): Promise<TestUser> {
  seq += 1;
  const username = opts.username ?? `${opts.role}-${seq}-${Math.random().toString(36).slice(2, 6)}`;
  const password = opts.password ?? TEST_PASSWORD;
  const maintainerOrg = opts.maintainerOrg ?? (opts.role === 'technician' ? 'test-maintainer' : undefined);
  const view = await authOf(app.ctx).createUser(
    fixturePrincipal,
    {
      username,
      role: opts.role,
      scopeRegionId: opts.scopeRegionId,
      password,
      ...(opts.displayName ? { displayName: opts.displayName } : {}),
      ...(maintainerOrg ? { maintainerOrg } : {}),
    },
    { ip: null, userAgent: 'test' },
  );
  return { id: view.id, username, password, role: view.role, scopeRegionId: view.scopeRegionId, maintainerOrg: view.maintainerOrg };
}

/** Logs in over HTTP and returns a client carrying the session cookie and the CSRF header. */
export async function loginAs(app: TestApp, user: { username: string; password: string }): Promise<ApiClient> {
  const res = await fetch(apiUrl(app, '/auth/login'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user.username, password: user.password }),
  });
  if (res.status !== 200) throw new Error(`login as ${user.username} failed: ${res.status} ${await res.text()}`);
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]);
  const csrf = cookies.find((c) => c.startsWith('vigil_csrf='))?.slice('vigil_csrf='.length);
  return apiClient(app, { cookie: cookies.join('; '), ...(csrf ? { csrfToken: decodeURIComponent(csrf) } : {}) });
}

/**
 * An API token secret for `user` (created through the service, so any role may get one here — the HTTP
 * route itself requires token:manage). Role and scope default to the user's own.
 */
export async function tokenFor(
  app: TestApp,
  user: TestUser,
  opts: { role?: Role; scopeRegionId?: string | null; name?: string; expiresInMs?: number } = {},
): Promise<string> {
  const principal: Principal = {
    kind: 'user',
    userId: user.id,
    username: user.username,
    role: user.role,
    scopeRegionId: user.scopeRegionId,
    ...(user.maintainerOrg ? { maintainerOrg: user.maintainerOrg } : {}),
  };
  const created = await authOf(app.ctx).createToken(
    principal,
    {
      name: opts.name ?? `test token ${++seq}`,
      ...(opts.role ? { role: opts.role } : {}),
      ...(opts.scopeRegionId !== undefined ? { scopeRegionId: opts.scopeRegionId } : {}),
      expiresAt: new Date(Date.now() + (opts.expiresInMs ?? 24 * 3600_000)).toISOString(),
    },
    { ip: null, userAgent: 'test' },
  );
  return created.secret;
}
