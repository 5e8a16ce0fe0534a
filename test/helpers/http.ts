/**
 * The one HTTP client of the tests: real requests to a booted app, JSON in and out. Paths are relative to
 * /api/v1 unless they start with /api/, /healthz or /readyz (or are absolute URLs).
 *
 *   const api = anonymous(app);                         // no credentials (AUTH_MODE=open apps, public routes)
 *   const res = await api.post('/cameras', {...});
 *   const admin = await loginAs(app, bootAdmin);        // auth.ts: session cookie + CSRF header
 *   const integration = bearerClient(app, token);       // API token
 *
 * The target is anything with a baseUrl: an app booted in-process (app.ts) or a child process's URL.
 */
export interface HttpTarget {
  baseUrl: string;
}

/** What `res.json()` gives: loosely typed on purpose, tests assert on it. */
export type Json = ReturnType<typeof JSON.parse>;

/** The `items` of a list response body (`{ items, ... }`). */
export function items<T>(body: unknown): T[] {
  return (body as { items: T[] }).items;
}

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

/** The URL of `path` on the target (see the path rule above). */
export function apiUrl(app: HttpTarget, path: string): string {
  if (/^https?:/.test(path)) return path;
  return app.baseUrl + (path.startsWith('/api/') || path.startsWith('/healthz') || path.startsWith('/readyz') ? path : `/api/v1${path}`);
}

/** A client sending the given credentials with every request (anonymous, bearerClient, auth.ts loginAs). */
export function apiClient(app: HttpTarget, auth: { cookie?: string; csrfToken?: string; bearer?: string }): ApiClient {
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
    const res = await fetch(apiUrl(app, path), { method: method.toUpperCase(), headers, ...(payload !== undefined ? { body: payload } : {}) });
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
export function anonymous(app: HttpTarget): ApiClient {
  return apiClient(app, {});
}

/** Requests with `Authorization: Bearer <token>`. */
export function bearerClient(app: HttpTarget, token: string): ApiClient {
  return apiClient(app, { bearer: token });
}

