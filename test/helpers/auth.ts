import { authOf } from '../../server/src/auth/instance';
import type { Principal, Role } from '../../server/src/contracts/access';
import { bootApp, type TestApp } from './app';

/**
 * Test helpers for authenticated requests. Typical use:
 *
 *   const app = await bootApp();                       // AUTH_MODE=required is the default
 *   const op = await createUser(app, { role: 'operator', scopeRegionId: streetId });
 *   const client = await loginAs(app, op);             // cookie session + CSRF header handled
 *   const res = await client.post('/cameras', {...});  // paths are relative to /api/v1
 *   expect(res.status).to.equal(201);
 *
 *   const token = await tokenFor(app, op);             // API token (Bearer) with op's role and scope
 *   const integration = bearerClient(app, token);
 */

/** What `res.json()` gives: loosely typed on purpose, tests assert on it. */
export type Json = ReturnType<typeof JSON.parse>;

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Json;
}

export interface ApiClient {
  get(path: string): Promise<ApiResponse>;
  post(path: string, body?: unknown): Promise<ApiResponse>;
  put(path: string, body?: unknown): Promise<ApiResponse>;
  patch(path: string, body?: unknown): Promise<ApiResponse>;
  delete(path: string): Promise<ApiResponse>;
  /** Any method; `init.headers` are added to the client's own. A string/Buffer/FormData body is sent as is. */
  request(method: string, path: string, body?: unknown, init?: { headers?: Record<string, string> }): Promise<ApiResponse>;
  /** socket.io-client options that authenticate like this client (cookie header or auth.token). */
  socketOptions(): { extraHeaders?: Record<string, string>; auth?: Record<string, string> };
  /** Cookie header (sessions) or undefined. */
  readonly cookie: string | undefined;
  readonly csrfToken: string | undefined;
}

export interface TestUser {
  id: string;
  username: string;
  password: string;
  role: Role;
  scopeRegionId: string | null;
  maintainerOrg: string | null;
}

export const TEST_PASSWORD = 'Test-password-0123';

/** A global admin used by the helpers to create fixtures without going through HTTP. */
const fixturePrincipal: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'test-fixture', role: 'admin', scopeRegionId: null };

let seq = 0;

/** Boots the app with auth required and a first admin `admin` / TEST_PASSWORD. */
export async function bootAuthApp(env: Record<string, string> = {}): Promise<TestApp> {
  return bootApp({ AUTH_MODE: 'required', ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: TEST_PASSWORD, ...env });
}

/** The first admin created by bootAuthApp. */
export const bootAdmin = { username: 'admin', password: TEST_PASSWORD } as const;

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

function url(app: TestApp, path: string): string {
  if (/^https?:/.test(path)) return path;
  return app.baseUrl + (path.startsWith('/api/') || path.startsWith('/healthz') || path.startsWith('/readyz') ? path : `/api/v1${path}`);
}

function makeClient(app: TestApp, auth: { cookie?: string; csrfToken?: string; bearer?: string }): ApiClient {
  const request = async (method: string, path: string, body?: unknown, init?: { headers?: Record<string, string> }): Promise<ApiResponse> => {
    const headers: Record<string, string> = {};
    if (auth.cookie) headers.cookie = auth.cookie;
    if (auth.csrfToken && !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase())) headers['x-csrf-token'] = auth.csrfToken;
    if (auth.bearer) headers.authorization = `Bearer ${auth.bearer}`;
    let payload: string | Buffer | FormData | undefined;
    // FormData: fetch sets the multipart Content-Type with its boundary itself.
    if (typeof body === 'string' || Buffer.isBuffer(body) || body instanceof FormData) payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    Object.assign(headers, init?.headers);
    const res = await fetch(url(app, path), { method: method.toUpperCase(), headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.text();
    let parsed: Json = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed };
  };
  return {
    request,
    get: (p) => request('GET', p),
    post: (p, b) => request('POST', p, b),
    put: (p, b) => request('PUT', p, b),
    patch: (p, b) => request('PATCH', p, b),
    delete: (p) => request('DELETE', p),
    socketOptions: () => (auth.bearer ? { auth: { token: auth.bearer } } : auth.cookie ? { extraHeaders: { cookie: auth.cookie } } : {}),
    cookie: auth.cookie,
    csrfToken: auth.csrfToken,
  };
}

/** No credentials at all. */
export function anonymous(app: TestApp): ApiClient {
  return makeClient(app, {});
}

/** Requests with `Authorization: Bearer <token>`. */
export function bearerClient(app: TestApp, token: string): ApiClient {
  return makeClient(app, { bearer: token });
}

/** Logs in over HTTP and returns a client carrying the session cookie and the CSRF header. */
export async function loginAs(app: TestApp, user: { username: string; password: string }): Promise<ApiClient> {
  const res = await fetch(url(app, '/auth/login'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user.username, password: user.password }),
  });
  if (res.status !== 200) throw new Error(`login as ${user.username} failed: ${res.status} ${await res.text()}`);
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]);
  const csrf = cookies.find((c) => c.startsWith('vigil_csrf='))?.slice('vigil_csrf='.length);
  return makeClient(app, { cookie: cookies.join('; '), ...(csrf ? { csrfToken: decodeURIComponent(csrf) } : {}) });
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
