import type { Response } from 'express';
import type { Config } from '../config';

export const SESSION_COOKIE = 'vigil_session';
export const CSRF_COOKIE = 'vigil_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** Minimal Cookie header parser: the first occurrence of a name wins, values are URI-decoded when valid. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || name in out) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      out[name] = value;
    }
  }
  return out;
}

export function setSessionCookies(res: Response, config: Config, session: { sessionToken: string; csrfToken: string; expiresAt: Date }): void {
  const common = { sameSite: 'lax' as const, secure: config.COOKIE_SECURE, path: '/', expires: session.expiresAt };
  res.cookie(SESSION_COOKIE, session.sessionToken, { ...common, httpOnly: true });
  // Readable by the console's script on purpose: it echoes the value in X-CSRF-Token on every write.
  res.cookie(CSRF_COOKIE, session.csrfToken, { ...common, httpOnly: false });
}

export function clearSessionCookies(res: Response, config: Config): void {
  const common = { sameSite: 'lax' as const, secure: config.COOKIE_SECURE, path: '/' };
  res.clearCookie(SESSION_COOKIE, { ...common, httpOnly: true });
  res.clearCookie(CSRF_COOKIE, { ...common, httpOnly: false });
}
