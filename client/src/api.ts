import { errorCodes, type ErrorBody, type ErrorCode, type FieldIssue } from '@contracts/errors';
import { i18n } from './i18n';

/**
 * Thin fetch wrapper: JSON in/out, the CSRF double-submit header on writes, errors as ApiError. Callers name
 * the answer's type from `@contracts/*` (inferred from the zod schemas the server validates and documents with).
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function cookie(name: string): string | null {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return null;
}

/** Called when any request answers 401, so the shell can show the login page. */
let onUnauthenticated: () => void = () => undefined;
export function setUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}
export function notifyUnauthenticated(): void {
  onUnauthenticated();
}

export async function api<T>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set('Accept', 'application/json');
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = cookie('vigil_csrf');
    if (csrf) headers.set('X-CSRF-Token', csrf);
  }
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers.set('Content-Type', 'application/json');
    payload = JSON.stringify(body);
  }
  const res = await fetch(`/api/v1${path}`, { ...init, method, headers, body: payload, credentials: 'same-origin' });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as Partial<ErrorBody> | undefined)?.error;
    if (res.status === 401 && !path.startsWith('/auth/login')) onUnauthenticated();
    const code = err?.code ?? 'http_' + String(res.status);
    throw new ApiError(res.status, code, refusalText(code, err?.message ?? res.statusText), err?.details);
  }
  return json as T;
}

/**
 * The server words its refusals in English; an operator reading Chinese gets the refusal's kind first, in
 * Chinese, by its code, then the server's words (names, fields and limits in them stay exact).
 */
function refusalText(code: string, message: string): string {
  if (i18n.global.locale.value !== 'zh-CN' || !(errorCodes as readonly string[]).includes(code)) return message;
  return `${i18n.global.t(`errorCode.${code as ErrorCode}`)}：${message}`;
}

/** The refused fields of a validation error (422), as the server's error envelope names them. */
export function fieldIssues(err: ApiError): FieldIssue[] {
  return Array.isArray(err.details) ? (err.details as FieldIssue[]) : [];
}

export const get = <T>(path: string): Promise<T> => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown): Promise<T> => api<T>('POST', path, body);
export const patch = <T>(path: string, body?: unknown): Promise<T> => api<T>('PATCH', path, body);

export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

export const del = <T>(path: string): Promise<T> => api<T>('DELETE', path);

/** An error as the console shows it: the server's message and each refused field (plain text, never HTML). */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return [err.message, ...fieldIssues(err).map((i) => `${i.field}: ${i.message}`)].join(' · ');
  return err instanceof Error ? err.message : String(err);
}
